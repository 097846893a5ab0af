//! The caller's side: a request sent asking for a stream, read as a `futures::Stream` of its
//! items followed by its answer.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;

use crate::message::{JsonRpcRequest, JsonRpcResponse, RawJson, RequestId, UntypedMessage};
use crate::shared::Shared;
use crate::stream::registry::Reading;
use crate::wire::encode;
use crate::{ConnectionTo, Error, Role};

/// One element of an [`ItemStream`]: an item, or the request's final answer (the last
/// element, after every item).
#[derive(Debug, Clone, PartialEq)]
pub enum Streamed<I, T> {
    /// An item the responder sent.
    Item(I),
    /// The request's answer; the stream ends after it.
    Answer(T),
}

/// A request answered by a stream of items and then its answer, with a credit window the
/// caller holds: made by [`ConnectionTo::send_streaming_request`].
///
/// As a [`futures::Stream`] it yields `Ok(Streamed::Item(_))` for each item in the order the
/// responder sent them, then `Ok(Streamed::Answer(_))`, or `Err(_)` if the request failed
/// (the responder's error answer, the connection closing, an item that does not parse), and
/// then ends. Items sent before an error answer come before it.
///
/// Backpressure: at most `window` items are buffered here. Under a convention with credits
/// the responder may send `window` items ahead and one more for each item taken from this
/// stream (credits are granted in batches of half the window). Under one without credits
/// (LSP), a full buffer stops this connection reading until an item is taken: the responder
/// is then held by the transport.
///
/// Dropping the stream before its answer cancels the request: the peer is told in the
/// connection's [cancel convention](crate::cancel::Cancellation) and, under credits, with the
/// stream convention's stop notification.
///
/// Like [`SentRequest::block_task`](crate::SentRequest::block_task), it is read outside the
/// dispatch loop (the `connect_with` closure, a spawned task); polled inside a handler of its
/// own connection it fails at once instead of deadlocking.
#[must_use = "a stream does nothing unless polled; dropping it cancels the request"]
pub struct ItemStream<I, T> {
    state: Option<Open>,
    /// Set when the request could not be sent: the first poll yields it.
    failed: Option<Error>,
    /// An answer that arrived while items were still buffered.
    answer: Option<Result<RawJson, Error>>,
    checked_scope: bool,
    _types: PhantomData<fn() -> (I, T)>,
}

/// A stream whose answer has not been taken yet.
pub(crate) struct Open {
    id: u64,
    token: RequestId,
    shared: Arc<Shared>,
    reading: Arc<Reading>,
    /// Items taken since credits were last granted.
    ungranted: u64,
    /// Grant credits once this many items are taken; `None` when they are not granted on
    /// taking (no credits, or a forwarder passing on its caller's grants).
    grant_every: Option<u64>,
}

impl<Cp: Role> ConnectionTo<Cp> {
    /// Sends `request` asking for its results as a stream of `I` items, in this connection's
    /// [stream convention](crate::stream::Streaming), with a window of `window` items (at
    /// least 1). See [`ItemStream`].
    ///
    /// ```
    /// use futures::StreamExt;
    /// use switchboard::stream::{ItemSink, Streamed};
    /// use switchboard::{Channel, Responder, UntypedMessage, UntypedRole};
    ///
    /// # futures::executor::block_on(async {
    /// let (client_end, server_end) = Channel::duplex();
    /// let server = UntypedRole.builder().on_receive_streaming_request(
    ///     |_: UntypedMessage, mut items: ItemSink<u32>, responder: Responder<serde_json::Value>, _cx| async move {
    ///         for n in 0..5 {
    ///             items.send(n).await?;
    ///         }
    ///         responder.respond("done".into())
    ///     },
    /// );
    /// let client = UntypedRole.builder().connect_with(client_end, async |cx| {
    ///     let request = UntypedMessage::new("count", serde_json::json!({}))?;
    ///     let mut stream = cx.send_streaming_request::<u32, _>(request, 2);
    ///     let mut seen = Vec::new();
    ///     while let Some(next) = stream.next().await {
    ///         seen.push(next?);
    ///     }
    ///     Ok(seen)
    /// });
    /// let (seen, _) = futures::join!(client, server.connect_to(server_end));
    /// let seen = seen.unwrap();
    /// assert_eq!(seen.len(), 6);
    /// assert_eq!(seen[4], Streamed::Item(4));
    /// assert_eq!(seen[5], Streamed::Answer(serde_json::json!("done")));
    /// # });
    /// ```
    pub fn send_streaming_request<I, M>(
        &self,
        request: M,
        window: u32,
    ) -> ItemStream<I, M::Response>
    where
        I: DeserializeOwned,
        M: JsonRpcRequest<Cp>,
    {
        match send(&self.shared, &request, window, true) {
            Ok(open) => ItemStream::open(open),
            Err(error) => ItemStream::failed(error),
        }
    }
}

/// Sends `request` marked with a fresh token, its buffer registered first so no item can
/// arrive before it.
pub(crate) fn send<M: JsonRpcRequest<Cp>, Cp>(
    shared: &Arc<Shared>,
    request: &M,
    window: u32,
    grant_on_take: bool,
) -> Result<Open, Error> {
    let window = window.max(1);
    let id = shared.next_request_id();
    let token = RequestId::from(id);
    let mut params = Vec::new();
    request.write_params(&mut params)?;
    let params = shared
        .streaming
        .mark_request(&params, &token, u64::from(window))?;
    let message = UntypedMessage::from_raw(request.method().to_owned(), Some(params));
    let reading = shared.streams.open_reading(token.clone(), window as usize);
    let sent = encode::with_scratch(|frame| {
        encode::request_frame::<UntypedMessage, Cp>(frame, &RequestId::from(id), &message)?;
        shared.pending.insert(id)?;
        shared.outgoing.push(frame).inspect_err(|_| {
            shared.pending.forget(id);
        })
    });
    if let Err(error) = sent {
        shared.streams.close_reading(shared, &token);
        return Err(error);
    }
    if let Some(after) = shared.request_timeout {
        crate::sent_request::arm_timeout(shared, id, after);
    }
    let grant_every =
        (grant_on_take && shared.streaming.has_credits()).then_some(u64::from(window.div_ceil(2)));
    Ok(Open {
        id,
        token,
        shared: Arc::clone(shared),
        reading,
        ungranted: 0,
        grant_every,
    })
}

impl<I, T> ItemStream<I, T> {
    pub(crate) fn open(open: Open) -> Self {
        ItemStream {
            state: Some(open),
            failed: None,
            answer: None,
            checked_scope: false,
            _types: PhantomData,
        }
    }

    pub(crate) fn failed(error: Error) -> Self {
        ItemStream {
            state: None,
            failed: Some(error),
            answer: None,
            checked_scope: false,
            _types: PhantomData,
        }
    }

    /// The token the request carries (the request's own id on this connection), `None` once
    /// the stream has ended.
    pub fn token(&self) -> Option<&RequestId> {
        self.state.as_ref().map(|open| &open.token)
    }

    /// The next raw element: an item, or the answer (after which the stream is over).
    pub(crate) fn poll_raw(&mut self, cx: &mut Context<'_>) -> Poll<Option<RawElement>> {
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Some(RawElement::Answer(Err(error))));
        }
        let Some(open) = self.state.as_mut() else {
            return Poll::Ready(None);
        };
        if !self.checked_scope {
            self.checked_scope = true;
            if crate::actor::scope::inside_dispatch_of(open.shared.id) {
                return Poll::Ready(Some(RawElement::Answer(
                    Err(Error::blocked_dispatch_loop()),
                )));
            }
        }
        let streams = &open.shared.streams;
        if let Some(item) = streams.pop(&open.shared, &open.reading, cx.waker()) {
            open.taken();
            return Poll::Ready(Some(RawElement::Item(item)));
        }
        let answer = match self.answer.take() {
            Some(answer) => answer,
            None => match open.shared.pending.poll_answer(open.id, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(answer) => answer,
            },
        };
        // Items the peer sent before its answer were buffered before the answer was
        // delivered; one may have landed between the look above and the answer.
        if let Some(item) = streams.pop(&open.shared, &open.reading, cx.waker()) {
            open.taken();
            self.answer = Some(answer);
            return Poll::Ready(Some(RawElement::Item(item)));
        }
        self.finish();
        Poll::Ready(Some(RawElement::Answer(answer)))
    }

    /// The answer is in: the stream's buffer goes, and nothing is cancelled.
    fn finish(&mut self) {
        if let Some(open) = self.state.take() {
            open.shared.streams.close_reading(&open.shared, &open.token);
        }
    }
}

/// An element before it is read as the caller's types.
pub(crate) enum RawElement {
    Item(RawJson),
    Answer(Result<RawJson, Error>),
}

impl Open {
    /// One item was taken: grants credits once enough were.
    fn taken(&mut self) {
        let Some(every) = self.grant_every else {
            return;
        };
        self.ungranted += 1;
        if self.ungranted >= every {
            self.send_credit(Some(self.ungranted));
            self.ungranted = 0;
        }
    }

    fn send_credit(&self, amount: Option<u64>) {
        send_credit(&self.shared, &self.token, amount);
    }
}

/// Sends the grant of `amount` credits for stream `token` on `shared`, or its stop when `None`.
pub(crate) fn send_credit(shared: &Shared, token: &RequestId, amount: Option<u64>) {
    let sent = encode::with_scratch(|frame| {
        let mut params = Vec::new();
        let Some(method) = shared.streaming.write_credit(&mut params, token, amount) else {
            return Ok(());
        };
        super::notice_frame(frame, method, &params);
        // Queued like an answer: a grant the queue refused would stall the stream.
        shared.outgoing.push_answer(frame)
    });
    if let Err(error) = sent {
        tracing::debug!(%error, "could not send a stream credit");
    }
}

impl<I: DeserializeOwned, T: JsonRpcResponse> futures::Stream for ItemStream<I, T> {
    type Item = Result<Streamed<I, T>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let element = match this.poll_raw(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(element)) => element,
        };
        let read = match element {
            RawElement::Item(raw) => raw.parse::<I>().map(Streamed::Item),
            RawElement::Answer(answer) => {
                answer.and_then(|raw| T::from_result(raw).map(Streamed::Answer))
            }
        };
        if read.is_err() {
            // An item that does not parse ends the stream (and cancels the request).
            this.stop();
        }
        Poll::Ready(Some(read))
    }
}

impl<I, T> ItemStream<I, T> {
    /// Ends the stream; if its answer is not in, the request is cancelled.
    fn stop(&mut self) {
        let Some(open) = self.state.take() else {
            return;
        };
        let shared = &open.shared;
        shared.streams.close_reading(shared, &open.token);
        if shared.pending.is_pending(open.id) {
            open.send_credit(None);
        }
        crate::sent_request::cancel(shared, open.id);
    }
}

impl<I, T> Drop for ItemStream<I, T> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<I, T> fmt::Debug for ItemStream<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("token", &self.token())
            .field("failed", &self.failed)
            .finish()
    }
}
