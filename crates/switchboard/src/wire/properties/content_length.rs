//! The `Content-Length` decoder against what was written, under every chunking.
//!
//! The reference is the rule itself: messages written with `Content-Length` headers (and,
//! now and then, a `Content-Type` header or blank lines between frames) read back as
//! themselves, except that a message of only whitespace is skipped and one over the maximum is
//! reported as too large. And any bytes whatever, chunked any way, give frames within the
//! maximum and at most one error, which ends the input, the same one whatever the chunking.

use proptest::collection::vec;
use proptest::prelude::*;

use super::config;
use crate::wire::framing::batch::FrameBatch;
use crate::wire::framing::is_blank;
use crate::wire::{ContentLengthDecoder, FrameEvent, Framing};

/// What decoding gave: every event, then how the input ended (`Err`: the error's message).
type Decoded = (Vec<FrameEvent>, Result<(), String>);

/// Feeds `input` as the plan says (what the plan leaves over arrives at once).
fn decode(input: &[u8], max: usize, plan: &[usize]) -> Decoded {
    let mut decoder = ContentLengthDecoder::new(max);
    let mut events = Vec::new();
    let mut rest = input;
    let mut reads = plan.iter().copied();
    while !rest.is_empty() {
        let size = reads.next().unwrap_or(usize::MAX);
        let (mut chunk, after) = rest.split_at(size.clamp(1, rest.len()));
        rest = after;
        while !chunk.is_empty() {
            let space = decoder.read_buf();
            assert!(!space.is_empty(), "read_buf must never be empty");
            let n = space.len().min(chunk.len());
            space[..n].copy_from_slice(&chunk[..n]);
            decoder.filled(n);
            chunk = &chunk[n..];
            loop {
                match decoder.next_frame() {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => break,
                    Err(error) => return (events, Err(error.message().to_owned())),
                }
            }
        }
    }
    match decoder.finish() {
        Ok(last) => {
            events.extend(last);
            (events, Ok(()))
        }
        Err(error) => (events, Err(error.message().to_owned())),
    }
}

/// One frame to write: the message, and whether extra framing decorates it.
type Written = (Vec<u8>, bool);

/// `messages` as the encoder writes them; a decorated one gets a `Content-Type` header first
/// and a blank line before it, which readers must accept.
fn write(messages: &[Written]) -> Vec<u8> {
    let mut out = Vec::new();
    for (message, decorated) in messages {
        if *decorated {
            out.extend_from_slice(b"\r\nContent-Type: application/vscode-jsonrpc\r\n");
        }
        let mut batch = FrameBatch::default();
        batch.push(Framing::ContentLength, message);
        out.extend_from_slice(batch.bytes());
    }
    out
}

/// What the rules make of the written messages.
fn expected(messages: &[Written], max: usize) -> Vec<FrameEvent> {
    messages
        .iter()
        .filter_map(|(message, _)| {
            // The length is known before the message is seen, so too large goes before blank.
            if message.len() > max {
                Some(FrameEvent::TooLarge {
                    length: message.len(),
                })
            } else if is_blank(message) {
                None
            } else {
                Some(FrameEvent::Frame(message.clone()))
            }
        })
        .collect()
}

/// Messages of any bytes (line breaks and header-like text included), some blank, some long.
fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(prop_oneof![
            4 => Just(b'x'),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            2 => Just(b' '),
            1 => Just(b':'),
            2 => any::<u8>(),
        ], 0..40),
        1 => Just(b"Content-Length: 3\r\n\r\n".to_vec()),
        1 => (any::<u8>(), 1usize..40_000).prop_map(|(byte, n)| vec![byte; n]),
    ]
}

fn max_frame() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1usize..20, 1 => 30_000usize..50_000]
}

fn plan() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![4 => 1usize..4, 4 => 1usize..40, 1 => 1usize..50_000],
        0..48,
    )
}

/// Bytes that look like headers more often than chance would have it.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            3 => Just(b"Content-Length: ".to_vec()),
            3 => (0usize..30).prop_map(|n| n.to_string().into_bytes()),
            3 => Just(b"\r\n".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b"X-Other: y".to_vec()),
            2 => vec(any::<u8>(), 0..8),
        ],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(1024))]

    /// Whatever the chunking, the messages written come back under the size and blank rules,
    /// and the input ends cleanly.
    #[test]
    fn written_messages_read_back_whatever_the_chunking(
        messages in vec((message(), proptest::bool::weighted(0.2)), 0..8),
        max in max_frame(),
        plan in plan(),
    ) {
        let input = write(&messages);
        let chunked = decode(&input, max, &plan);
        prop_assert_eq!(&chunked, &(expected(&messages, max), Ok(())));
    }

    /// Any bytes: no panic, no frame over the maximum, and the same frames and the same end
    /// whatever the chunking.
    #[test]
    fn any_bytes_give_the_same_frames_and_end_whatever_the_chunking(
        input in garbage(),
        max in 1usize..20,
        plan in plan(),
    ) {
        let chunked = decode(&input, max, &plan);
        for event in &chunked.0 {
            if let FrameEvent::Frame(frame) = event {
                prop_assert!(frame.len() <= max);
            }
        }
        prop_assert_eq!(&chunked, &decode(&input, max, &[]));
    }
}
