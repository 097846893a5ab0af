//! Requests this side sent and is waiting to hear back about.
//!
//! One keyed map, id → what to do with the answer. An entry is made before the request is
//! queued (so even an instant answer finds it), and leaves when the answer is delivered, when
//! its `SentRequest` is dropped unconsumed, or when the connection closes. Ids are our own
//! sequential integers, so the map hashes them with a plain multiply ([`IdMap`]).

use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;
use futures::future::BoxFuture;

use crate::Error;
use crate::id_map::IdMap;
use crate::message::RawJson;

/// Where an answer goes when nobody waits for it in `block_task`.
pub(crate) enum ResponseCallback {
    /// A future made from the answer, run in the dispatch loop (`on_receiving_result`).
    Future(Box<dyn FnOnce(Result<RawJson, Error>) -> BoxFuture<'static, ()> + Send>),
    /// A function called with the answer at once, in the dispatch loop: what passes an answer
    /// on (`forward_response_to`) needs no future, no task and no second allocation.
    Now(Box<dyn FnOnce(Result<RawJson, Error>) + Send>),
}

impl ResponseCallback {
    /// Hands `result` over: the future still to run, or `None` when the callback is done.
    /// Never called under the map's lock, as the callback may send.
    pub(crate) fn run(self, result: Result<RawJson, Error>) -> Option<BoxFuture<'static, ()>> {
        match self {
            ResponseCallback::Future(make) => Some(make(result)),
            ResponseCallback::Now(call) => {
                call(result);
                None
            }
        }
    }
}

/// What an entry holds.
enum Entry {
    /// No answer yet; `waker` is the task in `block_task`, if one waits.
    Waiting(Option<Waker>),
    /// The answer arrived before anyone asked for it.
    Answered(Result<RawJson, Error>),
    /// The answer goes to this callback, run in the dispatch loop.
    Callback(ResponseCallback),
}

#[derive(Default)]
struct State {
    entries: IdMap<Entry>,
    /// The timeout timers of requests that have one: dropping the sender stops the timer, so
    /// an entry's timer goes when the entry does.
    timers: IdMap<oneshot::Sender<()>>,
    /// Set once no answer can arrive any more; new requests fail with this error at once.
    closed: Option<Error>,
}

/// The pending requests of one connection.
#[derive(Default)]
pub(crate) struct PendingRequests {
    state: Mutex<State>,
}

/// What to do after an answer was delivered.
pub(crate) enum Delivery {
    /// Someone was told (or will find it); nothing more to do.
    Done,
    /// Run this callback future now.
    Run(BoxFuture<'static, ()>),
    /// Nobody waits for this id (unknown, or already answered).
    Unknown,
}

impl State {
    /// Removes the entry of `id`, and stops its timer if it has one.
    fn remove(&mut self, id: u64) -> Option<Entry> {
        if !self.timers.is_empty() {
            self.timers.remove(&id);
        }
        self.entries.remove(&id)
    }
}

impl PendingRequests {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves the map consistent (every operation is a
        // single insert or remove), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the entry for a request about to be sent.
    pub(crate) fn insert(&self, id: u64) -> Result<(), Error> {
        let mut state = self.lock();
        if let Some(error) = &state.closed {
            return Err(error.clone());
        }
        state.entries.insert(id, Entry::Waiting(None));
        Ok(())
    }

    /// Delivers the answer for `id`.
    pub(crate) fn deliver(&self, id: u64, result: Result<RawJson, Error>) -> Delivery {
        let mut state = self.lock();
        match state.remove(id) {
            Some(Entry::Waiting(waker)) => {
                state.entries.insert(id, Entry::Answered(result));
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
                Delivery::Done
            }
            Some(Entry::Callback(callback)) => {
                drop(state);
                match callback.run(result) {
                    Some(future) => Delivery::Run(future),
                    None => Delivery::Done,
                }
            }
            Some(answered @ Entry::Answered(_)) => {
                // A second answer to the same id: keep the first, report the second.
                state.entries.insert(id, answered);
                Delivery::Unknown
            }
            None => Delivery::Unknown,
        }
    }

    /// Polls for the answer to `id` (used by `block_task`).
    /// Delivers `result` if a `SentRequest` is waiting for it; otherwise hands it back (a
    /// callback must run it, or the id is unknown).
    pub(crate) fn deliver_to_waiting(
        &self,
        id: u64,
        result: Result<RawJson, Error>,
    ) -> Result<(), Result<RawJson, Error>> {
        let mut state = self.lock();
        let Some(Entry::Waiting(waiting)) = state.entries.get_mut(&id) else {
            return Err(result);
        };
        let waker = waiting.take();
        state.entries.insert(id, Entry::Answered(result));
        if !state.timers.is_empty() {
            state.timers.remove(&id);
        }
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    pub(crate) fn poll_answer(
        &self,
        id: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Result<RawJson, Error>> {
        let mut state = self.lock();
        match state.entries.get_mut(&id) {
            Some(Entry::Waiting(waiting)) => {
                match waiting {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *waiting = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Some(Entry::Answered(_)) => match state.remove(id) {
                Some(Entry::Answered(result)) => Poll::Ready(result),
                // Seen just above, under the same lock.
                _ => Poll::Ready(Err(Error::internal_error("the answer was taken twice"))),
            },
            Some(Entry::Callback(_)) => Poll::Ready(Err(Error::internal_error(
                "this request's answer already goes to a callback",
            ))),
            None => Poll::Ready(Err(state.closed.clone().unwrap_or_else(|| {
                Error::internal_error(format_args!("no pending request with id {id}"))
            }))),
        }
    }

    pub(crate) fn set_callback(
        &self,
        id: u64,
        callback: ResponseCallback,
    ) -> Option<BoxFuture<'static, ()>> {
        let mut state = self.lock();
        // Not `State::remove`: a waiting request stays pending, with its timer.
        let now = match state.entries.remove(&id) {
            Some(Entry::Waiting(_)) => {
                state.entries.insert(id, Entry::Callback(callback));
                return None;
            }
            Some(Entry::Answered(result)) => result,
            Some(Entry::Callback(previous)) => {
                state.entries.insert(id, Entry::Callback(previous));
                Err(Error::internal_error(
                    "this request's answer already goes to a callback",
                ))
            }
            None => Err(state.closed.clone().unwrap_or_else(|| {
                Error::internal_error(format_args!("no pending request with id {id}"))
            })),
        };
        drop(state);
        callback.run(now)
    }

    /// Starts the timeout of request `id`: the returned receiver resolves (cancelled) once the
    /// request is no longer pending, so the timer can stop. `None` if it is not pending.
    pub(crate) fn arm_timer(&self, id: u64) -> Option<oneshot::Receiver<()>> {
        let mut state = self.lock();
        if !matches!(
            state.entries.get(&id),
            Some(Entry::Waiting(_) | Entry::Callback(_))
        ) {
            return None;
        }
        let (stop, stopped) = oneshot::channel();
        state.timers.insert(id, stop);
        Some(stopped)
    }

    /// Request `id` ran out of time: a waiter gets `error`, a callback is returned to be run
    /// with it. `None` (and nothing changes) if it was answered meanwhile.
    pub(crate) fn time_out(&self, id: u64, error: Error) -> Option<Option<BoxFuture<'static, ()>>> {
        let mut state = self.lock();
        state.timers.remove(&id);
        match state.entries.remove(&id) {
            Some(Entry::Waiting(waker)) => {
                state.entries.insert(id, Entry::Answered(Err(error)));
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
                Some(None)
            }
            Some(Entry::Callback(callback)) => {
                drop(state);
                Some(callback.run(Err(error)))
            }
            Some(answered) => {
                state.entries.insert(id, answered);
                None
            }
            None => None,
        }
    }

    /// Whether request `id` still waits for its answer.
    pub(crate) fn is_pending(&self, id: u64) -> bool {
        matches!(
            self.lock().entries.get(&id),
            Some(Entry::Waiting(_) | Entry::Callback(_))
        )
    }

    /// Forgets the request: any answer is of no interest now. True if it was still waiting
    /// for its answer (so the peer may still be working on it).
    pub(crate) fn forget(&self, id: u64) -> bool {
        matches!(
            self.lock().remove(id),
            Some(Entry::Waiting(_) | Entry::Callback(_))
        )
    }

    /// Fails every pending request with `error`, and every later one too. Returns the futures
    /// of callbacks that were waiting, to be run by the caller.
    pub(crate) fn close(&self, error: &Error) -> Vec<BoxFuture<'static, ()>> {
        let mut state = self.lock();
        if state.closed.is_none() {
            state.closed = Some(error.clone());
        }
        state.timers.clear();
        let mut wakers = Vec::new();
        let mut callbacks = Vec::new();
        let ids: Vec<u64> = state.entries.keys().copied().collect();
        for id in ids {
            match state.remove(id) {
                Some(Entry::Waiting(waker)) => {
                    state
                        .entries
                        .insert(id, Entry::Answered(Err(error.clone())));
                    wakers.extend(waker);
                }
                Some(Entry::Callback(callback)) => callbacks.push(callback),
                Some(answered) => {
                    state.entries.insert(id, answered);
                }
                None => {}
            }
        }
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        callbacks
            .into_iter()
            .filter_map(|callback| callback.run(Err(error.clone())))
            .collect()
    }

    /// How many requests wait for an answer.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker;

    #[test]
    fn an_early_answer_waits_for_its_reader() {
        let pending = PendingRequests::default();
        pending.insert(1).unwrap();
        assert!(matches!(
            pending.deliver(1, Ok(RawJson::null())),
            Delivery::Done
        ));
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            pending.poll_answer(1, &mut cx),
            Poll::Ready(Ok(_))
        ));
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn closing_fails_waiters_and_later_requests() {
        let pending = PendingRequests::default();
        pending.insert(1).unwrap();
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(pending.poll_answer(1, &mut cx).is_pending());
        pending.close(&Error::connection_closed("test"));
        assert!(
            matches!(pending.poll_answer(1, &mut cx), Poll::Ready(Err(e)) if e.is_connection_closed())
        );
        assert!(pending.insert(2).unwrap_err().is_connection_closed());
    }

    #[test]
    fn a_callback_called_at_once_gets_its_answer_and_leaves_nothing_to_run() {
        let pending = PendingRequests::default();
        let (answers, answered) = std::sync::mpsc::sync_channel(2);
        for id in [1, 2] {
            pending.insert(id).unwrap();
            let answers = answers.clone();
            let callback = ResponseCallback::Now(Box::new(move |result| {
                let _ = answers.send(result.map(|raw| raw.get().to_owned()));
            }));
            assert!(pending.set_callback(id, callback).is_none());
        }
        assert!(matches!(
            pending.deliver(1, Ok(RawJson::null())),
            Delivery::Done
        ));
        assert_eq!(answered.try_recv().unwrap().unwrap(), "null");
        // Closing calls the other one with the error, and hands back no future for it.
        assert!(pending.close(&Error::connection_closed("test")).is_empty());
        assert!(
            answered
                .try_recv()
                .unwrap()
                .unwrap_err()
                .is_connection_closed()
        );
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn a_second_answer_is_reported_not_delivered() {
        let pending = PendingRequests::default();
        pending.insert(1).unwrap();
        assert!(matches!(
            pending.deliver(1, Ok(RawJson::null())),
            Delivery::Done
        ));
        assert!(matches!(
            pending.deliver(1, Ok(RawJson::null())),
            Delivery::Unknown
        ));
        assert!(matches!(
            pending.deliver(7, Ok(RawJson::null())),
            Delivery::Unknown
        ));
    }
}
