//! Property tests of the wire format, run by `cargo test` like any other test.
//!
//! They live inside the crate because the envelope reader (`envelope::parse_frame`), its short
//! path (`fast_envelope::read`) and the frame writers (`encode.rs`) are crate-private, and the
//! properties compare them with each other directly rather than through a connection.
//!
//! - `framing`: the [`NewlineDecoder`](super::NewlineDecoder) cuts any byte stream, however it
//!   is chunked, into the frames a plain reference split produces.
//! - `content_length`: whatever messages are written with `Content-Length` headers, and
//!   however the bytes are chunked, the [`ContentLengthDecoder`](super::ContentLengthDecoder)
//!   reads back exactly the messages the size and blank rules admit; and any bytes at all give
//!   frames or one error, never a panic or a frame over the maximum.
//! - `envelope`: any bytes read as messages or an error answer; every message the encoder
//!   writes, and every other spelling of it, reads back the same; the short path agrees with
//!   the full reader wherever it answers. Its inputs come from `message` (messages as values,
//!   and broken frames) and `write` (a message as the encoder writes it, or spelled otherwise).
//!
//! Case counts are chosen so that each property runs in a few seconds at most in a debug
//! build (framing: 2,048 cases, about 4 s; each envelope property: 4,096 cases, under 1 s);
//! set `PROPTEST_CASES` to run more, e.g. `PROPTEST_CASES=100000 cargo test --release -p
//! switchboard properties`.

mod content_length;
mod envelope;
mod framing;
mod message;
mod write;

use proptest::test_runner::Config;

/// The proptest configuration of one property: `cases` unless `PROPTEST_CASES` says otherwise,
/// and no regression files written into the source tree (a failure prints its minimal input,
/// which belongs in a named test).
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
