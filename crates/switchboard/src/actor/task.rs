//! The task actor: futures started with `ConnectionTo::spawn`.
//!
//! Spawned futures run inside the connection's own future (no runtime is needed), next to the
//! dispatch loop but outside it: they may await answers with `block_task()`. A spawned future
//! that fails or panics ends the connection with that error, since whatever it was doing is
//! now half done.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::wake::LoopWake;
use crate::Error;

/// Futures waiting to be picked up by the task actor.
pub(crate) struct TaskQueue {
    /// Handed over at the actor's next poll; it holds only what was spawned since then.
    new: Mutex<Vec<BoxFuture<'static, Result<(), Error>>>>,
    /// Set while `new` may hold tasks, so the actor's poll skips the lock when nothing was
    /// spawned (the common case: it is polled on every round of the connection's loop).
    has_new: AtomicBool,
    /// The connection's poll loop, which runs the task actor.
    wake: Arc<LoopWake>,
    /// The handlers' tasks running, against their limit.
    running: Arc<Running>,
    /// Owed futures (answer callbacks, deliveries) spawned and not finished: the connection
    /// does not close while there are any.
    owed: Arc<AtomicUsize>,
}

impl TaskQueue {
    pub(crate) fn new(wake: Arc<LoopWake>, limit: usize) -> Self {
        TaskQueue {
            new: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            wake: Arc::clone(&wake),
            running: Arc::new(Running {
                count: AtomicUsize::new(0),
                limit: limit.max(1),
                reader_waiting: AtomicBool::new(false),
                wake,
            }),
            owed: Arc::default(),
        }
    }

    /// Whether every owed future has run.
    pub(crate) fn owed_done(&self) -> bool {
        self.owed.load(Ordering::Acquire) == 0
    }

    /// How many spawned tasks are running.
    pub(crate) fn running(&self) -> usize {
        self.running.count.load(Ordering::Acquire)
    }

    /// Ready while fewer than the limit of spawned tasks are running. Only the incoming
    /// actor asks, from the connection's loop; it is woken when a task finishes.
    pub(crate) fn poll_room(&self) -> Poll<()> {
        let running = &self.running;
        if running.count.load(Ordering::Acquire) < running.limit {
            return Poll::Ready(());
        }
        running.reader_waiting.store(true, Ordering::Release);
        Poll::Pending
    }

    /// Takes the tasks spawned since the last call.
    fn take_new(&self) -> Vec<BoxFuture<'static, Result<(), Error>>> {
        if !self.has_new.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<BoxFuture<'static, Result<(), Error>>>> {
        self.new
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn spawn(&self, task: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.running.count.fetch_add(1, Ordering::AcqRel);
        let running = Arc::clone(&self.running);
        self.push(async move {
            let outcome = task.await;
            running.finished();
            outcome
        });
    }

    fn push(&self, task: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.lock().push(Box::pin(task));
        self.has_new.store(true, Ordering::Release);
        self.wake.wake();
    }

    /// Drops every task not yet started: they hold clones of the connection, which must not
    /// outlive it.
    pub(crate) fn clear(&self) {
        // Taken out first, so the lock is released before the futures are dropped.
        let tasks = std::mem::take(&mut *self.lock());
        drop(tasks);
    }

    /// Spawns a future of the connection's own housekeeping (a request's timeout timer): it
    /// does not count against the limit of running tasks, which is for handlers' work.
    pub(crate) fn spawn_uncounted(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.push(task.map(Ok));
    }

    /// Spawns a future that is owed to someone (an answer callback, a delivery): it cannot
    /// fail, and the connection waits for it before it closes.
    pub(crate) fn spawn_owed(&self, task: BoxFuture<'static, ()>) {
        self.owed.fetch_add(1, Ordering::AcqRel);
        let owed = Arc::clone(&self.owed);
        let wake = Arc::clone(&self.wake);
        self.spawn(async move {
            task.await;
            if owed.fetch_sub(1, Ordering::AcqRel) == 1 {
                wake.wake();
            }
            Ok(())
        });
    }
}

/// How many of the handlers' tasks run, against the limit that pauses reading.
struct Running {
    count: AtomicUsize,
    limit: usize,
    /// The incoming actor waits for `count` to drop below `limit`.
    reader_waiting: AtomicBool,
    wake: Arc<LoopWake>,
}

impl Running {
    /// A task ended; the reader, if it waits for room, is woken once there is some.
    fn finished(&self) {
        let before = self.count.fetch_sub(1, Ordering::AcqRel);
        if before <= self.limit && self.reader_waiting.swap(false, Ordering::AcqRel) {
            self.wake.wake();
        }
    }
}

/// Runs spawned futures until one fails; never returns otherwise.
pub(crate) async fn run(queue: &TaskQueue) -> Error {
    let mut running = FuturesUnordered::new();
    poll_fn(|cx| {
        loop {
            for task in queue.take_new() {
                running.push(AssertUnwindSafe(task).catch_unwind());
            }
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(Ok(())))) => continue,
                Poll::Ready(Some(Ok(Err(error)))) => {
                    return Poll::Ready(Error::new(
                        crate::error::codes::TASK_FAILED,
                        format!("a spawned task failed: {}", error.message()),
                    ));
                }
                Poll::Ready(Some(Err(panic))) => {
                    return Poll::Ready(Error::new(
                        crate::error::codes::TASK_FAILED,
                        format!("a spawned task panicked: {}", panic_message(&*panic)),
                    ));
                }
                // Empty, or every task waits: wait for a wake-up or a new task.
                Poll::Ready(None) | Poll::Pending => {
                    if !queue.has_new.load(Ordering::Acquire) {
                        return Poll::Pending;
                    }
                }
            }
        }
    })
    .await
}

/// The text a panic was raised with, when it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}
