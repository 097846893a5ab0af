//! Components: what a builder connects to.
//!
//! | component | what it is | when to use it |
//! |---|---|---|
//! | [`Channel`] | two in-process ends passing whole frames | tests, in-process peers |
//! | [`Lines`] | a sink and a stream of text lines | you already have line I/O |
//! | [`ByteStreams`] | `AsyncWrite` + `AsyncRead`, framed by newlines or `Content-Length` | pipes, sockets |
//! | [`Stdio`] | this process's stdin and stdout (feature `tokio`) | a peer run as a subprocess |
//! | [`ChildStdio`] | a [`ChildProcess`]'s stdin and stdout (feature `tokio`) | running a peer as a subprocess |
//! | a [`Builder`](crate::Builder) | a whole connection, run in process | composing peers |
//! | [`Inspect`] | any component, with a tap on every frame | logs, traces |
//!
//! Each implements [`ConnectTo`], which turns it into a [`Transport`] when the connection
//! starts. Implement it to add your own. The byte components read and write with a
//! [`Framing`] (newline unless told otherwise); the others carry whole messages.
//!
//! The seam itself: `seam.rs` ([`Transport`], [`FrameDirection`]), `sink.rs` (the write half
//! the outgoing actor hands batches to), `input_end.rs` ([`Transport::on_input_end`]).

mod builder;
mod byte_streams;
pub(crate) mod channel;
#[cfg(feature = "tokio")]
mod child;
mod input_end;
mod inspect;
mod lines;
pub(crate) mod seam;
pub(crate) mod sink;
#[cfg(feature = "tokio")]
mod stdio;

pub use crate::wire::Framing;
pub use byte_streams::ByteStreams;
pub use channel::Channel;
#[cfg(feature = "tokio")]
pub use child::{
    ChildCommand, ChildProcess, ChildStdio, DEFAULT_EXIT_GRACE, DEFAULT_STDERR_TAIL_BYTES,
};
pub use inspect::Inspect;
pub use lines::Lines;
pub use seam::{FrameDirection, Transport};
#[cfg(feature = "tokio")]
pub use stdio::Stdio;

use crate::{Error, Role};

/// Settings a component needs to build its transport.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TransportConfig {
    /// The largest incoming frame to accept, in bytes, in any framing.
    pub max_frame_bytes: usize,
    /// The framing a byte component uses unless it was given one of its own
    /// ([`Builder::framing`](crate::Builder::framing)).
    pub framing: Framing,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            max_frame_bytes: crate::wire::DEFAULT_MAX_FRAME_BYTES,
            framing: Framing::default(),
        }
    }
}

/// Something a connection for role `R` can be connected to.
pub trait ConnectTo<R: Role>: Send + 'static {
    /// Turns the component into a transport. Called once, when the connection starts.
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error>;
}

/// A transport already made (by a component's own
/// [`into_transport`](ConnectTo::into_transport), or by [`Transport::new`]) connects as it
/// is: for code that makes a component's transport ahead of the connection, or that picks
/// one of several kinds of component at run time.
impl<R: Role> ConnectTo<R> for Transport {
    fn into_transport(self, _config: &TransportConfig) -> Result<Transport, Error> {
        Ok(self)
    }
}
