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
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};

use super::scope::{DispatchScope, run_in_scope};
use super::task::panic_message;
use super::transport::FrameStream;
use crate::connection::Shared;
use crate::handler::{Handled, Handler};
use crate::responder::BatchAnswers;
use crate::wire::FrameEvent;
use crate::wire::encode;
use crate::wire::envelope::{Incoming, Parsed, parse_frame};
use crate::{ConnectionTo, Dispatch, Error, RequestId, Responder, ResponseRouter, Role};

/// Dispatches incoming messages through `handler`, then the role's default.
pub(crate) struct IncomingActor<R: Role, H> {
    pub(crate) role: R,
    pub(crate) handler: H,
    pub(crate) cx: ConnectionTo<R::Counterpart>,
    pub(crate) max_frame_bytes: usize,
}

impl<R: Role, H: Handler<R::Counterpart>> IncomingActor<R, H> {
    fn shared(&self) -> &Arc<Shared> {
        &self.cx.shared
    }

    /// Runs until the transport ends (`Ok`) or fails (`Err`).
    pub(crate) async fn run(&mut self, frames: &mut FrameStream) -> Result<(), Error> {
        let shared = Arc::clone(self.shared());
        loop {
            // Outgoing before incoming: while the peer is not taking our answers, read nothing.
            poll_fn(|cx| shared.outgoing.poll_room(cx)).await;
            match frames.next().await {
                None => return Ok(()),
                Some(Err(error)) => return Err(error),
                Some(Ok(FrameEvent::Frame(frame))) => self.on_frame(frame).await,
                Some(Ok(FrameEvent::TooLarge { length })) => {
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

    async fn on_frame(&mut self, frame: Vec<u8>) {
        match parse_frame(frame) {
            Parsed::Single(incoming) => self.on_incoming(incoming, None).await,
            Parsed::Batch(members) => {
                let expected = members
                    .iter()
                    .filter(|member| {
                        matches!(member, Incoming::Request { .. } | Incoming::Invalid { .. })
                    })
                    .count();
                // A batch of notifications (and responses) is never answered.
                let batch = (expected > 0).then(|| Arc::new(BatchAnswers::new(expected)));
                for member in members {
                    self.on_incoming(member, batch.as_ref()).await;
                }
            }
        }
    }

    async fn on_incoming(&mut self, incoming: Incoming, batch: Option<&Arc<BatchAnswers>>) {
        let dispatch = match incoming {
            Incoming::Request { id, message } => {
                let responder = Responder::new(id, Arc::clone(self.shared()), batch.cloned());
                Dispatch::Request(message, responder)
            }
            Incoming::Notification(message) => Dispatch::Notification(message),
            Incoming::Response { id, result } => {
                Dispatch::Response(result, ResponseRouter::new(id, Arc::clone(self.shared())))
            }
            Incoming::Invalid { id, error } => {
                tracing::debug!(%id, %error, "answering an invalid message");
                self.answer_invalid(&id, &error, batch);
                return;
            }
            Incoming::Ignored { why } => {
                tracing::warn!(why, "ignoring a malformed message");
                return;
            }
        };
        self.dispatch(dispatch).await;
    }

    fn answer_invalid(&self, id: &RequestId, error: &Error, batch: Option<&Arc<BatchAnswers>>) {
        let frame = encode::error_frame(id, error);
        let sent = match batch {
            Some(batch) => batch.add(frame, self.shared()),
            None => self.shared().outgoing.push_answer(frame),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "could not answer an invalid message");
        }
    }

    /// Offers one message to the chain, then to the role's default, and makes sure a request
    /// is answered whatever the handler did.
    async fn dispatch(&mut self, dispatch: Dispatch) {
        let scope = DispatchScope {
            connection: self.shared().id,
            responder: match &dispatch {
                Dispatch::Request(_, responder) => responder.serial(),
                _ => None,
            },
            orphan: None,
        };
        let work = async {
            match self.handler.handle(dispatch, self.cx.clone()).await? {
                Handled::Yes => Ok(()),
                Handled::No {
                    message: Dispatch::Response(result, router),
                    ..
                } => {
                    router.route(result).await;
                    Ok(())
                }
                Handled::No { message, .. } => {
                    self.role.default_dispatch(message, self.cx.clone()).await
                }
            }
        };
        let (outcome, scope) = run_in_scope(scope, AssertUnwindSafe(work).catch_unwind()).await;
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
                let error = failure.unwrap_or_else(|| {
                    Error::internal_error("the request was dropped without an answer")
                });
                let _ = orphan.send_error(&error);
            }
            (None, Some(error)) => {
                tracing::error!(%error, "a handler failed after its message was answered");
            }
            (None, None) => {}
        }
    }
}
