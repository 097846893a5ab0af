//! The incoming actor: frames in, through the handler chain, one at a time.
//!
//! It takes one frame from the transport, parses it, offers each message to the handler chain
//! and waits for the handler to finish before taking the next frame. That is the ordering
//! guarantee (messages are dispatched in arrival order, one at a time) and the backpressure
//! story (a slow handler, or an outgoing queue the peer does not drain, stops us reading).
//!
//! Handlers run inside a dispatch scope (see [`scope`](super::scope)), and inside
//! `catch_unwind`: a handler that fails or panics answers its request with an error and the
//! connection carries on.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;

use std::task::Poll;
use std::time::Instant;

use futures::StreamExt;
use futures::future::BoxFuture;
use tracing::Instrument;

use super::scope::{DispatchScope, run_in_scope};
use super::task::panic_message;
use crate::dynamic::registry::Parked;
use crate::handler::{Handled, Handler};
use crate::observe::{self, Described};
use crate::responder::BatchAnswers;
use crate::router::ResponseRouter;
use crate::shared::Shared;
use crate::transport::seam::FrameStream;
use crate::wire::FrameEvent;
use crate::wire::encode;
use crate::wire::envelope::{Incoming, Parsed, parse_frame};
use crate::{ConnectionTo, Dispatch, Error, RequestId, Responder, Role};

/// Dispatches incoming messages through `handler`, then the role's default.
pub(crate) struct IncomingActor<R: Role, H> {
    pub(crate) role: R,
    pub(crate) handler: H,
    pub(crate) cx: ConnectionTo<R::Counterpart>,
    pub(crate) max_frame_bytes: usize,
    /// Reused for the dynamic handlers a message is offered to.
    pub(crate) candidates: Vec<u64>,
    /// Whether messages are parked (or were, until the next look).
    pub(crate) parking_active: bool,
}

/// What woke the incoming actor.
enum Wake {
    Frame(Option<Result<FrameEvent, Error>>),
    /// Parked messages to replay, or one to expire.
    Parked,
}

impl<R: Role, H: Handler<R::Counterpart>> IncomingActor<R, H> {
    fn shared(&self) -> &Arc<Shared> {
        &self.cx.shared
    }

    /// Runs until the transport ends (`Ok`) or fails (`Err`).
    pub(crate) async fn run(&mut self, frames: &mut FrameStream) -> Result<(), Error> {
        let shared = Arc::clone(self.shared());
        // The sleep until the oldest parked message expires, and when that is.
        let mut expiry: Option<(Instant, BoxFuture<'static, ()>)> = None;
        loop {
            // Outgoing before incoming: while the peer is not taking our answers, read nothing
            // (unless this connection's reading never pauses; see `PauseReading`).
            poll_fn(|cx| shared.outgoing.poll_may_read(cx)).await;
            // Nor while the work handlers spawned is at its limit.
            poll_fn(|_| shared.tasks.poll_room()).await;
            // Nor while a stream's consumer has more items than its window (see `stream`).
            poll_fn(|_| shared.streams.poll_may_read()).await;

            if self.parking_active {
                // Parked messages a new handler may want go first: they arrived before
                // anything still unread.
                let replays = shared.dynamic().take_replays();
                if !replays.is_empty() {
                    for parked in replays {
                        self.dispatch(parked.dispatch, Some(parked.since)).await;
                    }
                    continue;
                }
                let now = Instant::now();
                let mut registry = shared.dynamic();
                let expired = registry.take_expired(now);
                let next_expiry = registry.next_expiry();
                self.parking_active = next_expiry.is_some();
                drop(registry);
                give_up(expired, "no handler took it in time");
                match (next_expiry, &shared.timer) {
                    (Some(at), Some(timer))
                        if expiry.as_ref().map(|(when, _)| *when) != Some(at) =>
                    {
                        expiry = Some((at, timer.sleep(at.saturating_duration_since(now))));
                    }
                    (None, _) => expiry = None,
                    _ => {}
                }
            }

            // Only the incoming actor parks messages, so while none are parked no replay or
            // expiry can become due: the lock is not touched on the hot path.
            let parking_active = self.parking_active;
            let wake = poll_fn(|cx| {
                if parking_active && shared.dynamic().poll_replay(cx).is_ready() {
                    return Poll::Ready(Wake::Parked);
                }
                if let Some((_, sleep)) = expiry.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Wake::Parked);
                }
                frames.poll_next_unpin(cx).map(Wake::Frame)
            })
            .await;
            match wake {
                Wake::Parked => continue,
                Wake::Frame(None) => return Ok(()),
                Wake::Frame(Some(Err(error))) => return Err(error),
                Wake::Frame(Some(Ok(FrameEvent::Frame(frame)))) => match parse_frame(frame) {
                    // Messages are prepared without awaiting and only `dispatch` is awaited
                    // here: each async layer between this loop and the handler would copy the
                    // whole (large) dispatch future once per message.
                    Parsed::Single(incoming) => {
                        if let Some(dispatch) = self.prepare(incoming, None) {
                            self.dispatch(dispatch, None).await;
                        }
                    }
                    Parsed::Batch(members) => {
                        let batch = batch_answers(&members);
                        for member in members {
                            if let Some(dispatch) = self.prepare(member, batch.as_ref()) {
                                self.dispatch(dispatch, None).await;
                            }
                        }
                    }
                },
                Wake::Frame(Some(Ok(FrameEvent::TooLarge { length }))) => {
                    let error = Error::invalid_request(format_args!(
                        "a frame of {length} bytes exceeds the maximum of {} bytes and was skipped",
                        self.max_frame_bytes
                    ))
                    .with_data(serde_json::json!({ "frameBytes": length, "maxFrameBytes": self.max_frame_bytes }));
                    self.answer_invalid(&RequestId::Null, &error, None);
                }
            }
        }
    }

    /// Whether any handler, static or dynamic, may want to see a response.
    fn sees_responses(&self) -> bool {
        self.handler.sees_responses() || self.shared().has_dynamic_handlers()
    }

    /// Turns a parsed message into what the handlers are offered; answers or drops what is
    /// malformed.
    fn prepare(&self, incoming: Incoming, batch: Option<&Arc<BatchAnswers>>) -> Option<Dispatch> {
        match incoming {
            Incoming::Request { id, message } => {
                let responder = Responder::new(id, Arc::clone(self.shared()), batch.cloned());
                Some(Dispatch::Request(message, responder))
            }
            Incoming::Notification(message)
                if self.shared().cancellation.is_cancellation(message.method()) =>
            {
                // Protocol business: marks the request, handlers never see it.
                match self.shared().cancellation.cancelled_id(message.params()) {
                    Some(id) => self.shared().cancellations.cancel(id),
                    None => tracing::debug!(
                        method = message.method(),
                        "ignoring a cancellation that names no request"
                    ),
                }
                None
            }
            // A stream's item or credit goes to its stream, like an answer to its request.
            Incoming::Notification(message) => {
                crate::stream::route(self.shared(), message).map(Dispatch::Notification)
            }
            Incoming::Response { id, result } => {
                // The common case, an answer a `SentRequest` waits for while no handler looks
                // at responses, needs no dispatch at all.
                let result = match id.as_u64() {
                    Some(n) if !self.sees_responses() => {
                        match self.shared().pending.deliver_to_waiting(n, result) {
                            Ok(()) => return None,
                            Err(result) => result,
                        }
                    }
                    _ => result,
                };
                Some(Dispatch::Response(
                    result,
                    ResponseRouter::new(id, Arc::clone(self.shared())),
                ))
            }
            Incoming::Invalid { id, error } => {
                tracing::debug!(%id, %error, "answering an invalid message");
                self.answer_invalid(&id, &error, batch);
                None
            }
            Incoming::Ignored { why } => {
                let connection = self.shared().name.as_deref();
                tracing::warn!(connection, why, "ignoring a malformed message");
                None
            }
        }
    }

    /// Offers a message the builder's handlers passed on to the dynamic handlers: the keyed
    /// ones for its routing key (one lookup), then the unkeyed ones in order.
    async fn dispatch_dynamic(
        &mut self,
        mut message: Dispatch,
        mut retry: bool,
    ) -> Result<Handled<Dispatch>, Error> {
        // Field by field, so the connection's `Arc` is borrowed rather than cloned per message.
        let shared = &self.cx.shared;
        if !shared.has_dynamic_handlers() {
            return Ok(Handled::No { message, retry });
        }
        shared.dynamic().candidates(&message, &mut self.candidates);
        for index in 0..self.candidates.len() {
            let id = self.candidates[index];
            let Some(mut handler) = shared.dynamic().take(id) else {
                continue;
            };
            let handled = handler.handle(message).await;
            let removed = shared.dynamic().put_back(id, handler);
            drop(removed);
            match handled? {
                Handled::Yes => return Ok(Handled::Yes),
                Handled::No {
                    message: passed,
                    retry: again,
                } => {
                    message = passed;
                    retry |= again;
                }
            }
        }
        Ok(Handled::No { message, retry })
    }

    fn answer_invalid(&self, id: &RequestId, error: &Error, batch: Option<&Arc<BatchAnswers>>) {
        let sent = encode::with_scratch(|frame| {
            encode::error_frame(frame, id, error);
            match batch {
                Some(batch) => batch.add(frame, self.shared()),
                None => self.shared().outgoing.push_answer(frame),
            }
        });
        if let Err(error) = sent {
            tracing::debug!(%error, "could not answer an invalid message");
        }
    }

    /// Offers one message to the chain, the dynamic handlers, then the role's default, and
    /// makes sure a request is answered whatever the handlers did. `parked_since` is set when
    /// the message is replayed from the parking lot.
    async fn dispatch(&mut self, dispatch: Dispatch, parked_since: Option<Instant>) {
        let span = observe::received_span(&dispatch);
        let described = Described::received(&dispatch);
        let scope = DispatchScope {
            connection: self.shared().id,
            responder: match &dispatch {
                Dispatch::Request(_, responder) => responder.serial(),
                _ => None,
            },
            orphan: None,
        };
        let (outcome, scope) = {
            // Pinned where it is built: handing the future itself on would copy all of it.
            let work = pin!(async {
                let (message, retry) = if self.handler.may_claim(&dispatch) {
                    match self.handler.handle(dispatch, &self.cx).await? {
                        Handled::Yes => return Ok(()),
                        Handled::No { message, retry } => (message, retry),
                    }
                } else {
                    (dispatch, false)
                };
                let (message, retry) = match self.dispatch_dynamic(message, retry).await? {
                    Handled::Yes => return Ok(()),
                    Handled::No { message, retry } => (message, retry),
                };
                match message {
                    Dispatch::Response(result, router) => {
                        router.route(result).await;
                        Ok(())
                    }
                    message if retry => {
                        let mut registry = self.shared().dynamic();
                        let evicted = match parked_since {
                            None => registry.park(message, Instant::now()),
                            Some(since) => registry.repark(Parked {
                                dispatch: message,
                                since,
                            }),
                        };
                        drop(registry);
                        self.parking_active = true;
                        give_up(evicted, "the parking lot is full");
                        Ok(())
                    }
                    message => self.role.default_dispatch(message, self.cx.clone()).await,
                }
            });
            run_in_scope(scope, work).instrument(span.clone()).await
        };
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error),
            Err(panic) => Some(Error::internal_error(format_args!(
                "the handler panicked: {}",
                panic_message(&*panic)
            ))),
        };
        match (scope.orphan, failure) {
            (Some(orphan), failure) => {
                let error = failure.unwrap_or_else(|| orphan.unanswered_error());
                let _ = orphan.send_error(&error);
            }
            (None, Some(error)) => span.in_scope(|| {
                tracing::error!(
                    connection = self.shared().name.as_deref(),
                    method = described.method(),
                    id = %described.id(),
                    %error,
                    "a handler failed after its message was answered (or it was a notification)"
                );
            }),
            (None, None) => {}
        }
    }
}

/// The shared answer array of a batch, if any member expects an answer (a batch of
/// notifications and responses is never answered).
fn batch_answers(members: &[Incoming]) -> Option<Arc<BatchAnswers>> {
    let expected = members
        .iter()
        .filter(|member| matches!(member, Incoming::Request { .. } | Incoming::Invalid { .. }))
        .count();
    (expected > 0).then(|| Arc::new(BatchAnswers::new(expected)))
}

/// Answers parked messages that no handler took: requests -32601, notifications dropped.
pub(crate) fn give_up(parked: Vec<Parked>, why: &str) {
    for parked in parked {
        match parked.dispatch {
            Dispatch::Request(request, responder) => {
                tracing::warn!(
                    method = request.method(),
                    why,
                    "answering a parked request -32601"
                );
                let _ = responder.respond_with_error(Error::method_not_found(request.method()));
            }
            Dispatch::Notification(notification) => {
                tracing::warn!(
                    method = notification.method(),
                    why,
                    "dropping a parked notification"
                );
            }
            Dispatch::Response(_, router) => {
                // Responses are routed before anything is parked, so this does not happen.
                tracing::warn!(id = %router.id(), why, "dropping a parked response");
            }
        }
    }
}
