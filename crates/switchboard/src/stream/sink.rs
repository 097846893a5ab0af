//! The responder's side: a sink for the items of a request answered by a stream, whose `send`
//! waits for credit.

use std::fmt;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Serialize;

use crate::message::{RawJson, RequestId, UntypedMessage};
use crate::shared::Shared;
use crate::stream::registry::Writing;
use crate::wire::encode;
use crate::{ConnectionTo, Error, Responder, Role};

/// Sends the items of one incoming request answered by a stream; the request itself is
/// answered by its [`Responder`], after the items.
///
/// [`send`](ItemSink::send) waits while the caller has granted no credit (under a convention
/// with credits) and while the connection's outgoing queue is full, so a slow consumer slows
/// the producer down end to end; nothing is buffered beyond the queue's bound. It fails, and
/// the producer should stop, once the request is cancelled (the caller dropped its stream) or
/// the connection can no longer carry items. Items sent before the answer reach the caller
/// before the answer.
///
/// A handler gets one from
/// [`Builder::on_receive_streaming_request`](crate::Builder::on_receive_streaming_request).
/// When the caller asked for no stream, [`is_streaming`](ItemSink::is_streaming) is false and
/// `send` fails: the handler then puts everything in its answer. Dropping the sink only ends
/// the items; the responder still answers (exactly once, as always).
pub struct ItemSink<I> {
    open: Option<Open>,
    _item: PhantomData<fn(I)>,
}

struct Open {
    shared: Arc<Shared>,
    token: RequestId,
    /// The request the items belong to: its cancellation stops them.
    request: RequestId,
    /// `None` under a convention without credits.
    credits: Option<Arc<Writing>>,
    sent: u64,
    /// This sink's registration with the request's cancellation, across polls.
    watch: Option<u64>,
}

impl<I> ItemSink<I> {
    /// A sink for the stream `asked` (token and window) of `request`, on `shared`.
    pub(crate) fn open(
        shared: &Arc<Shared>,
        request: RequestId,
        asked: Option<(RequestId, u64)>,
    ) -> Result<Self, Error> {
        let open = match asked {
            None => None,
            Some((token, window)) => {
                let credits = match shared.streaming.has_credits() {
                    true => Some(shared.streams.open_writing(
                        token.clone(),
                        request.clone(),
                        window,
                    )?),
                    false => None,
                };
                Some(Open {
                    shared: Arc::clone(shared),
                    token,
                    request,
                    credits,
                    sent: 0,
                    watch: None,
                })
            }
        };
        Ok(ItemSink {
            open,
            _item: PhantomData,
        })
    }

    /// Whether the caller asked for a stream (if not, `send` fails).
    pub fn is_streaming(&self) -> bool {
        self.open.is_some()
    }

    /// How many items have been sent.
    pub fn sent(&self) -> u64 {
        self.open.as_ref().map_or(0, |open| open.sent)
    }

    /// Passes every credit the caller grants on to `pass_on` too (a forwarder's relay).
    pub(crate) fn on_credit(&self, pass_on: super::registry::OnCredit) {
        if let Some(credits) = self.open.as_ref().and_then(|open| open.credits.as_ref()) {
            credits.on_credit(pass_on);
        }
    }

    /// Sends one item already in JSON.
    pub(crate) async fn send_raw(&mut self, item: &RawJson) -> Result<(), Error> {
        self.send_with(|out| {
            out.extend_from_slice(item.get().as_bytes());
            Ok(())
        })
        .await
    }

    /// Sends one item, written by `write_value` once there is credit and room.
    async fn send_with(
        &mut self,
        write_value: impl Fn(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let open = self.open.as_mut().ok_or_else(not_streaming)?;
        poll_fn(|cx| open.poll_ready(cx)).await?;
        loop {
            poll_fn(|cx| open.shared.outgoing.poll_room(cx)).await;
            match open.push(&write_value) {
                Err(error) if error.code() == crate::error::codes::OUTGOING_QUEUE_FULL => continue,
                other => return other,
            }
        }
    }
}

impl<I: Serialize> ItemSink<I> {
    /// Sends `item`, once the caller has a credit for it and the outgoing queue has room.
    ///
    /// Fails when the caller asked for no stream, when the request has been cancelled, when
    /// no credit can come any more (the caller ended its input, the connection closed), or
    /// when `item` does not serialize.
    pub async fn send(&mut self, item: I) -> Result<(), Error> {
        self.send_with(|out| serde_json::to_writer(&mut *out, &item).map_err(Error::serialization))
            .await
    }
}

impl Open {
    /// Ready with `Ok` once one credit is taken; with an error once the request is cancelled
    /// or no credit can come.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let cancelled =
            self.shared
                .cancellations
                .poll_cancelled(&self.request, &mut self.watch, cx);
        if cancelled.is_ready() {
            return Poll::Ready(Err(Error::request_cancelled()));
        }
        match &self.credits {
            None => Poll::Ready(Ok(())),
            Some(credits) => credits.poll_credit(cx.waker()),
        }
    }

    fn push(
        &mut self,
        write_value: impl Fn(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let count = self.sent + 1;
        encode::with_scratch(|frame| {
            self.shared
                .streaming
                .write_item(frame, &self.token, count, write_value)?;
            self.shared.outgoing.push(frame)
        })?;
        self.sent = count;
        Ok(())
    }
}

fn not_streaming() -> Error {
    Error::invalid_request("the caller asked for no stream of items")
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(token) = self.watch.take() {
            self.shared.cancellations.unwatch(&self.request, token);
        }
        if self.credits.is_some() {
            self.shared.streams.close_writing(&self.token);
        }
    }
}

impl<I> fmt::Debug for ItemSink<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemSink")
            .field("token", &self.open.as_ref().map(|open| &open.token))
            .field("sent", &self.sent())
            .finish()
    }
}

/// Opens the sink for an incoming request `message` answered by `responder` on `cx`.
pub(crate) fn sink_for<I, T, Cp: Role>(
    message: &UntypedMessage,
    responder: &Responder<T>,
    cx: &ConnectionTo<Cp>,
) -> Result<ItemSink<I>, Error> {
    let asked = cx.shared.streaming.request_of(message.params());
    ItemSink::open(&cx.shared, responder.id().clone(), asked)
}
