//! A one-way flag that futures can wait on: set once, never cleared.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

/// Set once (the input ended, say); every waiter, earlier or later, then sees it set.
#[derive(Default)]
pub(crate) struct Latch {
    set: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

impl Latch {
    /// Sets the latch and wakes everyone waiting. Setting it again does nothing.
    pub(crate) fn set(&self) {
        if self.set.swap(true, Ordering::AcqRel) {
            return;
        }
        let waiters = std::mem::take(&mut *self.lock());
        waiters.into_iter().for_each(Waker::wake);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Ready once the latch is set.
    pub(crate) fn poll_set(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_set() {
            return Poll::Ready(());
        }
        let mut waiters = self.lock();
        // Checked again under the lock: `set` takes the waiters under it after setting.
        if self.is_set() {
            return Poll::Ready(());
        }
        if !waiters.iter().any(|waiter| waiter.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        // A list of wakers cannot be left half-updated, so poisoning can be ignored.
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::future::poll_fn;

    #[test]
    fn waiters_before_and_after_the_set_see_it() {
        let latch = std::sync::Arc::new(Latch::default());
        let mut early = Box::pin(poll_fn({
            let latch = std::sync::Arc::clone(&latch);
            move |cx| latch.poll_set(cx)
        }));
        assert!(early.as_mut().now_or_never().is_none());
        latch.set();
        latch.set();
        assert!(early.now_or_never().is_some());
        assert!(poll_fn(|cx| latch.poll_set(cx)).now_or_never().is_some());
    }
}
