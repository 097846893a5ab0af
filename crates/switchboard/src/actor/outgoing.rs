//! The outgoing actor: one FIFO of frames to the wire.
//!
//! Every frame this side sends (requests, notifications, answers) is serialized by the sender
//! and pushed onto one [`OutgoingQueue`], so what one task sends leaves in the order it was
//! sent. The actor takes everything queued at once, feeds it to the transport without flushing,
//! and flushes only when the queue has run dry: a burst of answers costs one write.
//!
//! Bounds and backpressure: the queue counts the bytes waiting in it. Requests and
//! notifications are refused once it holds `limit` bytes (the error tells the sender to await
//! [`ConnectionTo::writable`](crate::ConnectionTo::writable)). Answers are always accepted, so
//! a request is never left unanswered; instead the incoming actor does not dispatch the next
//! message until the queue is below half its limit. A peer that sends without reading our
//! answers is therefore slowed down (we stop reading) rather than buffered without limit.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::{Sink, SinkExt};

use crate::Error;

/// The default bound of the outgoing queue: 8 MiB of frames.
pub const DEFAULT_MAX_OUTGOING_BYTES: usize = 8 * 1024 * 1024;

struct State {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    closed: bool,
    /// The outgoing actor, when it waits for frames.
    consumer: Option<Waker>,
    /// Tasks waiting for room (the incoming actor, `writable()` callers).
    room_waiters: Vec<Waker>,
}

/// The bounded FIFO between every sender and the outgoing actor.
pub(crate) struct OutgoingQueue {
    state: Mutex<State>,
    limit: usize,
}

impl OutgoingQueue {
    pub(crate) fn new(limit: usize) -> Self {
        OutgoingQueue {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                bytes: 0,
                closed: false,
                consumer: None,
                room_waiters: Vec::new(),
            }),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so poisoning can be ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a request or notification; refused when the queue is full or closed.
    pub(crate) fn push(&self, frame: Vec<u8>) -> Result<(), Error> {
        self.push_inner(frame, false)
    }

    /// Queues an answer; refused only when the connection is closed.
    pub(crate) fn push_answer(&self, frame: Vec<u8>) -> Result<(), Error> {
        self.push_inner(frame, true)
    }

    fn push_inner(&self, frame: Vec<u8>, is_answer: bool) -> Result<(), Error> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::connection_closed("the connection is shutting down"));
        }
        if !is_answer && state.bytes >= self.limit {
            return Err(Error::outgoing_queue_full(self.limit));
        }
        state.bytes += frame.len();
        state.frames.push_back(frame);
        let consumer = state.consumer.take();
        drop(state);
        if let Some(consumer) = consumer {
            consumer.wake();
        }
        Ok(())
    }

    /// Ready once the queue is below half its limit (or closed).
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed || state.bytes < self.limit / 2 {
            return Poll::Ready(());
        }
        if !state
            .room_waiters
            .iter()
            .any(|waker| waker.will_wake(cx.waker()))
        {
            state.room_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Moves every queued frame into `batch`. `Ready(false)` means closed and empty: the end.
    fn poll_take(&self, cx: &mut Context<'_>, batch: &mut VecDeque<Vec<u8>>) -> Poll<bool> {
        let mut state = self.lock();
        if state.frames.is_empty() {
            if state.closed {
                return Poll::Ready(false);
            }
            state.consumer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        std::mem::swap(&mut state.frames, batch);
        state.bytes = 0;
        let waiters = std::mem::take(&mut state.room_waiters);
        drop(state);
        waiters.into_iter().for_each(Waker::wake);
        Poll::Ready(true)
    }

    fn is_empty(&self) -> bool {
        self.lock().frames.is_empty()
    }

    /// Refuses every later frame; the actor ends once it has written what is queued.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let consumer = state.consumer.take();
        let waiters = std::mem::take(&mut state.room_waiters);
        drop(state);
        consumer.into_iter().chain(waiters).for_each(Waker::wake);
    }
}

/// The transport's write half, as the outgoing actor sees it.
pub(crate) type FrameSink = Pin<Box<dyn Sink<Vec<u8>, Error = Error> + Send>>;

/// Writes queued frames until the queue is closed and empty, then closes the sink.
pub(crate) async fn run(queue: &OutgoingQueue, sink: &mut FrameSink) -> Result<(), Error> {
    let mut batch = VecDeque::new();
    while poll_fn(|cx| queue.poll_take(cx, &mut batch)).await {
        for frame in batch.drain(..) {
            sink.feed(frame).await?;
        }
        if queue.is_empty() {
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
        let queue = OutgoingQueue::new(10);
        queue.push(vec![0; 10]).unwrap();
        assert_eq!(
            queue.push(vec![0]).unwrap_err().code(),
            crate::error::codes::OUTGOING_QUEUE_FULL
        );
        queue.push_answer(vec![0]).unwrap();
        queue.close();
        assert!(
            queue
                .push_answer(vec![0])
                .unwrap_err()
                .is_connection_closed()
        );
    }

    #[test]
    fn frames_leave_in_the_order_they_were_queued() {
        let queue = OutgoingQueue::new(1000);
        for n in 0..5u8 {
            queue.push(vec![n]).unwrap();
        }
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut batch = VecDeque::new();
        assert_eq!(queue.poll_take(&mut cx, &mut batch), Poll::Ready(true));
        assert_eq!(
            batch.into_iter().flatten().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(queue.poll_room(&mut cx), Poll::Ready(()));
    }
}
