//! The transport actor's two halves: frames in, frames out.
//!
//! Whatever the component (an in-process channel, lines, byte streams, a child process), the
//! connection sees it as a [`Transport`]: a stream of incoming [`FrameEvent`]s that the
//! incoming actor pulls one at a time, a sink of outgoing frames the outgoing actor writes,
//! and optionally a driver future the connection polls alongside (an in-process peer, a
//! process watcher).

use std::fmt;
use std::pin::Pin;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::io::AsyncWrite;
use futures::{Future, Sink, Stream, StreamExt};

use super::outgoing::FrameSink;
use crate::Error;
use crate::wire::FrameEvent;

/// The transport's read half, as the incoming actor sees it.
pub(crate) type FrameStream = Pin<Box<dyn Stream<Item = Result<FrameEvent, Error>> + Send>>;

/// Which way a frame crossed a transport, for [`Transport::inspect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameDirection {
    /// The frame came in from the peer.
    Received,
    /// The frame went out to the peer.
    Sent,
}

/// Sees every frame a transport carries (see [`Transport::inspect`]).
pub(crate) type FrameTap = Arc<dyn Fn(FrameDirection, &[u8]) + Send + Sync>;

/// A connected transport: what a component becomes when a connection starts.
///
/// Implement [`ConnectTo`](crate::ConnectTo) with one of these to add a transport of your
/// own. Outgoing frames carry no line ending; a byte transport adds its own framing.
pub struct Transport {
    pub(crate) incoming: FrameStream,
    pub(crate) outgoing: FrameSink,
    pub(crate) driver: Option<BoxFuture<'static, Result<(), Error>>>,
    pub(crate) sent_tap: Option<FrameTap>,
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
            sent_tap: None,
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
            sent_tap: None,
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

impl Transport {
    /// Calls `tap` with every frame that crosses this transport, in either direction, as it
    /// crosses: received frames when they are read, sent ones when they are handed to the
    /// transport. Frames have no line ending. For logs and traces; `tap` runs on the
    /// connection's path, so it should be quick. Calling it again adds a second tap.
    ///
    /// [`Inspect`](crate::transport::Inspect) does this for any component.
    #[must_use]
    pub fn inspect(mut self, tap: impl Fn(FrameDirection, &[u8]) + Send + Sync + 'static) -> Self {
        let tap: FrameTap = Arc::new(tap);
        let received = Arc::clone(&tap);
        self.incoming = Box::pin(self.incoming.inspect(move |event| {
            if let Ok(FrameEvent::Frame(frame)) = event {
                received(FrameDirection::Received, frame);
            }
        }));
        self.sent_tap = Some(match self.sent_tap.take() {
            None => tap,
            Some(earlier) => Arc::new(move |direction, frame: &[u8]| {
                earlier(direction, frame);
                tap(direction, frame);
            }),
        });
        self
    }
}

impl Transport {
    /// Runs `hook` when the input ends or fails, before the connection learns of it. Until
    /// `hook` finishes, the connection goes on as if the input were still open: requests it
    /// sent still wait for answers. A component that can find out *why* its peer went away
    /// (a process's exit status) records it here, so that everyone told "connection closed"
    /// afterwards can be told the reason too.
    #[must_use]
    pub fn on_input_end(mut self, hook: impl Future<Output = ()> + Send + 'static) -> Self {
        self.incoming = Box::pin(HoldEnd {
            incoming: self.incoming,
            hook: Some(Box::pin(hook)),
            running: None,
            end: None,
            ended: false,
        });
        self
    }
}

/// The incoming stream of [`Transport::on_input_end`]: holds back its end until the hook ran.
struct HoldEnd {
    incoming: FrameStream,
    hook: Option<BoxFuture<'static, ()>>,
    running: Option<BoxFuture<'static, ()>>,
    /// What ended the input (`Some(None)`: a clean end), held while the hook runs.
    end: Option<Option<Result<FrameEvent, Error>>>,
    /// The end was passed on: the inner stream is not polled again.
    ended: bool,
}

impl Stream for HoldEnd {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        loop {
            if let Some(running) = self.running.as_mut() {
                if running.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.running = None;
            }
            if let Some(end) = self.end.take() {
                self.ended = true;
                return Poll::Ready(end);
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match self.incoming.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => return Poll::Ready(Some(Ok(event))),
                Poll::Ready(end) => {
                    self.end = Some(end);
                    self.running = self.hook.take();
                }
            }
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("driver", &self.driver.is_some())
            .field("inspected", &self.sent_tap.is_some())
            .finish_non_exhaustive()
    }
}
