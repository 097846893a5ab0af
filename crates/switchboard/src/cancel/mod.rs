//! Cancelling requests: the protocol's convention ([`Cancellation`]) and what this side
//! remembers of the cancellations its peer sent.
//!
//! The core names no cancel notification: a protocol declares its own (ACP's
//! `$/cancel_request`, LSP's `$/cancelRequest`, MCP's `notifications/cancelled`), and
//! [`Cancellation`] says what the connection then does on each side.
//!
//! Sending side: a [`SentRequest`](crate::SentRequest) that is cancelled, dropped unconsumed,
//! or whose `block_task()` future is dropped before the answer, tells the peer (unless it was
//! detached). The answer, if it still comes, is dropped.
//!
//! Receiving side: the incoming actor takes the notification itself (handlers do not see it)
//! and marks the request. Its [`Responder`](crate::Responder) can ask `is_cancelled()` or wait
//! for `cancelled()`; a cancelled request whose handler drops the responder unanswered is
//! answered -32800 instead of -32603. A handler that answers anyway is free to: the peer gets
//! that answer, unless the convention says no answer follows a cancellation.
//!
//! When the peer ends its input, every request still being handled is cancelled the same way
//! once the connection's input-end grace is over (see `Builder::input_end_grace`): the peer
//! can no longer cancel anything itself, and work waiting on it must learn that.
//!
//! Cancellations are remembered only while they may matter: until the request is answered,
//! and never more than [`REMEMBERED`] at once (a peer cancelling ids it never sent cannot make
//! this grow). While there are none, checking costs one atomic load.

mod convention;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::message::RequestId;

pub use convention::Cancellation;

/// How long a request sent on for one that was cancelled (`forward_response_to`) waits for
/// the next hop's answer to the cancellation before it is answered -32800 without it: 2 s.
pub const FORWARDED_CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// At most this many cancellations are remembered; the oldest is forgotten first.
pub const REMEMBERED: usize = 4096;

/// What is waiting on the cancellation of one request being handled.
#[derive(Default)]
struct Watch {
    /// Tasks in `Responder::cancelled()`, each under the token its future holds, so a
    /// future that is dropped takes its waker with it.
    wakers: Vec<(u64, Waker)>,
    /// Requests sent on for this one (`forward_response_to`): cancelling it cancels them.
    forwarded: Vec<Box<dyn FnOnce() + Send>>,
}

#[derive(Default)]
struct State {
    cancelled: HashSet<RequestId>,
    /// Arrival order of `cancelled`, to forget the oldest first.
    order: VecDeque<RequestId>,
    /// Per request: who waits for its cancellation. An entry goes when the request is
    /// answered or cancelled, or when its last waiter is dropped: nothing registered for a
    /// request outlives it.
    watching: HashMap<RequestId, Watch>,
    next_token: u64,
}

/// The cancellations the peer sent for requests this side is handling.
#[derive(Default)]
pub(crate) struct Cancellations {
    state: Mutex<State>,
    /// Every request is cancelled: the peer ended its input and the grace is over.
    all: std::sync::atomic::AtomicBool,
    /// Entries in `cancelled` plus `watching`: zero means there is nothing to look up.
    entries: AtomicUsize,
}

impl Cancellations {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so poisoning can be ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, state: &State) {
        self.entries.store(
            state.cancelled.len() + state.watching.len(),
            Ordering::Release,
        );
    }

    /// The peer cancelled request `id`: its waiters wake, and what was sent on for it is
    /// cancelled too.
    pub(crate) fn cancel(&self, id: RequestId) {
        let mut state = self.lock();
        let watch = state.watching.remove(&id).unwrap_or_default();
        if state.cancelled.insert(id.clone()) {
            state.order.push_back(id);
            while state.order.len() > REMEMBERED {
                if let Some(oldest) = state.order.pop_front() {
                    state.cancelled.remove(&oldest);
                }
            }
        }
        self.publish(&state);
        drop(state);
        watch.wakers.into_iter().for_each(|(_, waker)| waker.wake());
        watch.forwarded.into_iter().for_each(|cancel| cancel());
    }

    pub(crate) fn is_cancelled(&self, id: &RequestId) -> bool {
        self.all.load(Ordering::Acquire)
            || (self.entries.load(Ordering::Acquire) > 0 && self.lock().cancelled.contains(id))
    }

    /// Cancels every request being handled, and any that might come: the peer is gone.
    pub(crate) fn cancel_all(&self) {
        let mut state = self.lock();
        self.all.store(true, Ordering::Release);
        let watching = std::mem::take(&mut state.watching);
        self.publish(&state);
        drop(state);
        for (_, watch) in watching {
            watch.wakers.into_iter().for_each(|(_, waker)| waker.wake());
            watch.forwarded.into_iter().for_each(|cancel| cancel());
        }
    }

    /// Ready once request `id` is cancelled. `token` identifies the caller's registration
    /// across polls; give it to [`unwatch`](Self::unwatch) when the caller stops waiting.
    pub(crate) fn poll_cancelled(
        &self,
        id: &RequestId,
        token: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut state = self.lock();
        if state.cancelled.contains(id) || self.all.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let mine = match *token {
            Some(mine) => mine,
            None => {
                let next = state.next_token;
                state.next_token += 1;
                *token = Some(next);
                next
            }
        };
        let watch = state.watching.entry(id.clone()).or_default();
        match watch.wakers.iter_mut().find(|(other, _)| *other == mine) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => watch.wakers.push((mine, cx.waker().clone())),
        }
        self.publish(&state);
        Poll::Pending
    }

    /// The waiter `token` on request `id` stopped waiting.
    pub(crate) fn unwatch(&self, id: &RequestId, token: u64) {
        let mut state = self.lock();
        if let Some(watch) = state.watching.get_mut(id) {
            watch.wakers.retain(|(other, _)| *other != token);
            if watch.wakers.is_empty() && watch.forwarded.is_empty() {
                state.watching.remove(id);
            }
        }
        self.publish(&state);
    }

    /// Runs `cancel` if request `id` is cancelled before it is answered: at once if it
    /// already is. Dropped unrun once the request is answered.
    pub(crate) fn on_cancel(&self, id: &RequestId, cancel: Box<dyn FnOnce() + Send>) {
        let mut state = self.lock();
        if state.cancelled.contains(id) || self.all.load(Ordering::Acquire) {
            drop(state);
            cancel();
            return;
        }
        state
            .watching
            .entry(id.clone())
            .or_default()
            .forwarded
            .push(cancel);
        self.publish(&state);
    }

    /// Request `id` is answered: nothing about it needs remembering.
    pub(crate) fn forget(&self, id: &RequestId) {
        if self.entries.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut state = self.lock();
        let watch = state.watching.remove(id);
        // Nearly always empty: no need to hash the id for it then.
        if !state.cancelled.is_empty() && state.cancelled.remove(id) {
            state.order.retain(|other| other != id);
        }
        self.publish(&state);
        drop(state);
        // Dropped outside the lock: a waker or callback may take locks of its own.
        drop(watch);
    }

    /// How many requests something is registered for (cancelled, waited on, or with
    /// requests sent on for them).
    pub(crate) fn registered(&self) -> usize {
        self.entries.load(Ordering::Acquire)
    }

    /// The connection has ended: every registration goes.
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        let old = std::mem::take(&mut *state);
        self.publish(&state);
        drop(state);
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_is_remembered_until_the_request_is_answered() {
        let cancellations = Cancellations::default();
        let id = RequestId::Int(7);
        assert!(!cancellations.is_cancelled(&id));
        cancellations.cancel(id.clone());
        assert!(cancellations.is_cancelled(&id));
        cancellations.forget(&id);
        assert!(!cancellations.is_cancelled(&id));
        assert_eq!(cancellations.entries.load(Ordering::Acquire), 0);
    }

    #[test]
    fn cancelling_unknown_ids_cannot_grow_the_memory_without_bound() {
        let cancellations = Cancellations::default();
        for n in 0..(REMEMBERED as i64 + 100) {
            cancellations.cancel(RequestId::Int(n));
        }
        assert_eq!(cancellations.entries.load(Ordering::Acquire), REMEMBERED);
        assert!(!cancellations.is_cancelled(&RequestId::Int(0)));
        assert!(cancellations.is_cancelled(&RequestId::Int(REMEMBERED as i64 + 99)));
    }

    #[test]
    fn a_waiting_task_is_woken_by_the_cancellation() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        use std::task::Wake;

        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let cancellations = Cancellations::default();
        let id = RequestId::Str("x".into());
        let mut token = None;
        assert!(
            cancellations
                .poll_cancelled(&id, &mut token, &mut cx)
                .is_pending()
        );
        cancellations.cancel(id.clone());
        assert!(flag.0.load(Ordering::SeqCst));
        assert!(
            cancellations
                .poll_cancelled(&id, &mut token, &mut cx)
                .is_ready()
        );
    }

    #[test]
    fn a_waiter_that_stops_waiting_leaves_nothing_behind() {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let cancellations = Cancellations::default();
        let id = RequestId::Int(3);
        // Registered after the request was answered (the order that leaked before).
        cancellations.forget(&id);
        let mut token = None;
        assert!(
            cancellations
                .poll_cancelled(&id, &mut token, &mut cx)
                .is_pending()
        );
        assert!(
            cancellations
                .poll_cancelled(&id, &mut token, &mut cx)
                .is_pending()
        );
        assert_eq!(cancellations.registered(), 1);
        cancellations.unwatch(&id, token.unwrap());
        assert_eq!(cancellations.registered(), 0);
    }

    #[test]
    fn a_forwarded_request_is_cancelled_with_its_origin_and_forgotten_with_its_answer() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;

        let cancellations = Cancellations::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let counting = |ran: &Arc<AtomicUsize>| -> Box<dyn FnOnce() + Send> {
            let ran = Arc::clone(ran);
            Box::new(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
        };
        cancellations.on_cancel(&RequestId::Int(1), counting(&ran));
        cancellations.on_cancel(&RequestId::Int(2), counting(&ran));
        cancellations.forget(&RequestId::Int(1));
        cancellations.cancel(RequestId::Int(2));
        assert_eq!(ran.load(Ordering::SeqCst), 1, "only the cancelled one ran");
        // Already cancelled: a later registration runs at once.
        cancellations.on_cancel(&RequestId::Int(2), counting(&ran));
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        cancellations.forget(&RequestId::Int(2));
        assert_eq!(cancellations.registered(), 0);
    }
}
