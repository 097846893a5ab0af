//! What `send_request` returns: a request on its way, and the ways to receive its answer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use crate::actor::scope::inside_dispatch_of;
use tracing::Instrument;

use crate::message::{JsonRpcResponse, RawJson, RequestId, UntypedMessage};
use crate::observe::{self, Described};
use crate::pending::ResponseCallback;
use crate::shared::Shared;
use crate::{Error, Responder};

/// A request that has been sent, whose answer has not been consumed yet.
///
/// It is not a future. Pick how the answer is received by how the code that sent it runs:
///
/// - Outside the dispatch loop (the [`connect_with`](crate::Builder::connect_with) closure, a
///   task started with [`spawn`](crate::ConnectionTo::spawn)): `block_task().await`.
/// - Inside a handler: [`on_receiving_result`](SentRequest::on_receiving_result),
///   [`on_receiving_ok_result`](SentRequest::on_receiving_ok_result) or
///   [`forward_response_to`](SentRequest::forward_response_to). The handler returns at once and
///   the callback runs in the dispatch loop when the answer arrives, before the next message.
///
/// A handler cannot wait for an answer on its own connection: the answer can only be read once
/// the handler returns. `block_task()` awaited there fails at once with an error that says so,
/// instead of hanging the connection.
///
/// Dropping a `SentRequest` without consuming it cancels the request, as
/// [`cancel`](SentRequest::cancel) does; so does dropping the future of
/// [`block_task`](SentRequest::block_task) before its answer, polled or not.
///
/// ```
/// use switchboard::{Channel, UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let (client_end, server_end) = Channel::duplex();
/// let server = UntypedRole.builder().on_receive_request(
///     |request: UntypedMessage, responder, _cx| async move { responder.respond(serde_json::json!(request.method())) },
/// );
/// let answer = UntypedRole
///     .builder()
///     .connect_with(client_end, async |cx| {
///         let request = UntypedMessage::new("ping", serde_json::json!({}))?;
///         cx.send_request(request).block_task().await
///     });
/// let (answer, _) = futures::join!(answer, server.connect_to(server_end));
/// assert_eq!(answer.unwrap(), "ping");
/// # });
/// ```
#[must_use = "a SentRequest does nothing unless its answer is consumed (block_task, on_receiving_result, ...)"]
pub struct SentRequest<T> {
    /// `None` once consumed.
    state: Option<State<T>>,
}

struct State<T> {
    id: u64,
    shared: Arc<Shared>,
    /// Set when the request could not be sent; the consumer receives this error.
    failed: Option<Error>,
    convert: Convert<T>,
    /// The method and id, for what the logs say about its answer.
    described: Described,
}

/// Turns the raw answer (or error) into the caller's type, after `map`.
type MapAnswer<T> = Box<dyn FnOnce(Result<RawJson, Error>) -> Result<T, Error> + Send>;

/// How the raw answer becomes a `T`.
enum Convert<T> {
    /// Deserialize it (the usual case: no allocation).
    Parse(fn(RawJson) -> Result<T, Error>),
    /// Deserialize, then apply the closures given to `map`.
    Mapped(MapAnswer<T>),
}

impl<T> Convert<T> {
    fn apply(self, raw: Result<RawJson, Error>) -> Result<T, Error> {
        match self {
            Convert::Parse(parse) => raw.and_then(parse),
            Convert::Mapped(map) => map(raw),
        }
    }
}

impl<T: JsonRpcResponse> SentRequest<T> {
    pub(crate) fn new(id: u64, shared: Arc<Shared>, described: Described) -> Self {
        SentRequest {
            state: Some(State {
                id,
                shared,
                failed: None,
                convert: Convert::Parse(T::from_result),
                described,
            }),
        }
    }

    pub(crate) fn failed(error: Error, shared: Arc<Shared>) -> Self {
        SentRequest {
            state: Some(State {
                id: 0,
                shared,
                failed: Some(error),
                convert: Convert::Parse(T::from_result),
                described: Described::default(),
            }),
        }
    }

    /// Sends the answer, whatever it is, to `responder`: the way to forward a request and
    /// pass its answer back unchanged.
    ///
    /// If the request `responder` answers is cancelled before the answer is in, the
    /// cancellation is passed on (this request is cancelled on its connection too), and the
    /// answer the next hop gives to it still goes back: whatever the far side sent before its
    /// answer (the last updates of a turn) reaches the caller before that answer, through any
    /// number of forwarders. Each hop is told in its own connection's
    /// [cancel convention](crate::cancel::Cancellation), so a forwarder between two protocols
    /// translates. Where the next hop's convention says no answer follows a cancellation,
    /// the request is answered -32800 at once. Otherwise, only if no answer comes within
    /// [`FORWARDED_CANCEL_GRACE`](crate::cancel::FORWARDED_CANCEL_GRACE) (and the connection
    /// has a timer) is the request answered -32800 here.
    pub fn forward_response_to(mut self, responder: Responder<T>) {
        let Some(state) = self.take() else {
            return;
        };
        let (id, shared) = (state.id, state.shared);
        if state.failed.is_none() {
            // Registered with the request it answers, and gone with its answer: a forwarded
            // request leaves nothing behind.
            let downstream = Arc::downgrade(&shared);
            responder.on_cancel(Box::new(move || {
                if let Some(shared) = downstream.upgrade() {
                    pass_cancel_on(&shared, id);
                }
            }));
        }
        let (convert, described) = (state.convert, state.described);
        let connection = shared.name.clone();
        // Called at once with the answer: passing it on needs no future of its own.
        let pass_on = ResponseCallback::Now(Box::new(move |raw| {
            let _span = observe::sent_span(described.method(), id).entered();
            if let Err(error) = responder.respond_with_result(convert.apply(raw)) {
                callback_failed(connection.as_deref(), &described, &error);
            }
        }));
        register(id, &shared, state.failed, pass_on);
    }
}

/// Logs that what was to be done with the answer to `described` (a callback, or passing it
/// on) failed.
fn callback_failed(connection: Option<&str>, described: &Described, error: &Error) {
    tracing::error!(
        connection,
        method = described.method(),
        id = %described.id(),
        %error,
        "the callback that received an answer failed"
    );
}

/// Gives request `id`'s answer to `callback` once it arrives, or at once with the error the
/// request `failed` with (or an answer already in). A future that must run at once runs as a
/// task, outside the handler that registered it.
fn register(id: u64, shared: &Shared, failed: Option<Error>, callback: ResponseCallback) {
    let run_now = match failed {
        Some(error) => callback.run(Err(error)),
        None => shared.pending.set_callback(id, callback),
    };
    if let Some(run_now) = run_now {
        shared.tasks.spawn_owed(run_now);
    }
}

impl<T: Send + 'static> SentRequest<T> {
    fn take(&mut self) -> Option<State<T>> {
        self.state.take()
    }

    /// Why the request could not be sent, if it could not.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.state.as_ref().and_then(|state| state.failed.clone())
    }

    /// Gives the request `after` to be answered (replacing the connection's default, see
    /// [`Builder::request_timeout`](crate::Builder::request_timeout)). If no answer comes in
    /// time, whoever waits gets an error with code
    /// [`TIMED_OUT`](crate::error::codes::TIMED_OUT) and the peer is told to stop, in the
    /// connection's [cancel convention](crate::cancel::Cancellation). It needs the connection's timer: tokio's inside a tokio runtime, or one given to
    /// [`Builder::timer`](crate::Builder::timer); without one it has no effect (and says so in
    /// the log).
    #[must_use = "the timeout belongs to this SentRequest; use it (block_task, a callback)"]
    pub fn timeout(self, after: std::time::Duration) -> Self {
        if let Some(state) = &self.state
            && state.failed.is_none()
        {
            arm_timeout(&state.shared, state.id, after);
        }
        self
    }

    /// Cancels the request: the peer is told so in the connection's
    /// [cancel convention](crate::cancel::Cancellation) (if it has one), and the answer, if
    /// it still comes, is dropped. Dropping an unconsumed `SentRequest` does the same; see
    /// [`detach`](SentRequest::detach) to let the request run on instead.
    pub fn cancel(self) {
        drop(self);
    }

    /// Lets the request run on without waiting for its answer, which is dropped when it
    /// comes. Unlike dropping the `SentRequest`, this does not cancel it.
    pub fn detach(mut self) {
        if let Some(state) = self.take()
            && state.failed.is_none()
        {
            state.shared.pending.forget(state.id);
        }
    }

    /// Waits for the answer. For code outside the dispatch loop only: the
    /// [`connect_with`](crate::Builder::connect_with) closure and spawned tasks.
    ///
    /// Awaited inside a handler of the same connection, it fails at once (code
    /// [`BLOCKED_DISPATCH_LOOP`](crate::error::codes::BLOCKED_DISPATCH_LOOP)) instead of
    /// deadlocking. If the connection closes first, it fails with a connection-closed error.
    /// Dropped before the answer (polled or not), the future cancels the request.
    pub fn block_task(mut self) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        BlockTask {
            state: self.take(),
            checked: false,
        }
    }

    /// Runs `callback` with the answer (or the error) when it arrives. The handler that sent
    /// the request does not wait; the callback runs in the dispatch loop, before the next
    /// incoming message is dispatched. An error the callback returns is logged.
    pub fn on_receiving_result<F, Fut>(mut self, callback: F)
    where
        F: FnOnce(Result<T, Error>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let Some(State {
            id,
            shared,
            failed,
            convert,
            described,
        }) = self.take()
        else {
            return;
        };
        let connection = shared.name.clone();
        let callback = ResponseCallback::Future(Box::new(move |raw| {
            let span = observe::sent_span(described.method(), id);
            Box::pin(
                async move {
                    if let Err(error) = callback(convert.apply(raw)).await {
                        callback_failed(connection.as_deref(), &described, &error);
                    }
                }
                .instrument(span),
            )
        }));
        register(id, &shared, failed, callback);
    }

    /// Like [`on_receiving_result`](SentRequest::on_receiving_result) for the common case of
    /// answering another request with the result: an error answer goes straight to
    /// `responder`; a successful one is given to `callback` together with `responder`.
    pub fn on_receiving_ok_result<R, F, Fut>(self, responder: Responder<R>, callback: F)
    where
        R: Send + 'static,
        F: FnOnce(T, Responder<R>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.on_receiving_result(async move |result| match result {
            Ok(value) => callback(value, responder).await,
            Err(error) => responder.respond_with_error(error),
        });
    }

    /// Transforms the answer once it arrives. An error from `map` becomes the request's error.
    pub fn map<U: Send + 'static>(
        mut self,
        map: impl FnOnce(T) -> Result<U, Error> + Send + 'static,
    ) -> SentRequest<U> {
        let state = self.take().map(|state| State {
            id: state.id,
            shared: state.shared,
            failed: state.failed,
            convert: Convert::Mapped(Box::new(move |raw| state.convert.apply(raw).and_then(map))),
            described: state.described,
        });
        SentRequest { state }
    }
}

impl<T: Send + 'static> SentRequest<T> {
    /// Transforms an error answer (or a failure to get one: the connection closed, a timeout)
    /// once it is known. A forwarder uses it to say *why* a request failed in its own terms.
    ///
    /// ```
    /// use switchboard::{Error, UntypedMessage, UntypedRole};
    ///
    /// # futures::executor::block_on(async {
    /// let server = UntypedRole.builder(); // answers every request -32601
    /// let answer = UntypedRole.builder().connect_with(server, async |cx| {
    ///     cx.send_request(UntypedMessage::new("nope", ())?)
    ///         .map_err(|error| Error::new(-32000, format!("the server said: {}", error.message())))
    ///         .block_task()
    ///         .await
    /// });
    /// let error = answer.await.unwrap_err();
    /// assert!(error.message().starts_with("the server said: "), "{error}");
    /// # });
    /// ```
    pub fn map_err(mut self, map: impl FnOnce(Error) -> Error + Send + 'static) -> SentRequest<T> {
        let state = self.take().map(|state| match state.failed {
            // It was never sent: the error is known now, and no answer will be converted.
            Some(error) => State {
                failed: Some(map(error)),
                ..state
            },
            None => State {
                id: state.id,
                shared: state.shared,
                failed: None,
                convert: Convert::Mapped(Box::new(move |raw| {
                    state.convert.apply(raw).map_err(map)
                })),
                described: state.described,
            },
        });
        SentRequest { state }
    }
}

/// The future [`SentRequest::block_task`] returns.
///
/// Written by hand rather than as an `async` block, for two reasons. It is small: the
/// request's state and a flag, 144 bytes, where the `async` block made a caller's future for
/// one request 704 bytes, all of it copied wherever the future was moved. And it cancels its
/// request when it is dropped unanswered even if it was never polled, which the `async` block,
/// holding only the state until its first poll, did not. Every field is `Unpin`, so it is
/// polled through `&mut` with no pinning of its own.
struct BlockTask<T> {
    /// `None` once it has finished (or when the `SentRequest` had been consumed already).
    state: Option<State<T>>,
    /// Whether the first poll checked it is not inside its connection's dispatch loop.
    checked: bool,
}

impl<T> Future for BlockTask<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(state) = this.state.as_mut() else {
            return Poll::Ready(Err(consumed()));
        };
        if let Some(error) = state.failed.take() {
            this.state = None;
            return Poll::Ready(Err(error));
        }
        if !this.checked {
            if inside_dispatch_of(state.shared.id) {
                // Given up on: cancelled, as when dropped.
                if let Some(state) = this.state.take() {
                    state.cancel_if_sent();
                }
                return Poll::Ready(Err(Error::blocked_dispatch_loop()));
            }
            this.checked = true;
        }
        let raw = ready!(state.shared.pending.poll_answer(state.id, cx));
        // The answer was taken, which removed the request from the pending map: the state
        // goes, so that the drop has nothing to cancel.
        Poll::Ready(match this.state.take() {
            Some(state) => state.convert.apply(raw),
            None => Err(consumed()),
        })
    }
}

/// What consuming a `SentRequest` a second time gives.
fn consumed() -> Error {
    Error::internal_error("this SentRequest was already consumed")
}

/// Dropped before its answer was taken, polled or not, the request is cancelled.
impl<T> Drop for BlockTask<T> {
    fn drop(&mut self) {
        if let Some(state) = &self.state {
            state.cancel_if_sent();
        }
    }
}

impl<T> Drop for SentRequest<T> {
    fn drop(&mut self) {
        if let Some(state) = &self.state {
            state.cancel_if_sent();
        }
    }
}

impl<T> State<T> {
    /// Cancels the request, unless it was never sent.
    fn cancel_if_sent(&self) {
        if self.failed.is_none() {
            cancel(&self.shared, self.id);
        }
    }
}

/// Forgets request `id` and, if the peer may still be working on it, tells it to stop.
pub(crate) fn cancel(shared: &Shared, id: u64) {
    if shared.pending.forget(id) {
        send_cancel(shared, id, "the caller stopped waiting for the answer");
    }
}

/// Fails request `id` with a timeout error if it is still unanswered `after` from now, and
/// then cancels it on the wire. Without a timer it cannot fire, and says so.
pub(crate) fn arm_timeout(shared: &Arc<Shared>, id: u64, after: std::time::Duration) {
    if shared.timer.is_none() {
        tracing::warn!(
            id,
            "no timer to time this request out: give the builder one with Builder::timer"
        );
        return;
    }
    arm_deadline(shared, id, after, Error::timed_out(after), true);
}

/// Request `id` was sent on for one that has been cancelled: tells the peer, and waits for
/// its answer (which is passed back as it is) for a grace; then fails it -32800. Where the
/// peer's convention says no answer follows a cancellation, it fails -32800 at once.
fn pass_cancel_on(shared: &Arc<Shared>, id: u64) {
    if !shared.pending.is_pending(id) {
        return;
    }
    send_cancel(shared, id, "the request it was sent on for was cancelled");
    if !shared.cancellation.answer_follows() {
        if let Some(Some(callback)) = shared.pending.time_out(id, Error::request_cancelled()) {
            shared.tasks.spawn_owed(callback);
        }
    } else if shared.timer.is_some() {
        let grace = crate::cancel::FORWARDED_CANCEL_GRACE;
        arm_deadline(shared, id, grace, Error::request_cancelled(), false);
    }
}

/// Fails request `id` with `error` if it is still unanswered `after` from now (a timer
/// stopped by the answer), and then, if `cancel_on_wire`, tells the peer to stop.
fn arm_deadline(
    shared: &Arc<Shared>,
    id: u64,
    after: std::time::Duration,
    error: Error,
    cancel_on_wire: bool,
) {
    let Some(timer) = shared.timer.as_ref() else {
        return;
    };
    let Some(stopped) = shared.pending.arm_timer(id) else {
        return;
    };
    // Asked for now, not when the task first runs, so the clock starts at once.
    let sleep = timer.sleep(after);
    let connection = Arc::clone(shared);
    shared.tasks.spawn_uncounted(async move {
        if let futures::future::Either::Left(_) = futures::future::select(sleep, stopped).await
            && let Some(callback) = connection.pending.time_out(id, error)
        {
            if cancel_on_wire {
                let why = format!("no answer within {after:?}");
                send_cancel(&connection, id, &why);
            }
            if let Some(callback) = callback {
                connection.tasks.spawn_owed(callback);
            }
        }
    });
}

/// Tells the peer to stop working on request `id`, in the connection's cancel convention
/// (nothing, if it has none).
fn send_cancel(shared: &Shared, id: u64, why: &str) {
    let request = RequestId::from(id);
    let Some(params) = shared.cancellation.params(&request, why) else {
        return;
    };
    let sent = crate::wire::encode::with_scratch(|frame| {
        let message = UntypedMessage::new(params.method(), &params)?;
        crate::wire::encode::notification_frame::<_, crate::UntypedRole>(frame, &message)?;
        // Queued like an answer: a full queue must not keep the peer working for nobody.
        shared.outgoing.push_answer(frame)
    });
    if let Err(error) = sent {
        tracing::debug!(id, %error, "could not send a cancellation");
    }
}

impl<T> fmt::Debug for SentRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("SentRequest");
        if let Some(state) = &self.state {
            debug.field("id", &state.id).field("failed", &state.failed);
        }
        debug.finish()
    }
}
