//! What the actors and every clone of a connection's handle share: the queues, the pending
//! requests, the cancellations, the dynamic handlers, and the settings the builder chose.
//!
//! Everything here is reached through an `Arc<Shared>`; [`ConnectionTo`](crate::ConnectionTo)
//! is the public face of it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use crate::actor::outgoing::OutgoingQueue;
use crate::actor::task::TaskQueue;
use crate::actor::wake::LoopWake;
use crate::cancel::{Cancellation, Cancellations};
use crate::dynamic::registry::{ParkingLimits, Registry};
use crate::latch::Latch;
use crate::pending::PendingRequests;
use crate::timer::Timer;

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
    /// How requests are answered by streams on the wire, both ways.
    pub(crate) streaming: crate::stream::Streaming,
    /// The streams open on this connection, both ways.
    pub(crate) streams: crate::stream::Streams,
    /// Tasks waiting in `ConnectionTo::all_answered`.
    answered_waiters: Mutex<Vec<std::task::Waker>>,
    /// Whether any task ever waited in `answered_waiters`: until one does, the last answer
    /// need not take their lock.
    answered_waited: AtomicBool,
    next_request_id: AtomicU64,
    /// The serial number of the next responder; written only by the incoming actor.
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
    pub(crate) pause_reading: crate::builder::PauseReading,
    pub(crate) max_running_tasks: usize,
    pub(crate) parking: ParkingLimits,
    pub(crate) timer: Option<Arc<dyn Timer>>,
    pub(crate) request_timeout: Option<std::time::Duration>,
    pub(crate) input_end_grace: std::time::Duration,
    pub(crate) cancellation: Cancellation,
    pub(crate) streaming: crate::stream::Streaming,
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
            .field("streaming", &self.streaming)
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
            streaming,
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
            streaming,
            streams: crate::stream::Streams::default(),
            answered_waiters: Mutex::new(Vec::new()),
            answered_waited: AtomicBool::new(false),
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

    /// A fresh id for a request this side sends.
    pub(crate) fn next_request_id(&self) -> u64 {
        self.next_request_id.fetch_add(1, Ordering::Relaxed)
    }

    /// How many incoming requests are not answered yet.
    pub(crate) fn unanswered(&self) -> usize {
        self.live_responders.load(Ordering::Acquire)
    }

    /// How many dynamic handlers there are (as of the registry's last unlock).
    pub(crate) fn dynamic_handler_count(&self) -> usize {
        self.dynamic_handlers.load(Ordering::Acquire)
    }

    /// Whether any dynamic handler is registered (without taking the lock).
    pub(crate) fn has_dynamic_handlers(&self) -> bool {
        self.dynamic_handlers.load(Ordering::Acquire) > 0
    }

    pub(crate) fn responder_started(&self) {
        self.live_responders.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn responder_done(&self) {
        if self.live_responders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.wake.wake(crate::actor::wake::part::CHECK);
            // Nearly always nobody waits, and the lock is not worth taking to find out.
            if self.answered_waited.load(Ordering::SeqCst) {
                let waiters = std::mem::take(&mut *self.lock_answered_waiters());
                waiters.into_iter().for_each(std::task::Waker::wake);
            }
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
    pub(crate) fn poll_all_answered_from(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.poll_all_answered().is_ready() {
            return Poll::Ready(());
        }
        let mut waiters = self.lock_answered_waiters();
        // Said before the count is read again (both SeqCst): the last answer either sees the
        // flag and takes the waiters, or came before this read, which then sees the count at 0.
        self.answered_waited.store(true, Ordering::SeqCst);
        if self.live_responders.load(Ordering::SeqCst) == 0 {
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
