//! The waker the connection hands its actors, so that waking each other stays in the loop.
//!
//! The actors of one connection run in one future. When one of them wakes another (a handler
//! queues an answer for the outgoing actor, an answer completes the `main` future's request),
//! waking the task would send the whole connection back through the runtime's scheduler, and
//! on a multi-thread runtime that means a futex wake of an idle worker to steal it, once per
//! message. Instead, a wake that arrives while the connection is being polled only sets a
//! flag, and the poll loop goes round once more. A wake from outside (the transport, another
//! thread) while the loop is idle wakes the task as usual.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::{Wake, Waker};

use futures::task::AtomicWaker;

/// Shared by the connection's poll loop and every waker it handed out.
#[derive(Default)]
pub(crate) struct LoopWake {
    /// The connection is inside its poll loop and will look at `woken` before it leaves.
    polling: AtomicBool,
    woken: AtomicBool,
    task: AtomicWaker,
}

impl LoopWake {
    /// The waker to poll the actors with.
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// Wakes the loop: the connection's own queues call this directly, instead of keeping
    /// a copy of the waker each (registering one costs atomics on every poll).
    pub(crate) fn wake(&self) {
        self.woken.store(true, SeqCst);
        if !self.polling.load(SeqCst) {
            self.task.wake();
        }
    }

    /// Called at the start of each poll with the task's own waker.
    pub(crate) fn enter(&self, task: &Waker) {
        self.task.register(task);
        self.polling.store(true, SeqCst);
    }

    /// Forgets earlier wakes: called before a round that polls every actor anyway.
    pub(crate) fn clear_woken(&self) {
        // Most rounds find nothing to clear, and a load costs no locked instruction. A wake
        // that lands after a `false` here stays set, and costs at most one more round.
        if self.woken.load(SeqCst) {
            self.woken.store(false, SeqCst);
        }
    }

    /// Called when the loop has nothing left to do. Returns true if a wake raced in, in which
    /// case the loop must go round again (it is still "polling").
    pub(crate) fn leave(&self) -> bool {
        self.polling.store(false, SeqCst);
        // A waker that stored `woken` before seeing `polling == false` did not wake the task;
        // this load sees its store (both sides are SeqCst), so the wake is not lost.
        if self.woken.load(SeqCst) {
            self.polling.store(true, SeqCst);
            return true;
        }
        false
    }
}

impl Wake for LoopWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        LoopWake::wake(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_wake_inside_the_loop_stays_in_the_loop_and_one_outside_wakes_the_task() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(Arc::clone(&count));
        let shared = Arc::new(LoopWake::default());
        let waker = shared.waker();

        shared.enter(&task);
        waker.wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 0, "no trip through the scheduler");
        assert!(shared.leave(), "the loop must go round again");
        shared.clear_woken();
        assert!(!shared.leave());

        waker.wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 1, "idle: the task itself is woken");
    }
}
