//! The newline decoder against a reference split, under every chunking.
//!
//! The reference is the documented rule written as plainly as possible: split the input on
//! `\n`; from each piece (the piece after the last newline included, as the frame that end of
//! input closes) drop one trailing `\r`; skip the piece if what is left is only ASCII
//! whitespace; report it as too large if it is longer than the maximum; else it is a frame.

use proptest::collection::vec;
use proptest::prelude::*;

use super::config;
use crate::wire::framing::read_buffer::INITIAL_BUFFER;
use crate::wire::{FrameEvent, NewlineDecoder};

/// The frames the documented rules make of `input`.
fn reference(input: &[u8], max: usize) -> Vec<FrameEvent> {
    input
        .split(|&byte| byte == b'\n')
        .filter_map(|line| {
            let content = line.strip_suffix(b"\r").unwrap_or(line);
            if content.iter().all(u8::is_ascii_whitespace) {
                None
            } else if content.len() > max {
                Some(FrameEvent::TooLarge {
                    length: content.len(),
                })
            } else {
                Some(FrameEvent::Frame(content.to_vec()))
            }
        })
        .collect()
}

/// One read of the plan: how many bytes arrive, and whether the frames are taken out before
/// the next read (a transport always does; the decoder must not depend on it).
type Read = (usize, bool);

/// Feeds `input` to a decoder as the plan says (whatever the plan leaves over arrives in one
/// last read), checking the decoder's own promises on the way, and returns every event.
fn decode(input: &[u8], max: usize, plan: &[Read]) -> Vec<FrameEvent> {
    let mut decoder = NewlineDecoder::new(max);
    let mut events = Vec::new();
    let mut rest = input;
    let mut reads = plan.iter().copied();
    // While every read was followed by taking out all frames, the buffer stays within one
    // maximal frame plus its line ending (or the initial size, when that is larger).
    let mut always_drained = true;
    while !rest.is_empty() {
        let (size, drain) = reads.next().unwrap_or((usize::MAX, true));
        let (mut chunk, after) = rest.split_at(size.clamp(1, rest.len()));
        rest = after;
        while !chunk.is_empty() {
            let space = decoder.read_buf();
            assert!(!space.is_empty(), "read_buf must never be empty");
            let n = space.len().min(chunk.len());
            space[..n].copy_from_slice(&chunk[..n]);
            decoder.filled(n);
            chunk = &chunk[n..];
            if drain {
                events.extend(std::iter::from_fn(|| decoder.next_frame()));
            } else {
                always_drained = false;
            }
            if always_drained {
                let bound = INITIAL_BUFFER.max(max.saturating_add(2));
                assert!(
                    decoder.buffer_len() <= bound,
                    "the buffer grew to {} bytes, past {bound}",
                    decoder.buffer_len()
                );
            }
        }
    }
    events.extend(std::iter::from_fn(|| decoder.next_frame()));
    events.extend(decoder.finish());
    // Everything was taken: nothing more comes out, however often the decoder is asked.
    assert_eq!(decoder.next_frame(), None);
    assert_eq!(decoder.finish(), None);
    events
}

/// Bytes that matter to framing, often, and any byte now and then.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'\n'),
        3 => Just(b'\r'),
        2 => Just(b' '),
        1 => Just(b'\t'),
        1 => Just(0x0b), // vertical tab: whitespace to some, not to `is_ascii_whitespace`
        1 => Just(0x0c),
        6 => Just(b'x'),
        2 => any::<u8>(),
    ]
}

/// Short inputs of mixed bytes, or runs of one byte long enough to pass the initial buffer
/// and the larger maximums.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(byte(), 0..160),
        1 => vec((byte(), prop_oneof![6 => 1usize..4, 1 => 1usize..40_000]), 0..10).prop_map(
            |runs| runs.into_iter().flat_map(|(byte, n)| std::iter::repeat_n(byte, n)).collect()
        ),
    ]
}

/// Maximums from one byte up, around the initial buffer size, and beyond it.
fn max_frame() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..12,
        1 => INITIAL_BUFFER - 2..INITIAL_BUFFER + 3,
        1 => 20_000usize..40_000,
    ]
}

/// Up to 48 reads of one byte to many thousands; the rest of the input arrives at once.
fn plan() -> impl Strategy<Value = Vec<Read>> {
    vec(
        (
            prop_oneof![4 => 1usize..4, 4 => 1usize..40, 1 => 1usize..50_000],
            proptest::bool::weighted(0.85),
        ),
        0..48,
    )
}

proptest! {
    #![proptest_config(config(2048))]

    /// Whatever the chunking, the decoder never panics, never yields a frame over the maximum
    /// or one holding a newline, and yields exactly what the reference split does, which is
    /// also what it yields when all the bytes arrive at once.
    #[test]
    fn frames_do_not_depend_on_the_chunking(input in input(), max in max_frame(), plan in plan()) {
        let chunked = decode(&input, max, &plan);
        for event in &chunked {
            if let FrameEvent::Frame(frame) = event {
                prop_assert!(frame.len() <= max, "a frame of {} bytes passed a maximum of {max}", frame.len());
                prop_assert!(!frame.contains(&b'\n'), "a frame holds a newline: {frame:?}");
            }
        }
        let whole = decode(&input, max, &[]);
        prop_assert_eq!(&chunked, &whole, "chunked and whole differ");
        prop_assert_eq!(&chunked, &reference(&input, max), "decoder and reference differ");
    }
}
