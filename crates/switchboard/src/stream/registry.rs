//! The streams of one connection: the buffers of the streams this side asked for (items in),
//! and the credit counters of the streams this side answers (credits in), both keyed by token.
//!
//! The incoming actor routes stream notifications here before any handler sees them, the way
//! it routes answers to the pending requests: an item lands in its stream's buffer in arrival
//! order, so every item the peer sent before its answer is buffered before that answer is
//! delivered (guarantee 1), without passing through the handler chain.
//!
//! Bounds: a buffer holds at most its window; a peer that sends more (one that ignores credits,
//! or a convention without them) fills it past the window, and then the incoming actor reads
//! nothing more until the consumer has taken items. That is the transport backpressure a
//! convention without credits relies on. While no stream is open, the incoming actor pays one
//! atomic load per notification.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::Error;
use crate::message::{RawJson, RequestId, UntypedMessage};
use crate::shared::Shared;
use crate::stream::convention::NoticeKind;

/// Ignores poisoning: every critical section here leaves its state consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The streams of one connection.
#[derive(Default)]
pub(crate) struct Streams {
    /// Entries in both maps: zero means no notification needs looking at.
    open: AtomicUsize,
    /// Buffers past their window: the incoming actor reads nothing while this is not zero.
    overfull: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    reading: HashMap<RequestId, Arc<Reading>>,
    writing: HashMap<RequestId, Arc<Writing>>,
    /// Why no credit can come any more (the input ended, the connection closed).
    closed: Option<Error>,
}

/// The buffer of a stream this side asked for.
pub(crate) struct Reading {
    inner: Mutex<ReadState>,
}

struct ReadState {
    items: VecDeque<RawJson>,
    window: usize,
    /// Counted in `Streams::overfull`.
    overfull: bool,
    waker: Option<Waker>,
}

/// The credits of a stream this side answers.
pub(crate) struct Writing {
    /// The incoming request it answers: a stop cancels it.
    pub(crate) request: RequestId,
    inner: Mutex<WriteState>,
}

/// Called with each grant that arrives, by a forwarder passing credits on.
pub(crate) type OnCredit = Box<dyn Fn(u64) + Send + Sync>;

struct WriteState {
    credits: u64,
    closed: Option<Error>,
    waker: Option<Waker>,
    on_credit: Option<OnCredit>,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn publish(&self, state: &State) {
        self.open
            .store(state.reading.len() + state.writing.len(), Ordering::Release);
    }

    /// Opens the buffer of stream `token`, holding up to `window` items.
    pub(crate) fn open_reading(&self, token: RequestId, window: usize) -> Arc<Reading> {
        let reading = Arc::new(Reading {
            inner: Mutex::new(ReadState {
                items: VecDeque::new(),
                window,
                overfull: false,
                waker: None,
            }),
        });
        let mut state = self.lock();
        state.reading.insert(token, Arc::clone(&reading));
        self.publish(&state);
        reading
    }

    /// Closes the buffer of stream `token`; the reading resumes if it waited for it.
    pub(crate) fn close_reading(&self, shared: &Shared, token: &RequestId) {
        let mut state = self.lock();
        let removed = state.reading.remove(token);
        self.publish(&state);
        drop(state);
        let was_overfull =
            removed.is_some_and(|reading| std::mem::take(&mut lock(&reading.inner).overfull));
        if was_overfull {
            self.overfull.fetch_sub(1, Ordering::AcqRel);
            shared.wake.wake(crate::actor::wake::part::INCOMING);
        }
    }

    /// Takes the next item of `reading`, or registers `waker` for it.
    pub(crate) fn pop(&self, shared: &Shared, reading: &Reading, waker: &Waker) -> Option<RawJson> {
        let mut inner = lock(&reading.inner);
        let item = inner.items.pop_front();
        if item.is_none() {
            match &inner.waker {
                Some(known) if known.will_wake(waker) => {}
                _ => inner.waker = Some(waker.clone()),
            }
        }
        if inner.overfull && inner.items.len() <= inner.window {
            inner.overfull = false;
            drop(inner);
            self.overfull.fetch_sub(1, Ordering::AcqRel);
            shared.wake.wake(crate::actor::wake::part::INCOMING);
        }
        item
    }

    /// Ready while no buffer is past its window.
    pub(crate) fn poll_may_read(&self) -> Poll<()> {
        if self.overfull.load(Ordering::Acquire) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Opens the credit counter of stream `token`, answering request `request`, with
    /// `window` credits. Fails if the peer already has a stream open under that token.
    pub(crate) fn open_writing(
        &self,
        token: RequestId,
        request: RequestId,
        window: u64,
    ) -> Result<Arc<Writing>, Error> {
        let mut state = self.lock();
        if state.writing.contains_key(&token) {
            return Err(Error::invalid_request(format_args!(
                "the stream token {token:?} is already in use"
            )));
        }
        let writing = Arc::new(Writing {
            request,
            inner: Mutex::new(WriteState {
                credits: window,
                closed: state.closed.clone(),
                waker: None,
                on_credit: None,
            }),
        });
        state.writing.insert(token, Arc::clone(&writing));
        self.publish(&state);
        Ok(writing)
    }

    /// Closes the credit counter of stream `token`.
    pub(crate) fn close_writing(&self, token: &RequestId) {
        let mut state = self.lock();
        let removed = state.writing.remove(token);
        self.publish(&state);
        drop(state);
        drop(removed);
    }

    /// No credit can come any more: every stream waiting for one fails with `why`.
    pub(crate) fn close(&self, why: &Error) {
        let mut state = self.lock();
        if state.closed.is_none() {
            state.closed = Some(why.clone());
        }
        let writing: Vec<_> = state.writing.values().cloned().collect();
        drop(state);
        for stream in writing {
            let mut inner = lock(&stream.inner);
            inner.closed = Some(why.clone());
            let waker = inner.waker.take();
            drop(inner);
            waker.into_iter().for_each(Waker::wake);
        }
    }

    fn reading(&self, token: &RequestId) -> Option<Arc<Reading>> {
        self.lock().reading.get(token).cloned()
    }

    fn writing(&self, token: &RequestId) -> Option<Arc<Writing>> {
        self.lock().writing.get(token).cloned()
    }
}

impl Writing {
    /// Takes one credit, or registers `waker` until one comes; fails once none can.
    pub(crate) fn poll_credit(&self, waker: &Waker) -> Poll<Result<(), Error>> {
        let mut inner = lock(&self.inner);
        if inner.credits > 0 {
            inner.credits -= 1;
            return Poll::Ready(Ok(()));
        }
        if let Some(why) = &inner.closed {
            return Poll::Ready(Err(why.clone()));
        }
        inner.waker = Some(waker.clone());
        Poll::Pending
    }

    /// Gives the credits that arrive from now on to `pass_on` as well.
    pub(crate) fn on_credit(&self, pass_on: OnCredit) {
        lock(&self.inner).on_credit = Some(pass_on);
    }

    fn grant(&self, amount: u64) {
        let mut inner = lock(&self.inner);
        inner.credits = inner.credits.saturating_add(amount);
        let waker = inner.waker.take();
        if let Some(pass_on) = &inner.on_credit {
            pass_on(amount);
        }
        drop(inner);
        waker.into_iter().for_each(Waker::wake);
    }
}

/// Takes `message` if it is a notification of one of this connection's streams; gives it back
/// otherwise (LSP's `$/progress` also reports work done, which handlers want).
pub(crate) fn route(shared: &Shared, message: UntypedMessage) -> Option<UntypedMessage> {
    let streams = &shared.streams;
    if streams.open.load(Ordering::Acquire) == 0 {
        return Some(message);
    }
    let convention = &shared.streaming;
    match convention.kind_of(message.method()) {
        None => Some(message),
        Some(NoticeKind::Item) => {
            let Some((token, item)) = convention.item_of(message.params()) else {
                return Some(message);
            };
            let Some(reading) = streams.reading(&token) else {
                return Some(message);
            };
            let mut inner = lock(&reading.inner);
            inner.items.push_back(item);
            let newly_overfull = !inner.overfull && inner.items.len() > inner.window;
            inner.overfull |= newly_overfull;
            let waker = inner.waker.take();
            drop(inner);
            if newly_overfull {
                streams.overfull.fetch_add(1, Ordering::AcqRel);
            }
            waker.into_iter().for_each(Waker::wake);
            None
        }
        Some(kind @ (NoticeKind::Credit | NoticeKind::Stop)) => {
            // A grant or stop for a stream that has ended is late, not wrong: dropped.
            let Some((token, amount)) = convention.credit_of(message.params()) else {
                tracing::debug!(
                    method = message.method(),
                    "a credit notification without a token"
                );
                return None;
            };
            if let Some(writing) = streams.writing(&token) {
                match kind {
                    NoticeKind::Stop => shared.cancellations.cancel(writing.request.clone()),
                    _ => writing.grant(amount),
                }
            }
            None
        }
    }
}
