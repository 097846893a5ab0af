//! The seam between a component and the connection: [`Transport`].
//!
//! Whatever the component (an in-process channel, lines, byte streams, a child process), the
//! connection sees it as a [`Transport`]: a stream of incoming [`FrameEvent`]s that the
//! incoming actor pulls one at a time, a [`FrameSink`] the outgoing actor writes batches of
//! frames to, the [`Framing`] those frames are encoded with, and optionally a driver future the
//! connection polls alongside (an in-process peer, a process watcher). The actors only loop
//! over these; how bytes become frames is the component's business and `wire`'s.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::io::AsyncWrite;
use futures::{Future, Sink, Stream, StreamExt};

use super::channel;
use super::input_end::{EndHook, HoldEnd};
use super::sink::FrameSink;
use crate::Error;
use crate::wire::{FrameEvent, Framing};

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
/// own: [`Transport::new`] takes a stream of incoming frames and a sink of outgoing ones, each
/// frame one whole message (as a WebSocket or HTTP transport carries them). A component that
/// carries bytes builds on [`ByteStreams`](crate::ByteStreams) instead, which frames them.
pub struct Transport {
    pub(crate) incoming: FrameStream,
    pub(crate) outgoing: FrameSink,
    /// How the outgoing queue encodes frames for `outgoing`.
    pub(crate) framing: Framing,
    pub(crate) driver: Option<BoxFuture<'static, Result<(), Error>>>,
    pub(crate) sent_tap: Option<FrameTap>,
}

impl Transport {
    /// A transport from a stream of incoming frames and a sink for outgoing ones, each frame
    /// one whole message without any framing ([`Framing::WholeMessage`]).
    ///
    /// The stream ends at clean end of input; an `Err` item is a transport failure and ends
    /// the connection with that error. [`FrameEvent::from_whole_message`] applies the
    /// connection's size rule to a message received whole. Outgoing messages are compact JSON,
    /// except that raw JSON a peer sent is passed on as it came (it may hold line breaks).
    pub fn new(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        outgoing: impl Sink<Vec<u8>, Error = Error> + Send + 'static,
    ) -> Self {
        Transport::with_sink(
            incoming,
            FrameSink::Frames(Box::pin(outgoing)),
            Framing::WholeMessage,
        )
    }

    /// A transport whose outgoing side is a byte stream: batches of frames, encoded with
    /// `framing`, are written to it whole.
    pub(crate) fn from_writer(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        writer: impl AsyncWrite + Send + 'static,
        framing: Framing,
    ) -> Self {
        Transport::with_sink(incoming, FrameSink::Bytes(Box::pin(writer)), framing)
    }

    /// A transport whose outgoing side is an in-process channel, which takes batches whole.
    pub(crate) fn from_channel(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        sender: channel::Sender,
    ) -> Self {
        Transport::with_sink(incoming, FrameSink::Channel(sender), Framing::WholeMessage)
    }

    fn with_sink(
        incoming: impl Stream<Item = Result<FrameEvent, Error>> + Send + 'static,
        outgoing: FrameSink,
        framing: Framing,
    ) -> Self {
        Transport {
            incoming: Box::pin(incoming),
            outgoing,
            framing,
            driver: None,
            sent_tap: None,
        }
    }

    /// Encodes outgoing frames with `framing` before the sink takes their messages: how
    /// [`Lines`](crate::Lines) keeps every message on one line.
    pub(crate) fn encoded_as(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
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
    /// transport. Frames are shown without their framing. For logs and traces; `tap` runs on the
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
    pub fn on_input_end(self, hook: impl Future<Output = ()> + Send + 'static) -> Self {
        self.on_input_end_with(move |_| hook)
    }

    /// Like [`on_input_end`](Transport::on_input_end), for a hook that wants to know what
    /// ended the input: `hook` is given the transport's error when it failed (`None` at a
    /// clean end), and returns the future to run. For a component with no process to ask, the
    /// error is the only account of why it went away.
    #[must_use]
    pub fn on_input_end_with<F>(
        mut self,
        hook: impl FnOnce(Option<&Error>) -> F + Send + 'static,
    ) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let hook: EndHook = Box::new(move |error| Box::pin(hook(error)));
        self.incoming = Box::pin(HoldEnd::new(self.incoming, hook));
        self
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("framing", &self.framing)
            .field("driver", &self.driver.is_some())
            .field("inspected", &self.sent_tap.is_some())
            .finish_non_exhaustive()
    }
}
