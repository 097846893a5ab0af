//! The connection handle, and the state its clones share with the actors.

use std::fmt;
use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::actor::outgoing::OutgoingQueue;
use crate::actor::task::TaskQueue;
use crate::actor::wake::LoopWake;
use crate::cancel::{Cancellation, Cancellations};
use crate::dynamic::registry::{ParkingLimits, Registry};
use crate::latch::Latch;
use crate::message::{
    JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RequestId,
};
use crate::pending::PendingRequests;
use crate::timer::Timer;
use crate::wire::encode;
use crate::{Error, Role, SentRequest};

/// Gives every connection a distinct id, so a dispatch scope knows whose loop it is in.
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// What the actors and every [`ConnectionTo`] clone of one connection share.
pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) outgoing: OutgoingQueue,
    pub(crate) pending: PendingRequests,
    /// Cancellations the peer sent for requests this side is handling.
    pub(crate) cancellations: Cancellations,
    pub(crate) tasks: TaskQueue,
    dynamic: Mutex<Registry>,
    /// How many dynamic handlers there are, as of the last time the registry was unlocked:
    /// lets the incoming actor skip the lock for every message when there are none.
    dynamic_handlers: AtomicUsize,
    /// Sleeps for age limits and request timeouts; `None` when no runtime timer is known.
    pub(crate) timer: Option<Arc<dyn Timer>>,
    /// The timeout every request this side sends gets, unless it sets its own.
    pub(crate) request_timeout: Option<std::time::Duration>,
    /// How long requests being handled have after the input ends before they are cancelled.
    pub(crate) input_end_grace: std::time::Duration,
    /// How requests are cancelled on the wire, both ways.
    pub(crate) cancellation: crate::cancel::Cancellation,
    /// Tasks waiting in `ConnectionTo::all_answered`.
    answered_waiters: Mutex<Vec<std::task::Waker>>,
    next_request_id: AtomicU64,
    pub(crate) responder_serial: AtomicU64,
    /// Responders not yet answered: at end of input, the connection waits for them to reach 0.
    live_responders: AtomicUsize,
    /// Wakes the connection's poll loop (see `actor::wake`).
    pub(crate) wake: Arc<LoopWake>,
    /// Set when nothing more will arrive from the peer (see [`ConnectionTo::input_ended`]).
    pub(crate) input_ended: Latch,
}

/// What the builder decided for one connection.
pub(crate) struct Settings {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) max_frame_bytes: usize,
    /// The framing byte components use unless given their own (`Builder::framing`).
    pub(crate) framing: crate::wire::Framing,
    pub(crate) max_outgoing_bytes: usize,
    pub(crate) pause_reading: crate::PauseReading,
    pub(crate) max_running_tasks: usize,
    pub(crate) parking: ParkingLimits,
    pub(crate) timer: Option<Arc<dyn Timer>>,
    pub(crate) request_timeout: Option<std::time::Duration>,
    pub(crate) input_end_grace: std::time::Duration,
    pub(crate) cancellation: Cancellation,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("name", &self.name)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("framing", &self.framing)
            .field("max_outgoing_bytes", &self.max_outgoing_bytes)
            .field("pause_reading", &self.pause_reading)
            .field("max_running_tasks", &self.max_running_tasks)
            .field("parking", &self.parking)
            .field("timer", &crate::timer::DebugTimer(&self.timer))
            .field("request_timeout", &self.request_timeout)
            .field("input_end_grace", &self.input_end_grace)
            .field("cancellation", &self.cancellation)
            .finish()
    }
}

impl Shared {
    pub(crate) fn new(settings: Settings) -> Self {
        let Settings {
            name,
            max_frame_bytes: _,
            framing: _,
            max_outgoing_bytes,
            pause_reading,
            max_running_tasks,
            parking,
            timer,
            request_timeout,
            input_end_grace,
            cancellation,
        } = settings;
        let wake = Arc::new(LoopWake::default());
        let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
        Shared {
            id,
            tasks: TaskQueue::new(id, name.clone(), Arc::clone(&wake), max_running_tasks),
            name,
            outgoing: OutgoingQueue::new(max_outgoing_bytes, pause_reading, Arc::clone(&wake)),
            pending: PendingRequests::default(),
            cancellations: Cancellations::default(),
            dynamic: Mutex::new(Registry::new(parking)),
            dynamic_handlers: AtomicUsize::new(0),
            timer,
            request_timeout,
            input_end_grace,
            cancellation,
            answered_waiters: Mutex::new(Vec::new()),
            next_request_id: AtomicU64::new(1),
            responder_serial: AtomicU64::new(0),
            live_responders: AtomicUsize::new(0),
            wake,
            input_ended: Latch::default(),
        }
    }

    /// The dynamic handlers and the parking lot. Never held across an await.
    pub(crate) fn dynamic(&self) -> RegistryGuard<'_> {
        // Every critical section leaves the registry consistent, so poisoning can be ignored.
        let registry = self
            .dynamic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        RegistryGuard {
            registry,
            count: &self.dynamic_handlers,
        }
    }

    /// Whether any dynamic handler is registered (without taking the lock).
    pub(crate) fn has_dynamic_handlers(&self) -> bool {
        self.dynamic_handlers.load(Ordering::Acquire) > 0
    }

    pub(crate) fn responder_started(&self) {
        self.live_responders.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn responder_done(&self) {
        if self.live_responders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake.wake();
            let waiters = std::mem::take(&mut *self.lock_answered_waiters());
            waiters.into_iter().for_each(std::task::Waker::wake);
        }
    }

    fn lock_answered_waiters(&self) -> MutexGuard<'_, Vec<std::task::Waker>> {
        // A list of wakers cannot be left half-updated, so poisoning can be ignored.
        self.answered_waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ready once every incoming request has been answered.
    pub(crate) fn poll_all_answered(&self) -> Poll<()> {
        if self.live_responders.load(Ordering::Acquire) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Like [`poll_all_answered`](Self::poll_all_answered), for a task other than the
    /// connection's loop: it is woken when the last answer goes.
    fn poll_all_answered_from(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.poll_all_answered().is_ready() {
            return Poll::Ready(());
        }
        let mut waiters = self.lock_answered_waiters();
        // Checked again under the lock: the last answer takes the waiters under it.
        if self.poll_all_answered().is_ready() {
            return Poll::Ready(());
        }
        if !waiters.iter().any(|waiter| waiter.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The locked registry; on unlock it publishes how many handlers it holds.
pub(crate) struct RegistryGuard<'a> {
    registry: MutexGuard<'a, Registry>,
    count: &'a AtomicUsize,
}

impl std::ops::Deref for RegistryGuard<'_> {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        &self.registry
    }
}

impl std::ops::DerefMut for RegistryGuard<'_> {
    fn deref_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }
}

impl Drop for RegistryGuard<'_> {
    fn drop(&mut self) {
        self.count.store(self.registry.len(), Ordering::Release);
    }
}

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
        let id = self.shared.next_request_id.fetch_add(1, Ordering::Relaxed);
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
                SentRequest::new(id, Arc::clone(&self.shared))
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
    /// tasks, queued bytes. See [`Census`](crate::Census).
    pub fn census(&self) -> crate::Census {
        let shared = &self.shared;
        crate::Census {
            awaiting_answers: shared.pending.len(),
            unanswered_requests: shared.live_responders.load(Ordering::Acquire),
            cancellation_registrations: shared.cancellations.registered(),
            running_tasks: shared.tasks.running(),
            dynamic_handlers: shared.dynamic_handlers.load(Ordering::Acquire),
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
