//! The framing decoder, fed any bytes in any chunks.
//!
//! The input is read as: one byte choosing the maximum frame size, one byte saying how many
//! chunk sizes follow, the chunk sizes (one byte each), then the stream itself. The stream is
//! fed through `read_buf` / `filled` / `next_frame` / `finish` in chunks of those sizes (taken
//! in turn, over and over), and the frames must be exactly those of a plain reference split
//! and of the same bytes fed in one go.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::wire::{FrameEvent, NewlineDecoder};

/// Small maximums make the oversized paths common; the last ones pass the decoder's initial
/// 16 KiB buffer, which libFuzzer's inputs reach when run with a larger `-max_len`.
const MAXIMUMS: [usize; 16] = [
    1, 2, 3, 4, 5, 6, 8, 10, 16, 32, 64, 100, 1000, 16_383, 16_384, 16_385,
];

/// The documented rules, written plainly: split on `\n`; drop one `\r` at the end of each
/// piece; skip pieces of only ASCII whitespace; pieces over the maximum are too large.
fn reference(stream: &[u8], max: usize) -> Vec<FrameEvent> {
    let mut events = Vec::new();
    for line in stream.split(|&byte| byte == b'\n') {
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        events.push(if content.len() > max {
            FrameEvent::TooLarge {
                length: content.len(),
            }
        } else {
            FrameEvent::Frame(content.to_vec())
        });
    }
    events
}

/// Feeds `stream` in chunks of `sizes` (in turn; all at once when there are none).
fn decode(stream: &[u8], max: usize, sizes: &[u8]) -> Vec<FrameEvent> {
    let mut decoder = NewlineDecoder::new(max);
    let mut events = Vec::new();
    let mut rest = stream;
    let mut turn = 0;
    while !rest.is_empty() {
        let size = match sizes.get(turn % sizes.len().max(1)) {
            Some(&size) => usize::from(size).max(1),
            None => rest.len(),
        };
        turn += 1;
        let (mut chunk, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        while !chunk.is_empty() {
            let space = decoder.read_buf();
            assert!(!space.is_empty(), "read_buf gave no room");
            let n = space.len().min(chunk.len());
            space[..n].copy_from_slice(&chunk[..n]);
            decoder.filled(n);
            chunk = &chunk[n..];
            while let Some(event) = decoder.next_frame() {
                events.push(event);
            }
        }
    }
    events.extend(decoder.finish());
    assert_eq!(decoder.next_frame(), None, "a frame after the end");
    assert_eq!(decoder.finish(), None, "a second end");
    events
}

fuzz_target!(|data: &[u8]| {
    let [max, count, rest @ ..] = data else {
        return;
    };
    let max = MAXIMUMS[usize::from(*max) % MAXIMUMS.len()];
    let count = usize::from(*count % 32).min(rest.len());
    let (sizes, stream) = rest.split_at(count);

    let chunked = decode(stream, max, sizes);
    for event in &chunked {
        if let FrameEvent::Frame(frame) = event {
            assert!(frame.len() <= max, "a frame over the maximum");
            assert!(!frame.contains(&b'\n'), "a frame with a newline");
        }
    }
    assert_eq!(
        chunked,
        decode(stream, max, &[]),
        "chunked and whole differ"
    );
    assert_eq!(
        chunked,
        reference(stream, max),
        "decoder and reference differ"
    );
});
