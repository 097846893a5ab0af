//! The waker the connection hands its actors, so that waking each other stays in the loop.
//!
//! The actors of one connection run in one future. When one of them wakes another (a handler
//! queues an answer for the outgoing actor, an answer completes the `main` future's request),
//! waking the task would send the whole connection back through the runtime's scheduler, and
//! on a multi-thread runtime that means a futex wake of an idle worker to steal it, once per
//! message. Instead, a wake that arrives while the connection is being polled only sets a
//! flag, and the poll loop goes round once more. A wake from outside (the transport, another
//! thread) while the loop is idle wakes the task as usual.
//!
//! Each part of the loop (an actor, the `main` future, the closing checks) has a waker of its
//! own that marks which part was woken, and a round polls only the parts marked since the
//! last: a part left idle costs nothing, where polling it would register its waker again
//! (locked instructions) with whatever it waits on.
//!
//! Locked instructions are much of what a round trip pays for (an uncontended locked add costs
//! 6 to 18 ns on the project's machine, a plain one under 1), so the loop avoids them where
//! it can:
//!
//! - A wake from the thread that is polling the connection right now (a handler queueing an
//!   answer, an answer reaching the `main` future) marks its part in a thread-local, not in
//!   the shared atomic: the loop reads those marks before it decides it is done.
//! - The task's waker is kept, not taken by the wake that uses it, and registered only when
//!   it changes (compared with the loop's own copy). The first one is read without a lock;
//!   only a connection that moved to another task pays a short lock per wake from outside.

use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicU8,
    Ordering::{Release, SeqCst},
};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Wake, Waker};

/// The parts of the poll loop a wake is for: bits of [`LoopWake`]'s marks.
pub(crate) mod part {
    /// The outgoing actor: frames were queued, or the queue closed.
    pub(crate) const OUTGOING: u8 = 1;
    /// The task actor: a task was spawned, or one it runs was woken.
    pub(crate) const TASKS: u8 = 1 << 1;
    /// The transport's driver.
    pub(crate) const DRIVER: u8 = 1 << 2;
    /// The incoming actor: input, room to read again, or what a handler waits on.
    pub(crate) const INCOMING: u8 = 1 << 3;
    /// The `main` future of `connect_with`.
    pub(crate) const MAIN: u8 = 1 << 4;
    /// None of the actors: something the closing checks look at changed.
    pub(crate) const CHECK: u8 = 1 << 5;
    /// Every part: the first round polls them all.
    pub(crate) const ALL: u8 = OUTGOING | TASKS | DRIVER | INCOMING | MAIN | CHECK;
}

thread_local! {
    /// The connection being polled on this thread (its `LoopWake`'s address, 0 for none) and
    /// the parts of it woken from this thread since its loop last looked.
    static POLLED_HERE: Cell<(usize, u8)> = const { Cell::new((0, 0)) };
}

/// Shared by the connection's poll loop and every waker it handed out.
pub(crate) struct LoopWake {
    /// The connection is inside its poll loop and will look at `woken` before it leaves.
    polling: AtomicBool,
    /// The parts woken from other threads and not yet polled since (bits of [`part`]).
    woken: AtomicU8,
    /// The waker of the first task to poll the connection, read without a lock.
    first_task: OnceLock<Waker>,
    /// Another task polled the connection since: wakes use `task` instead of `first_task`.
    moved: AtomicBool,
    /// The waker of the task polling the connection, once it is not the first.
    task: Mutex<Option<Waker>>,
}

impl Default for LoopWake {
    fn default() -> Self {
        LoopWake {
            polling: AtomicBool::new(false),
            woken: AtomicU8::new(part::ALL),
            first_task: OnceLock::new(),
            moved: AtomicBool::new(false),
            task: Mutex::new(None),
        }
    }
}

/// The waker of one part of the loop.
struct PartWaker {
    wake: Arc<LoopWake>,
    part: u8,
}

/// One poll of the connection, from [`LoopWake::enter`] to its drop: while it lives, wakes
/// from this thread are marked in the thread-local.
pub(crate) struct Entered<'a> {
    wake: &'a LoopWake,
    /// What the thread-local held before (a connection polled inside another's poll).
    outer: (usize, u8),
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let _ = POLLED_HERE.try_with(|here| {
            let (polled, marks) = here.replace(self.outer);
            // The loop can end a poll with marks it did not get to (it yields after so many
            // rounds): they go where the next poll looks, or those wakes would be lost.
            if polled == self.wake.address() && marks != 0 {
                self.wake.woken.fetch_or(marks, SeqCst);
            }
        });
    }
}

impl LoopWake {
    /// The waker to poll `part` with.
    pub(crate) fn waker(self: &Arc<Self>, part: u8) -> Waker {
        Waker::from(Arc::new(PartWaker {
            wake: Arc::clone(self),
            part,
        }))
    }

    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Runs `f` on this loop's marks in the thread-local, if this thread is polling it now.
    fn with_marks_here<T>(&self, f: impl FnOnce(&mut u8) -> T) -> Option<T> {
        POLLED_HERE
            .try_with(|here| {
                let (polled, mut marks) = here.get();
                if polled != self.address() {
                    return None;
                }
                let result = f(&mut marks);
                here.set((polled, marks));
                Some(result)
            })
            .ok()
            .flatten()
    }

    /// Wakes `part` of the loop: the connection's own queues call this directly, instead of
    /// keeping a copy of the waker each (registering one costs atomics on every poll).
    pub(crate) fn wake(&self, part: u8) {
        if self.with_marks_here(|marks| *marks |= part).is_some() {
            return;
        }
        self.woken.fetch_or(part, SeqCst);
        if self.polling.load(SeqCst) {
            return;
        }
        // A `moved` set before the loop's last `leave` is seen here: that store of `polling`
        // is the one just read (or an earlier one, and then the loop is still to look at
        // `woken`, which it will find set).
        if !self.moved.load(SeqCst) {
            if let Some(task) = self.first_task.get() {
                task.wake_by_ref();
            }
        } else if let Some(task) = &*self.lock_task() {
            // Under the lock: a waker schedules its task, it never polls it there and then.
            task.wake_by_ref();
        }
    }

    fn lock_task(&self) -> MutexGuard<'_, Option<Waker>> {
        // Replacing a waker cannot be left half done: poisoning can be ignored.
        self.task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Called at the start of each poll with the task's own waker and the loop's copy of the
    /// one it registered last (updated here when the task's waker changed). The poll lasts as
    /// long as what it returns.
    pub(crate) fn enter(&self, task: &Waker, registered: &mut Option<Waker>) -> Entered<'_> {
        if !registered.as_ref().is_some_and(|last| last.will_wake(task)) {
            *registered = Some(task.clone());
            if self.first_task.set(task.clone()).is_err() {
                *self.lock_task() = Some(task.clone());
                self.moved.store(true, SeqCst);
            }
        }
        let outer = POLLED_HERE
            .try_with(|here| here.replace((self.address(), 0)))
            .unwrap_or((0, 0));
        // No fence needed here (a plain store, where SeqCst would be a locked `xchg`): a
        // waker that still sees `false` wakes the task once too often, which is harmless;
        // one that sees `true` has set `woken` before, and `leave` orders against it.
        self.polling.store(true, Release);
        Entered { wake: self, outer }
    }

    /// The parts woken since the last call, forgotten: the round about to start polls them.
    pub(crate) fn take_woken(&self) -> u8 {
        // The marks made on this thread since the loop last looked, forgotten.
        let here = self.with_marks_here(std::mem::take).unwrap_or(0);
        // A plain load first: most rounds find nothing from other threads, and it costs no
        // locked instruction. A wake that lands after it is seen by `leave`.
        if self.woken.load(SeqCst) == 0 {
            return here;
        }
        here | self.woken.swap(0, SeqCst)
    }

    /// Called when the connection's loop is over: the task's waker is let go, so that a
    /// connection handle kept after the end does not keep the task's memory (the first one
    /// stays until the last handle goes; wakes no longer reach it).
    pub(crate) fn forget_task(&self) {
        self.lock_task().take();
        self.moved.store(true, SeqCst);
    }

    /// Called when the loop has nothing left to do. Returns true if a wake raced in, in which
    /// case the loop must go round again (it is still "polling").
    pub(crate) fn leave(&self) -> bool {
        // A wake during the round: go round again, still polling, with no store at all.
        let marked_here = self.with_marks_here(|marks| *marks != 0) == Some(true);
        if marked_here || self.woken.load(SeqCst) != 0 {
            return true;
        }
        self.polling.store(false, SeqCst);
        // A waker that stored `woken` before seeing `polling == false` did not wake the task;
        // this load sees its store (both sides are SeqCst), so the wake is not lost.
        if self.woken.load(SeqCst) != 0 {
            self.polling.store(true, SeqCst);
            return true;
        }
        false
    }
}

impl Wake for PartWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake.wake(self.part);
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

    /// A task's waker that counts its wakes.
    fn counted_task() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(Arc::clone(&count));
        (count, task)
    }

    #[test]
    fn a_wake_inside_the_loop_stays_in_the_loop_and_one_outside_wakes_the_task() {
        let (count, task) = counted_task();
        let shared = Arc::new(LoopWake::default());
        let waker = shared.waker(part::MAIN);
        let mut registered = None;

        let entered = shared.enter(&task, &mut registered);
        assert_eq!(
            shared.take_woken(),
            part::ALL,
            "the first round polls every part"
        );
        waker.wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 0, "no trip through the scheduler");
        assert!(shared.leave(), "the loop must go round again");
        assert_eq!(
            shared.take_woken(),
            part::MAIN,
            "for the part that was woken only"
        );
        // From another thread while the loop runs: the shared marks, still no task wake.
        std::thread::scope(|scope| {
            scope.spawn(|| waker.wake_by_ref());
        });
        assert_eq!(count.0.load(SeqCst), 0);
        assert!(shared.leave());
        assert_eq!(shared.take_woken(), part::MAIN);
        assert!(!shared.leave());
        drop(entered);

        waker.wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 1, "idle: the task itself is woken");
        let _entered = shared.enter(&task, &mut registered);
        assert_eq!(shared.take_woken(), part::MAIN);
        shared.wake(part::OUTGOING | part::CHECK);
        assert_eq!(shared.take_woken(), part::OUTGOING | part::CHECK);
        assert_eq!(shared.take_woken(), 0, "nothing twice");
    }

    #[test]
    fn marks_left_when_a_poll_ends_early_are_there_for_the_next_poll() {
        let (_count, task) = counted_task();
        let shared = Arc::new(LoopWake::default());
        let mut registered = None;

        let entered = shared.enter(&task, &mut registered);
        shared.take_woken();
        shared.wake(part::OUTGOING);
        // The loop yields (after its rounds) without taking the mark, and is polled again.
        drop(entered);
        let _entered = shared.enter(&task, &mut registered);
        assert_eq!(shared.take_woken(), part::OUTGOING, "the wake is not lost");
    }

    #[test]
    fn a_connection_polled_inside_another_keeps_the_marks_of_each_apart() {
        let (count, task) = counted_task();
        let (outer, inner) = (Arc::new(LoopWake::default()), Arc::new(LoopWake::default()));
        let (mut outer_registered, mut inner_registered) = (None, None);

        let outer_entered = outer.enter(&task, &mut outer_registered);
        outer.take_woken();
        outer.wake(part::MAIN);
        {
            let _inner_entered = inner.enter(&task, &mut inner_registered);
            inner.take_woken();
            inner.wake(part::OUTGOING);
            outer.wake(part::TASKS);
            assert_eq!(inner.take_woken(), part::OUTGOING, "only its own marks");
            assert!(!inner.leave());
        }
        assert!(outer.leave(), "the outer loop still has marks to look at");
        assert_eq!(outer.take_woken(), part::MAIN | part::TASKS);
        assert!(!outer.leave());
        drop(outer_entered);
        assert_eq!(
            count.0.load(SeqCst),
            0,
            "no wake went through the scheduler"
        );
    }

    #[test]
    fn the_same_task_is_registered_once_and_woken_by_every_wake_from_outside() {
        let (count, task) = counted_task();
        let shared = Arc::new(LoopWake::default());
        let mut registered = None;

        drop(shared.enter(&task, &mut registered));
        let held = Arc::strong_count(&count);
        for round in 1..=3 {
            let entered = shared.enter(&task, &mut registered);
            assert_eq!(
                Arc::strong_count(&count),
                held,
                "the same waker is not registered (cloned) again"
            );
            shared.take_woken();
            assert!(!shared.leave());
            drop(entered);
            shared.wake(part::INCOMING);
            assert_eq!(
                count.0.load(SeqCst),
                round,
                "each wake from outside wakes the task"
            );
        }

        let other = Arc::new(Count(AtomicUsize::new(0)));
        let entered = shared.enter(&Waker::from(Arc::clone(&other)), &mut registered);
        shared.take_woken();
        assert!(!shared.leave());
        drop(entered);
        shared.wake(part::MAIN);
        assert_eq!(
            (count.0.load(SeqCst), other.0.load(SeqCst)),
            (3, 1),
            "a new task's waker replaces the old one"
        );

        shared.forget_task();
        shared.wake(part::MAIN);
        assert_eq!(
            (count.0.load(SeqCst), other.0.load(SeqCst)),
            (3, 1),
            "nothing is woken once the loop is over"
        );
    }
}
