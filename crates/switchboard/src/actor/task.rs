//! The task actor: futures started with `ConnectionTo::spawn`.
//!
//! Spawned futures run inside the connection's own future (no runtime is needed), next to the
//! dispatch loop but outside it: they may await answers with `block_task()`.
//!
//! A spawned future that fails or panics is one piece of work gone wrong, not the connection:
//! the failure is logged with the connection's name, a request the task owed (its responder,
//! dropped as the task ended) is answered with the task's error, and the connection carries on
//! with its other requests and sessions. A task started with `spawn_critical` is the
//! exception its author asked for: its failure ends the connection with that error.

use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use std::pin::Pin;
use std::task::Context;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::scope::poll_task;
use super::wake::{LoopWake, part};
use crate::Error;
use crate::responder::ResponderCore;

/// A spawned future, and what its failure means.
struct Task {
    future: BoxFuture<'static, Result<(), Error>>,
    /// Its failure ends the connection (`spawn_critical`).
    critical: bool,
    /// Counted against the limit of running tasks until it ends.
    counted: Option<Arc<Running>>,
}

/// Futures waiting to be picked up by the task actor.
pub(crate) struct TaskQueue {
    /// The connection's id and name: whose responders a task may leave, and for the log.
    connection: u64,
    name: Option<Arc<str>>,
    /// Handed over at the actor's next poll; it holds only what was spawned since then.
    new: Mutex<Vec<Task>>,
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
    pub(crate) fn new(
        connection: u64,
        name: Option<Arc<str>>,
        wake: Arc<LoopWake>,
        limit: usize,
    ) -> Self {
        TaskQueue {
            connection,
            name,
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
    fn take_new(&self) -> Vec<Task> {
        // Looked at on every round of the connection: a plain load while nothing is new. A
        // spawn racing with it sets the flag and then wakes the loop, which comes back here.
        if !self.has_new.load(Ordering::Acquire) || !self.has_new.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Task>> {
        self.new
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Spawns a handler's task: counted against the limit; its failure is logged and the
    /// connection carries on.
    pub(crate) fn spawn(&self, task: impl Future<Output = Result<(), Error>> + Send + 'static) {
        self.push_counted(task, false);
    }

    /// Spawns a task whose failure ends the connection.
    pub(crate) fn spawn_critical(
        &self,
        task: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        self.push_counted(task, true);
    }

    fn push_counted(
        &self,
        task: impl Future<Output = Result<(), Error>> + Send + 'static,
        critical: bool,
    ) {
        self.running.count.fetch_add(1, Ordering::AcqRel);
        self.push(Task {
            future: Box::pin(task),
            critical,
            counted: Some(Arc::clone(&self.running)),
        });
    }

    fn push(&self, task: Task) {
        self.lock().push(task);
        self.has_new.store(true, Ordering::Release);
        self.wake.wake(part::TASKS);
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
        self.push(Task {
            future: Box::pin(task.map(Ok)),
            critical: false,
            counted: None,
        });
    }

    /// Spawns a future that is owed to someone (an answer callback, a delivery): it cannot
    /// fail, and the connection waits for it before it closes.
    pub(crate) fn spawn_owed(&self, task: BoxFuture<'static, ()>) {
        self.owed.fetch_add(1, Ordering::AcqRel);
        // Paid off however the future ends: done, panicked, or dropped with the connection.
        let paid = Owed {
            owed: Arc::clone(&self.owed),
            wake: Arc::clone(&self.wake),
        };
        self.spawn(async move {
            let _paid = paid;
            task.await;
            Ok(())
        });
    }
}

/// One owed future still to run; dropping it pays the debt.
struct Owed {
    owed: Arc<AtomicUsize>,
    wake: Arc<LoopWake>,
}

impl Drop for Owed {
    fn drop(&mut self) {
        if self.owed.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake.wake(part::CHECK);
        }
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
            self.wake.wake(part::INCOMING);
        }
    }
}

/// Runs spawned futures until a critical one fails; never returns otherwise.
pub(crate) async fn run(queue: &TaskQueue) -> Error {
    let mut running = FuturesUnordered::new();
    poll_fn(|cx| {
        loop {
            for task in queue.take_new() {
                running.push(Supervised {
                    task,
                    connection: queue.connection,
                    name: queue.name.clone(),
                });
            }
            // Polling an empty set would still register the waker (locked instructions on
            // every round); a new task wakes the loop through the queue instead.
            if running.is_empty() {
                if !queue.has_new.load(Ordering::Acquire) {
                    return Poll::Pending;
                }
                continue;
            }
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some(None)) => continue,
                Poll::Ready(Some(Some(fatal))) => return Poll::Ready(fatal),
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

/// One spawned task as the actor runs it: polled inside a task scope, so the responders it
/// drops unanswered are answered with its error; a failure is reported, and ends the
/// connection only if the task is critical (then the output is that error).
struct Supervised {
    task: Task,
    connection: u64,
    name: Option<Arc<str>>,
}

impl Future for Supervised {
    type Output = Option<Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Error>> {
        let this = self.get_mut();
        let (poll, orphans) = poll_task(this.connection, this.task.future.as_mut(), cx);
        // The error owed requests are answered with, and what the log and a fatal end say.
        let failure = match poll {
            Ok(Poll::Pending) => {
                answer(orphans, None);
                return Poll::Pending;
            }
            Ok(Poll::Ready(Ok(()))) => None,
            Ok(Poll::Ready(Err(error))) => {
                let what = format!("failed: {}", error.message());
                Some((error, what))
            }
            Err(panic) => {
                let message = panic_message(&*panic);
                let owed = Error::internal_error(format_args!(
                    "the task answering this request panicked: {message}"
                ));
                Some((owed, format!("panicked: {message}")))
            }
        };
        answer(orphans, failure.as_ref().map(|(owed, _)| owed));
        if let Some(running) = this.task.counted.take() {
            running.finished();
        }
        let Some((_, what)) = failure else {
            return Poll::Ready(None);
        };
        let connection = this.name.as_deref().unwrap_or("(unnamed)");
        if this.task.critical {
            tracing::error!(connection, "a critical task {what}; ending the connection");
            return Poll::Ready(Some(Error::new(
                crate::error::codes::TASK_FAILED,
                format!("a critical task {what}"),
            )));
        }
        tracing::error!(
            connection,
            "a spawned task {what}; its requests were answered with the error, and the \
             connection carries on"
        );
        Poll::Ready(None)
    }
}

/// Answers what a task left unanswered: with the task's error if it failed, else -32603 (or
/// -32800 for a cancelled request).
fn answer(orphans: Vec<ResponderCore>, failure: Option<&Error>) {
    for orphan in orphans {
        let error = failure
            .cloned()
            .unwrap_or_else(|| orphan.unanswered_error());
        let _ = orphan.send_error(&error);
    }
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
