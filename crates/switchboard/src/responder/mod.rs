//! Answering incoming requests.
//!
//! A [`Responder`] is created for every incoming request and answers it exactly once: by
//! `respond*`, or, if dropped unanswered, with -32603 (-32800 once cancelled). The answers to
//! one incoming batch are gathered into one array ([`batch`]).

mod batch;

pub(crate) use batch::BatchAnswers;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Error;
use crate::message::{JsonRpcResponse, RequestId};
use crate::shared::Shared;
use crate::wire::encode;

/// Answers one incoming request, exactly once.
///
/// A handler gets one with every request. It may answer at once, or move the responder into a
/// spawned task and answer later; other messages keep flowing meanwhile. If a responder is
/// dropped without answering, the peer still gets an answer: -32603, or the handler's own
/// error when the handler returned one.
///
/// `T` is the type of a successful answer; [`Responder::cast`] changes it.
///
/// ```
/// use switchboard::{Error, Responder};
///
/// fn answer(responder: Responder<u64>, input: Option<u64>) -> Result<(), Error> {
///     match input {
///         Some(n) => responder.respond(n * 2),
///         None => responder.respond_with_error(Error::invalid_params("no input")),
///     }
/// }
/// ```
#[must_use = "a responder answers its request when used; dropping it answers -32603"]
pub struct Responder<T = serde_json::Value> {
    core: Option<ResponderCore>,
    _answer: PhantomData<fn(T)>,
}

/// Everything a responder needs to put its answer on the wire.
pub(crate) struct ResponderCore {
    id: RequestId,
    /// Unique within the connection: tells the dispatch scope which responder is whose.
    serial: u64,
    shared: Arc<Shared>,
    batch: Option<Arc<BatchAnswers>>,
}

impl ResponderCore {
    pub(crate) fn connection_id(&self) -> u64 {
        self.shared.id
    }

    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// The answer for a request dropped without one: -32800 if the peer cancelled it.
    pub(crate) fn unanswered_error(&self) -> Error {
        if self.shared.cancellations.is_cancelled(&self.id) {
            Error::request_cancelled()
        } else {
            Error::internal_error("the request was dropped without an answer")
        }
    }

    /// Puts one answer frame on its way: into the batch it belongs to, or onto the queue. A
    /// cancelled request is not answered where the protocol says no answer follows.
    fn send(self, frame: &[u8]) -> Result<(), Error> {
        let silenced = !self.shared.cancellation.answer_follows()
            && self.shared.cancellations.is_cancelled(&self.id);
        self.shared.cancellations.forget(&self.id);
        let result = match (&self.batch, silenced) {
            (Some(batch), true) => batch.add_nothing(&self.shared),
            (Some(batch), false) => batch.add(frame, &self.shared),
            (None, true) => Ok(()),
            (None, false) => self.shared.outgoing.push_answer(frame),
        };
        self.shared.responder_done();
        result
    }

    pub(crate) fn send_error(self, error: &Error) -> Result<(), Error> {
        encode::with_scratch(|frame| {
            encode::error_frame(frame, &self.id, error);
            self.send(frame)
        })
    }
}

impl<T: JsonRpcResponse> Responder<T> {
    /// Answers with `value`.
    ///
    /// Fails only when the connection has closed, or when `value` cannot be serialized (the
    /// peer then gets -32603 instead, so it is still answered).
    pub fn respond(mut self, value: T) -> Result<(), Error> {
        let Some(core) = self.core.take() else {
            return Ok(());
        };
        encode::with_scratch(
            |frame| match encode::result_frame(frame, &core.id, &value) {
                Ok(()) => core.send(frame),
                Err(error) => {
                    // Whatever was written before the failure is thrown away with the buffer.
                    frame.clear();
                    let why = Error::internal_error(format_args!(
                        "the answer could not be serialized: {error}"
                    ));
                    encode::error_frame(frame, &core.id, &why);
                    let _ = core.send(frame);
                    Err(error)
                }
            },
        )
    }

    /// Answers with `result`: the value, or the error.
    pub fn respond_with_result(self, result: Result<T, Error>) -> Result<(), Error> {
        match result {
            Ok(value) => self.respond(value),
            Err(error) => self.respond_with_error(error),
        }
    }
}

impl<T> Responder<T> {
    pub(crate) fn new(
        id: RequestId,
        shared: Arc<Shared>,
        batch: Option<Arc<BatchAnswers>>,
    ) -> Self {
        // Only the incoming actor makes responders, one at a time: a load and a store, not a
        // locked add.
        let serial = shared.responder_serial.load(Ordering::Relaxed);
        shared.responder_serial.store(serial + 1, Ordering::Relaxed);
        shared.responder_started();
        Responder {
            core: Some(ResponderCore {
                id,
                serial,
                shared,
                batch,
            }),
            _answer: PhantomData,
        }
    }

    /// Answers with an error.
    pub fn respond_with_error(mut self, error: Error) -> Result<(), Error> {
        match self.core.take() {
            Some(core) => core.send_error(&error),
            None => Ok(()),
        }
    }

    /// The same responder, answering with another type (for example after reading an enum of
    /// requests, to answer one variant with its own response type).
    pub fn cast<U>(mut self) -> Responder<U> {
        Responder {
            core: self.core.take(),
            _answer: PhantomData,
        }
    }

    /// The id of the request this responder answers.
    pub fn id(&self) -> &RequestId {
        // `core` is only empty after answering, which consumes the responder.
        self.core.as_ref().map_or(&RequestId::Null, |core| &core.id)
    }

    /// The connection this responder answers on; `None` once it has answered.
    pub(crate) fn shared(&self) -> Option<&Arc<Shared>> {
        self.core.as_ref().map(|core| &core.shared)
    }

    pub(crate) fn serial(&self) -> Option<u64> {
        self.core.as_ref().map(|core| core.serial)
    }

    /// Whether the peer has cancelled this request (in the connection's
    /// [cancel convention](crate::cancel::Cancellation)). A handler that sees it may stop and
    /// drop the responder: the request is then answered -32800, or not at all where the
    /// convention says no answer follows a cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.core
            .as_ref()
            .is_some_and(|core| core.shared.cancellations.is_cancelled(&core.id))
    }

    /// Resolves once the peer cancels this request; never, if it does not. Meant to be raced
    /// against the work, for example with `futures::select!` in a spawned task:
    ///
    /// ```
    /// use futures::future::{Either, select};
    /// use switchboard::{ConnectionTo, Responder, UntypedMessage, UntypedRole};
    ///
    /// let builder = UntypedRole.builder().on_receive_request(
    ///     |_: UntypedMessage, responder: Responder<serde_json::Value>, cx: ConnectionTo<UntypedRole>| {
    ///         cx.spawn(async move {
    ///             let cancelled = std::pin::pin!(responder.cancelled());
    ///             let work = std::pin::pin!(futures::future::pending::<serde_json::Value>());
    ///             match select(work, cancelled).await {
    ///                 Either::Left((value, _)) => responder.respond(value),
    ///                 // Dropping the responder answers -32800 for us.
    ///                 Either::Right(((), _)) => Ok(()),
    ///             }
    ///         });
    ///         std::future::ready(Ok(()))
    ///     },
    /// );
    /// # drop(builder);
    /// ```
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let watch = self.core.as_ref().map(|core| CancelWatch {
            shared: Arc::clone(&core.shared),
            id: core.id.clone(),
            token: None,
        });
        async move {
            match watch {
                Some(watch) => watch.await,
                None => std::future::pending().await,
            }
        }
    }

    /// Cancels `forwarded` (`cancel` is called) if the peer cancels this request before it
    /// is answered; forgotten once it is answered.
    pub(crate) fn on_cancel(&self, cancel: Box<dyn FnOnce() + Send>) {
        if let Some(core) = &self.core {
            core.shared.cancellations.on_cancel(&core.id, cancel);
        }
    }
}

/// Waits for the cancellation of one request; its registration goes with it when dropped.
struct CancelWatch {
    shared: Arc<Shared>,
    id: RequestId,
    token: Option<u64>,
}

impl Future for CancelWatch {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let this = self.get_mut();
        this.shared
            .cancellations
            .poll_cancelled(&this.id, &mut this.token, cx)
    }
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            self.shared.cancellations.unwatch(&self.id, token);
        }
    }
}

impl<T> Drop for Responder<T> {
    fn drop(&mut self) {
        let Some(core) = self.core.take() else {
            return;
        };
        // Dropped while its own handler runs: the incoming actor answers once the handler is
        // done, with the handler's error if it returns one.
        let Some(core) = crate::actor::scope::adopt_orphan(core) else {
            return;
        };
        // Dropped by a spawned task: answered after the poll, with the task's error if it
        // failed.
        let Some(core) = crate::actor::scope::adopt_task_orphan(core) else {
            return;
        };
        let error = if std::thread::panicking() {
            Error::internal_error("the task answering this request panicked")
        } else {
            core.unanswered_error()
        };
        let _ = core.send_error(&error);
    }
}

impl<T> fmt::Debug for Responder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder").field("id", self.id()).finish()
    }
}
