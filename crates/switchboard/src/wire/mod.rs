//! The wire format: newline framing, envelope parsing and frame encoding.
//!
//! Each piece is a pure function over buffers, testable without a connection: `frame.rs`
//! ([`FrameDecoder`]) cuts a byte stream into frames, `envelope.rs` parses one frame into
//! requests, notifications and responses (once, keeping params raw), and `encode.rs` writes
//! outgoing messages straight into their frame buffer.

pub(crate) mod encode;
pub(crate) mod envelope;
mod fast_envelope;
pub(crate) mod frame;
#[cfg(test)]
mod properties;

pub use frame::{FrameDecoder, FrameEvent};

/// The largest frame accepted by default: 64 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;
