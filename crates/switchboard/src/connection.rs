//! The connection handle: what handlers and tasks hold to send, spawn and watch.

use std::fmt;
use std::future::{Future, poll_fn};
use std::sync::Arc;

pub use crate::census::Census;
use crate::message::{
    JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RequestId,
};
use crate::shared::Shared;
use crate::wire::encode;
use crate::{Error, Role, SentRequest};

/// A handle to a running connection, for sending to the counterpart `Cp`.
///
/// Cheap to clone (one reference count); every clone talks over the same connection. Handlers
/// receive one with every message; the closure of
/// [`connect_with`](crate::Builder::connect_with) receives one too.
///
/// Sending never waits: messages are serialized at once and queued in order. If the peer does
/// not read and the queue fills up (see [`Builder::max_outgoing_bytes`](crate::Builder::max_outgoing_bytes)),
/// sending requests and notifications fails until [`ConnectionTo::writable`] resolves; answers
/// are always queued.
pub struct ConnectionTo<Cp: Role> {
    pub(crate) shared: Arc<Shared>,
    counterpart: Cp,
}

impl<Cp: Role> Clone for ConnectionTo<Cp> {
    fn clone(&self) -> Self {
        ConnectionTo {
            shared: Arc::clone(&self.shared),
            counterpart: self.counterpart.clone(),
        }
    }
}

impl<Cp: Role> ConnectionTo<Cp> {
    pub(crate) fn new(shared: Arc<Shared>, counterpart: Cp) -> Self {
        ConnectionTo {
            shared,
            counterpart,
        }
    }

    /// The role at the other end.
    pub fn counterpart(&self) -> &Cp {
        &self.counterpart
    }

    /// The name given with [`Builder::name`](crate::Builder::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Sends a request. The answer comes through the returned [`SentRequest`]: await it with
    /// [`SentRequest::block_task`] outside handlers, or hand it a callback inside them.
    ///
    /// Failures to send (closed connection, full queue, params that do not serialize) are
    /// reported by the `SentRequest` too, so there is one place to handle errors.
    pub fn send_request<M: JsonRpcRequest<Cp>>(&self, request: M) -> SentRequest<M::Response> {
        self.send_request_expecting::<M::Response, M, Cp>(&request)
    }

    /// Sends `request` (a message type read for the counterpart `As`), whose answer will be
    /// read as a `T`.
    pub(crate) fn send_request_expecting<T: JsonRpcResponse, M: JsonRpcMessage<As>, As>(
        &self,
        request: &M,
    ) -> SentRequest<T> {
        let id = self.shared.next_request_id();
        let sent = encode::with_scratch(|frame| {
            encode::request_frame::<M, As>(frame, &RequestId::from(id), request)?;
            self.shared.pending.insert(id)?;
            self.shared.outgoing.push(frame).inspect_err(|_| {
                self.shared.pending.forget(id);
            })
        });
        match sent {
            Ok(()) => {
                if let Some(after) = self.shared.request_timeout {
                    crate::sent_request::arm_timeout(&self.shared, id, after);
                }
                let described = crate::observe::Described::sent(request.method(), id);
                SentRequest::new(id, Arc::clone(&self.shared), described)
            }
            Err(error) => SentRequest::failed(error, Arc::clone(&self.shared)),
        }
    }

    /// Sends a notification.
    pub fn send_notification<M: JsonRpcNotification<Cp>>(
        &self,
        notification: M,
    ) -> Result<(), Error> {
        self.send_notification_as::<M, Cp>(&notification)
    }

    /// Sends `notification`, a message type read for the counterpart `As`.
    pub(crate) fn send_notification_as<M: JsonRpcMessage<As>, As>(
        &self,
        notification: &M,
    ) -> Result<(), Error> {
        encode::with_scratch(|frame| {
            encode::notification_frame::<M, As>(frame, notification)?;
            self.shared.outgoing.push(frame)
        })
    }

    /// Sends an error that answers no particular request (a response with id `null`), for
    /// example to tell the peer why this side is about to hang up.
    pub fn send_error_notification(&self, error: Error) -> Result<(), Error> {
        encode::with_scratch(|frame| {
            encode::error_frame(frame, &RequestId::Null, &error);
            self.shared.outgoing.push(frame)
        })
    }

    /// Runs `task` alongside the dispatch loop, inside the connection's own future.
    ///
    /// Use it for work that waits (a timer, a `block_task()` on an answer) so that handlers
    /// return promptly. If the task fails or panics, that is logged (with the connection's
    /// name), a request whose [`Responder`](crate::Responder) the task held unanswered is
    /// answered with the task's error, and the connection carries on with everything else.
    /// For a task whose failure should end the connection, use
    /// [`spawn_critical`](ConnectionTo::spawn_critical).
    pub fn spawn(&self, task: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.shared.tasks.spawn(task);
    }

    /// Like [`spawn`](ConnectionTo::spawn), except that if `task` fails or panics the
    /// connection ends at once with an error of code
    /// [`TASK_FAILED`](crate::error::codes::TASK_FAILED), which `connect_to` /
    /// `connect_with` return: for work the connection cannot go on without.
    pub fn spawn_critical(&self, task: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.shared.tasks.spawn_critical(task);
    }

    /// Fails with [`BLOCKED_DISPATCH_LOOP`](crate::error::codes::BLOCKED_DISPATCH_LOOP) when
    /// called from inside one of this connection's handlers or response callbacks, where
    /// waiting for an answer would deadlock; `Ok` anywhere else.
    ///
    /// [`SentRequest::block_task`] makes this check itself. Helpers that wait for answers in
    /// their own way (a protocol crate's "open a session and wait for it", say) call it before
    /// they wait, so that misuse fails at once with an error that says what to do instead.
    pub fn ensure_outside_dispatch(&self) -> Result<(), Error> {
        if crate::actor::scope::inside_dispatch_of(self.shared.id) {
            Err(Error::blocked_dispatch_loop())
        } else {
            Ok(())
        }
    }

    /// Resolves once nothing more will arrive from the peer: it ended its input, reading
    /// failed, or the connection ended. Requests this side sent are failed by then.
    ///
    /// A [`connect_with`](crate::Builder::connect_with) closure that should serve until the
    /// peer hangs up, and also stop on a signal of its own, waits for this and its signal.
    ///
    /// ```
    /// use switchboard::{Channel, UntypedRole};
    ///
    /// # futures::executor::block_on(async {
    /// let (ours, theirs) = Channel::duplex();
    /// // The peer connects and hangs up at once.
    /// let peer = UntypedRole.builder().connect_with(theirs, async |_cx| Ok(()));
    /// let served = UntypedRole.builder().connect_with(ours, async |cx| {
    ///     cx.input_ended().await;
    ///     Ok("the peer hung up")
    /// });
    /// let (served, _) = futures::join!(served, peer);
    /// assert_eq!(served.unwrap(), "the peer hung up");
    /// # });
    /// ```
    pub fn input_ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { poll_fn(|cx| shared.input_ended.poll_set(cx)).await }
    }

    /// Resolves once every request the peer sent has been answered (at once, if none is
    /// being handled). A forwarder whose client has ended its input waits for this before it
    /// closes the connections behind it, so what was asked is still answered.
    pub fn all_answered(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { poll_fn(|cx| shared.poll_all_answered_from(cx)).await }
    }

    /// What this connection holds right now: requests in flight both ways, registrations,
    /// tasks, queued bytes. See [`Census`].
    pub fn census(&self) -> crate::connection::Census {
        let shared = &self.shared;
        crate::connection::Census {
            awaiting_answers: shared.pending.len(),
            unanswered_requests: shared.unanswered(),
            cancellation_registrations: shared.cancellations.registered(),
            running_tasks: shared.tasks.running(),
            dynamic_handlers: shared.dynamic_handler_count(),
            queued_bytes: self.queued_bytes(),
        }
    }

    /// The bytes queued for the peer and not yet written: one atomic load, cheap enough to
    /// ask before every message (as [`census`](ConnectionTo::census) is not).
    pub fn queued_bytes(&self) -> usize {
        self.shared.outgoing.used()
    }

    /// Resolves once the outgoing queue has room (is below half its limit), or the connection
    /// has closed. A task that sends many messages awaits it to go at the peer's pace.
    pub fn writable(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { poll_fn(|cx| shared.outgoing.poll_room(cx)).await }
    }

    /// Resolves once fewer than `bytes` are queued for the peer (or the connection has
    /// closed). A forwarder waits for this on every hop a message will cross before it takes
    /// the message in: a wait for room along the path, rather than on the connection the
    /// message came from.
    ///
    /// ```
    /// use switchboard::{Channel, UntypedMessage, UntypedRole};
    ///
    /// # futures::executor::block_on(async {
    /// let (ours, theirs) = Channel::duplex();
    /// let peer = UntypedRole.builder().connect_to(theirs);
    /// let sent = UntypedRole.builder().connect_with(ours, async |cx| {
    ///     for n in 0..100 {
    ///         cx.queued_below(1024).await;
    ///         cx.send_notification(UntypedMessage::new("tick", n)?)?;
    ///     }
    ///     Ok(())
    /// });
    /// let (sent, peer) = futures::join!(sent, peer);
    /// sent.unwrap();
    /// peer.unwrap();
    /// # });
    /// ```
    pub fn queued_below(&self, bytes: usize) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { poll_fn(|cx| shared.outgoing.poll_below(bytes, cx)).await }
    }
}

impl<Cp: Role> fmt::Debug for ConnectionTo<Cp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionTo")
            .field("counterpart", &self.counterpart)
            .field("name", &self.shared.name)
            .finish()
    }
}
