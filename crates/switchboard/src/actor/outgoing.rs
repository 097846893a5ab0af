//! The outgoing actor: one FIFO of frames to the wire.
//!
//! Every frame this side sends (requests, notifications, answers) is serialized by the sender
//! and appended to one [`OutgoingQueue`], so what one task sends leaves in the order it was
//! sent. The queue is one [`FrameBatch`]: frames encoded back to back with the transport's
//! [`Framing`] (newline, `Content-Length`, or none for a transport that carries whole
//! messages), as they will go on the wire. The actor takes the whole batch at once by swapping
//! it with its own, hands it to the transport's [`FrameSink`] (a byte transport writes it in
//! one write), and flushes only when the queue has run dry: a burst of answers costs one write
//! and no per-frame allocation.
//!
//! Bounds and backpressure: the queue counts the bytes waiting in it, and the bytes the actor
//! has taken but not yet written. Requests and
//! notifications are refused once it holds `limit` bytes (the error tells the sender to await
//! [`ConnectionTo::writable`](crate::ConnectionTo::writable)). Answers are always accepted, so
//! a request is never left unanswered; instead, by default, the incoming actor does not
//! dispatch the next message until the queue is below half its limit. A peer that sends
//! without reading our answers is therefore slowed down (we stop reading) rather than
//! buffered without limit.
//!
//! That pause is a wait on the peer: only its reading drains this queue. Two peers that both
//! pause while each one's queue is backed up, and whose handlers write what they read, wait
//! for each other for ever. A forwarder in the middle of such a cycle (the conductor, towards
//! its proxies) turns the pause off with [`PauseReading::Never`] and bounds its traffic by
//! waits that lead out of the cycle instead ([`ConnectionTo::queued_below`]).
//!
//! [`ConnectionTo::queued_below`]: crate::ConnectionTo::queued_below

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::wake::{LoopWake, part};
use crate::Error;
use crate::transport::seam::{FrameDirection, FrameTap};
use crate::transport::sink::FrameSink;
use crate::wire::Framing;
use crate::wire::framing::batch::FrameBatch;

/// The default bound of the outgoing queue: 8 MiB of frames.
pub const DEFAULT_MAX_OUTGOING_BYTES: usize = 8 * 1024 * 1024;

/// A buffer larger than this is not kept for reuse after a burst, so an idle connection does
/// not hold on to its peak.
const RETAINED_CAPACITY: usize = 256 * 1024;

/// When a connection stops reading because its own outgoing queue is backed up (see
/// [`Builder::pause_reading`](crate::Builder::pause_reading)).
///
/// The pause is backpressure on a peer that sends without reading what it is sent: while
/// our queue is backed up, nothing more is read, so the peer's writes block and it slows
/// down. It is also a wait on that peer, and a wait that can be part of a cycle: see the
/// Guarantees chapter of the book, "No deadlock through forwarders".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseReading {
    /// While the queue holds half of [`max_outgoing_bytes`](crate::Builder::max_outgoing_bytes)
    /// or more (the default).
    #[default]
    AtHalfTheLimit,
    /// While the queue holds at least this many bytes.
    AtBytes(usize),
    /// Never because of this queue. For a forwarder whose peer only sends what the forwarder
    /// gave it (a conductor's proxies): pausing there would wait on a peer that waits on us.
    /// What such a peer sends is bounded by the waits the forwarder puts where the traffic
    /// enters, and the queue's limit still refuses sends beyond it.
    Never,
}

struct State {
    /// Queued frames, encoded.
    frames: FrameBatch,
    /// How frames are encoded: the transport's framing, set when the connection starts.
    framing: Framing,
    /// Bytes the actor has taken and not yet written: they still count against the limit.
    in_flight: usize,
    closed: bool,
    /// The outgoing actor waits for frames (it runs in the connection's poll loop).
    consumer_waiting: bool,
    /// Tasks waiting for the queue to drain below a number of bytes (the incoming actor,
    /// `writable()` and `queued_below()` callers).
    room_waiters: Vec<(usize, Waker)>,
}

impl State {
    fn used(&self) -> usize {
        self.frames.len() + self.in_flight
    }
}

/// The bounded FIFO between every sender and the outgoing actor.
pub(crate) struct OutgoingQueue {
    state: Mutex<State>,
    /// `State::used()` as of the last change, so the incoming actor's check before every
    /// message ("is there room?") needs no lock while the queue is far from full.
    used: AtomicUsize,
    limit: usize,
    /// The incoming actor reads while fewer bytes than this are queued (`None`: always).
    pause_at: Option<usize>,
    /// `State::consumer_waiting`, readable without the lock: while it is set, nothing was
    /// queued since the actor last found the queue empty, so looking again needs no lock.
    /// Set and cleared only with the lock held; a push clears it before it wakes the actor.
    /// Relaxed throughout (plain moves, where SeqCst stores are locked `xchg`s): the actor
    /// sets and reads it on its own, and a push's clearing reaches the actor through the wake
    /// that follows it (a SeqCst read-modify-write the loop reads before it polls the actor).
    consumer_idle: AtomicBool,
    wake: Arc<LoopWake>,
}

impl OutgoingQueue {
    pub(crate) fn new(limit: usize, pause: PauseReading, wake: Arc<LoopWake>) -> Self {
        let limit = limit.max(1);
        let pause_at = match pause {
            PauseReading::AtHalfTheLimit => Some(limit.div_ceil(2)),
            PauseReading::AtBytes(bytes) => Some(bytes.max(1)),
            PauseReading::Never => None,
        };
        OutgoingQueue {
            state: Mutex::new(State {
                frames: FrameBatch::default(),
                framing: Framing::default(),
                in_flight: 0,
                closed: false,
                consumer_waiting: false,
                room_waiters: Vec::new(),
            }),
            used: AtomicUsize::new(0),
            limit,
            pause_at,
            consumer_idle: AtomicBool::new(false),
            wake,
        }
    }

    /// The bytes queued and being written.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Below this there is room again. Rounded up, so a limit of 1 still has room when empty.
    fn half(&self) -> usize {
        self.limit.div_ceil(2)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so poisoning can be ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Encodes every frame from now on with `framing` (the transport's), before any is queued.
    pub(crate) fn use_framing(&self, framing: Framing) {
        self.lock().framing = framing;
    }

    /// Queues a request or notification; refused when the queue is full or closed.
    pub(crate) fn push(&self, frame: &[u8]) -> Result<(), Error> {
        self.push_inner(frame, false)
    }

    /// Queues an answer; refused only when the connection is closed.
    pub(crate) fn push_answer(&self, frame: &[u8]) -> Result<(), Error> {
        self.push_inner(frame, true)
    }

    fn push_inner(&self, frame: &[u8], is_answer: bool) -> Result<(), Error> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::connection_closed("the connection is shutting down"));
        }
        if !is_answer && state.used() >= self.limit {
            return Err(Error::outgoing_queue_full(self.limit));
        }
        let framing = state.framing;
        state.frames.push(framing, frame);
        self.used.store(state.used(), Ordering::Release);
        let waiting = self.take_consumer_waiting(&mut state);
        drop(state);
        if waiting {
            self.wake.wake(part::OUTGOING);
        }
        Ok(())
    }

    /// Ready once the queue is below half its limit (or closed).
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_below(self.half(), cx)
    }

    /// Ready while the incoming actor may read: the queue is below the pause (or closed), or
    /// reading never pauses.
    pub(crate) fn poll_may_read(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.pause_at {
            Some(bytes) => self.poll_below(bytes, cx),
            None => Poll::Ready(()),
        }
    }

    /// Ready once fewer than `bytes` are queued (or the queue is closed).
    pub(crate) fn poll_below(&self, bytes: usize, cx: &mut Context<'_>) -> Poll<()> {
        // A stale reading is harmless: a frame queued since is waited for at the next message,
        // and a false "full" takes the lock below to look again.
        if self.used.load(Ordering::Acquire) < bytes {
            return Poll::Ready(());
        }
        let mut state = self.lock();
        if state.closed || state.used() < bytes {
            return Poll::Ready(());
        }
        if !state
            .room_waiters
            .iter()
            .any(|(below, waker)| *below == bytes && waker.will_wake(cx.waker()))
        {
            state.room_waiters.push((bytes, cx.waker().clone()));
        }
        Poll::Pending
    }

    /// Swaps every queued frame into `batch` (which must be empty). `Ready(false)` means closed
    /// and empty: the end.
    fn poll_take(&self, batch: &mut FrameBatch) -> Poll<bool> {
        debug_assert!(batch.is_empty());
        // The connection polls every actor on each round; an idle queue is told apart
        // without the lock. A push racing with this clears the flag and then wakes the loop,
        // which comes back here.
        if self.consumer_idle.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        let mut state = self.lock();
        if state.frames.is_empty() {
            if state.closed {
                return Poll::Ready(false);
            }
            state.consumer_waiting = true;
            self.consumer_idle.store(true, Ordering::Relaxed);
            return Poll::Pending;
        }
        std::mem::swap(&mut state.frames, batch);
        state.in_flight = batch.len();
        Poll::Ready(true)
    }

    /// The batch taken last is written: its bytes no longer count. True if nothing is queued.
    fn written(&self) -> bool {
        let mut state = self.lock();
        state.in_flight = 0;
        self.used.store(state.used(), Ordering::Release);
        let used = state.used();
        let mut waiters = Vec::new();
        state.room_waiters.retain(|(below, waker)| {
            let ready = used < *below;
            if ready {
                waiters.push(waker.clone());
            }
            !ready
        });
        let empty = state.frames.is_empty();
        if empty && !state.closed {
            // The actor will look for frames again right after flushing: say now, under this
            // lock, that it waits, so that look needs no lock of its own.
            state.consumer_waiting = true;
            self.consumer_idle.store(true, Ordering::Relaxed);
        }
        drop(state);
        waiters.into_iter().for_each(Waker::wake);
        empty
    }

    /// Whether the actor waited for frames (it no longer does: the caller wakes it).
    fn take_consumer_waiting(&self, state: &mut State) -> bool {
        let waiting = std::mem::take(&mut state.consumer_waiting);
        if waiting {
            self.consumer_idle.store(false, Ordering::Relaxed);
        }
        waiting
    }

    /// Refuses every later frame; the actor ends once it has written what is queued.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let waiting = self.take_consumer_waiting(&mut state);
        let waiters = std::mem::take(&mut state.room_waiters);
        drop(state);
        if waiting {
            self.wake.wake(part::OUTGOING);
        }
        waiters.into_iter().for_each(|(_, waker)| waker.wake());
    }
}

/// Writes queued frames until the queue is closed and empty, then closes the sink.
pub(crate) async fn run(
    queue: &OutgoingQueue,
    sink: &mut FrameSink,
    tap: Option<FrameTap>,
) -> Result<(), Error> {
    let mut batch = FrameBatch::default();
    while poll_fn(|_| queue.poll_take(&mut batch)).await {
        if let Some(tap) = &tap {
            for message in batch.messages() {
                tap(FrameDirection::Sent, message);
            }
        }
        let wrote = sink.send(&batch).await;
        // Even after a failure: the bytes are gone either way, and waiters must not hang.
        let drained = queue.written();
        wrote?;
        batch.clear(RETAINED_CAPACITY);
        if drained {
            sink.flush().await?;
        }
    }
    sink.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_refused_when_full_but_answers_are_not() {
        let queue = OutgoingQueue::new(10, PauseReading::default(), Arc::default());
        queue.push(&[b'x'; 10]).unwrap();
        assert_eq!(
            queue.push(b"y").unwrap_err().code(),
            crate::error::codes::OUTGOING_QUEUE_FULL
        );
        queue.push_answer(b"z").unwrap();
        queue.close();
        assert!(queue.push_answer(b"z").unwrap_err().is_connection_closed());
    }

    #[test]
    fn frames_leave_in_the_order_they_were_queued() {
        let queue = OutgoingQueue::new(1000, PauseReading::default(), Arc::default());
        for n in 0..5u8 {
            queue.push(&[b'0' + n]).unwrap();
        }
        let mut batch = FrameBatch::default();
        assert_eq!(queue.poll_take(&mut batch), Poll::Ready(true));
        assert_eq!(batch.bytes(), b"0\n1\n2\n3\n4\n");
    }

    #[test]
    fn frames_are_encoded_with_the_transports_framing_and_counted_as_such() {
        let queue = OutgoingQueue::new(1000, PauseReading::default(), Arc::default());
        queue.use_framing(Framing::ContentLength);
        queue.push(b"{}").unwrap();
        assert_eq!(queue.used(), b"Content-Length: 2\r\n\r\n{}".len());
        let mut batch = FrameBatch::default();
        assert_eq!(queue.poll_take(&mut batch), Poll::Ready(true));
        assert_eq!(batch.bytes(), b"Content-Length: 2\r\n\r\n{}");
    }

    #[test]
    fn a_limit_of_one_byte_still_has_room_when_empty() {
        let queue = OutgoingQueue::new(1, PauseReading::default(), Arc::default());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(queue.poll_room(&mut cx), Poll::Ready(()));
        queue.push(b"x").unwrap();
        assert_eq!(queue.poll_room(&mut cx), Poll::Pending);
    }

    #[test]
    fn bytes_being_written_still_count_against_the_limit() {
        let queue = OutgoingQueue::new(20, PauseReading::default(), Arc::default());
        queue.push(&[b'x'; 15]).unwrap();
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut batch = FrameBatch::default();
        assert_eq!(queue.poll_take(&mut batch), Poll::Ready(true));
        // Taken but not written: the queue is empty, yet the room is not back.
        queue.push(&[b'y'; 5]).unwrap();
        assert_eq!(
            queue.push(b"z").unwrap_err().code(),
            crate::error::codes::OUTGOING_QUEUE_FULL
        );
        assert_eq!(queue.poll_room(&mut cx), Poll::Pending);
        assert!(!queue.written());
        assert_eq!(queue.poll_room(&mut cx), Poll::Ready(()));
        queue.push(b"z").unwrap();
    }

    #[test]
    fn reading_pauses_where_the_policy_says() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let at_bytes = OutgoingQueue::new(100, PauseReading::AtBytes(10), Arc::default());
        let never = OutgoingQueue::new(100, PauseReading::Never, Arc::default());
        for queue in [&at_bytes, &never] {
            queue.push(&[b'x'; 20]).unwrap();
            // Below half the limit: a writer has room either way.
            assert_eq!(queue.poll_room(&mut cx), Poll::Ready(()));
        }
        assert_eq!(at_bytes.poll_may_read(&mut cx), Poll::Pending);
        assert_eq!(never.poll_may_read(&mut cx), Poll::Ready(()));
        never.push(&[b'x'; 80]).unwrap();
        assert_eq!(never.poll_may_read(&mut cx), Poll::Ready(()));
        // The limit still refuses sends.
        assert!(never.push(b"y").is_err());
    }

    #[test]
    fn a_waiter_for_a_lower_mark_is_woken_only_below_it() {
        let queue = OutgoingQueue::new(100, PauseReading::default(), Arc::default());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        queue.push(&[b'x'; 30]).unwrap();
        assert_eq!(queue.poll_below(10, &mut cx), Poll::Pending);
        let mut batch = FrameBatch::default();
        assert_eq!(queue.poll_take(&mut batch), Poll::Ready(true));
        queue.push(&[b'y'; 19]).unwrap();
        queue.written();
        assert_eq!(
            queue.lock().room_waiters.len(),
            1,
            "20 bytes are still queued"
        );
        assert_eq!(queue.poll_below(21, &mut cx), Poll::Ready(()));
    }
}
