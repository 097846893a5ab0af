//! The wire format: framing, envelope parsing and message encoding.
//!
//! Each piece is a pure function over buffers, testable without a connection: `framing/` cuts
//! bytes into frames and writes frames back, one module per [`Framing`] (newline-delimited,
//! `Content-Length` headers, message-per-frame), and nothing outside it knows a delimiter;
//! `envelope.rs` parses one frame into requests, notifications and responses (once, keeping
//! params raw); `encode.rs` serializes outgoing messages, which the framing then wraps.

pub(crate) mod encode;
pub(crate) mod envelope;
pub(crate) mod fast_envelope;
pub(crate) mod framing;
pub(crate) mod json_scan;
#[cfg(test)]
mod properties;

pub use framing::content_length::MAX_HEADER_BYTES;
pub use framing::{ContentLengthDecoder, FrameDecoder, FrameEvent, Framing, NewlineDecoder};

/// The largest frame accepted by default: 64 MiB. The same rule holds in every framing: a
/// message longer than the maximum is refused with a clear error and never held whole.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;
