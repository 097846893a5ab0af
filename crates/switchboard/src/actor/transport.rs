//! The transport actor's two halves: frames in, frames out.
//!
//! Whatever the component (an in-process channel, lines, byte streams, a child process), the
//! connection sees it as a [`Transport`]: a stream of incoming [`FrameEvent`]s that the
//! incoming actor pulls one at a time, a sink of outgoing frames the outgoing actor writes,
//! and optionally a driver future the connection polls alongside (an in-process peer, a
//! process watcher).

use std::fmt;
use std::pin::Pin;

use futures::future::BoxFuture;
use futures::io::AsyncWrite;
use futures::{Future, Sink, Stream};

use super::outgoing::FrameSink;
use crate::Error;
use crate::wire::FrameEvent;

/// The transport's read half, as the incoming actor sees it.
pub(crate) type FrameStream = Pin<Box<dyn Stream<Item = Result<FrameEvent, Error>> + Send>>;

/// A connected transport: what a component becomes when a connection starts.
///
/// Implement [`ConnectTo`](crate::ConnectTo) with one of these to add a transport of your
/// own. Outgoing frames carry no line ending; a byte transport adds its own framing.
pub struct Transport {
    pub(crate) incoming: FrameStream,
    pub(crate) outgoing: FrameSink,
    pub(crate) driver: Option<BoxFuture<'static, Result<(), Error>>>,
}

impl Transport {
    /// A transport from a stream of incoming frames and a sink for outgoing ones.
    ///
    /// The stream ends at clean end of input; an `Err` item is a transport failure and ends
    /// the connection with that error.
    pub fn new(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        outgoing: impl Sink<Vec<u8>, Error = Error> + Send + 'static,
    ) -> Self {
        Transport {
            incoming: Box::pin(incoming),
            outgoing: FrameSink::Frames(Box::pin(outgoing)),
            driver: None,
        }
    }

    /// A transport whose outgoing side is a byte stream: batches of newline-terminated frames
    /// are written to it whole, without being split into frames first.
    pub(crate) fn from_writer(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        writer: impl AsyncWrite + Send + 'static,
    ) -> Self {
        Transport {
            incoming: Box::pin(incoming),
            outgoing: FrameSink::Bytes(Box::pin(writer)),
            driver: None,
        }
    }

    /// Adds a future the connection polls for as long as it runs (an in-process peer, a
    /// process watcher). Its result is logged; it does not end the connection.
    #[must_use]
    pub fn with_driver(
        mut self,
        driver: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) -> Self {
        self.driver = Some(Box::pin(driver));
        self
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("driver", &self.driver.is_some())
            .finish_non_exhaustive()
    }
}
