//! Cancelling requests with the notification `$/cancel_request` `{"requestId": id}`.
//!
//! Sending side: a [`SentRequest`](crate::SentRequest) that is cancelled, dropped unconsumed,
//! or whose `block_task()` future is dropped before the answer, tells the peer with this
//! notification (unless it was detached). The answer, if it still comes, is dropped.
//!
//! Receiving side: the incoming actor takes the notification itself (handlers do not see it)
//! and marks the request. Its [`Responder`](crate::Responder) can ask `is_cancelled()` or wait
//! for `cancelled()`; a cancelled request whose handler drops the responder unanswered is
//! answered -32800 instead of -32603. A handler that answers anyway is free to: the peer gets
//! that answer.
//!
//! Cancellations are remembered only while they may matter: until the request is answered,
//! and never more than [`REMEMBERED`] at once (a peer cancelling ids it never sent cannot make
//! this grow). While there are none, checking costs one atomic load.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use serde::{Deserialize, Serialize};

use crate::message::RequestId;

/// The method of the cancellation notification.
pub const CANCEL_METHOD: &str = "$/cancel_request";

/// At most this many cancellations are remembered; the oldest is forgotten first.
pub const REMEMBERED: usize = 4096;

/// The params of `$/cancel_request`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelParams {
    pub(crate) request_id: RequestId,
}

#[derive(Default)]
struct State {
    cancelled: HashSet<RequestId>,
    /// Arrival order of `cancelled`, to forget the oldest first.
    order: VecDeque<RequestId>,
    /// Tasks waiting in `Responder::cancelled()`.
    watchers: HashMap<RequestId, Vec<Waker>>,
}

/// The cancellations the peer sent for requests this side is handling.
#[derive(Default)]
pub(crate) struct Cancellations {
    state: Mutex<State>,
    /// Entries in `cancelled` plus `watchers`: zero means there is nothing to look up.
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
            state.cancelled.len() + state.watchers.len(),
            Ordering::Release,
        );
    }

    /// The peer cancelled request `id`.
    pub(crate) fn cancel(&self, id: RequestId) {
        let mut state = self.lock();
        let watchers = state.watchers.remove(&id).unwrap_or_default();
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
        watchers.into_iter().for_each(Waker::wake);
    }

    pub(crate) fn is_cancelled(&self, id: &RequestId) -> bool {
        self.entries.load(Ordering::Acquire) > 0 && self.lock().cancelled.contains(id)
    }

    pub(crate) fn poll_cancelled(&self, id: &RequestId, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.cancelled.contains(id) {
            return Poll::Ready(());
        }
        let watchers = state.watchers.entry(id.clone()).or_default();
        if !watchers.iter().any(|waker| waker.will_wake(cx.waker())) {
            watchers.push(cx.waker().clone());
        }
        self.publish(&state);
        Poll::Pending
    }

    /// Request `id` is answered: nothing about it needs remembering.
    pub(crate) fn forget(&self, id: &RequestId) {
        if self.entries.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut state = self.lock();
        state.watchers.remove(id);
        if state.cancelled.remove(id) {
            state.order.retain(|other| other != id);
        }
        self.publish(&state);
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
        assert!(cancellations.poll_cancelled(&id, &mut cx).is_pending());
        cancellations.cancel(id.clone());
        assert!(flag.0.load(Ordering::SeqCst));
        assert!(cancellations.poll_cancelled(&id, &mut cx).is_ready());
    }
}
