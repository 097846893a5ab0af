//! The dynamic handlers of one connection, and the messages parked until one arrives.
//!
//! Handlers with a [`RoutingKey`] sit in a map `field → value → handlers`; a message is routed
//! by reading each key field in use (usually one) from its params and looking the value up.
//! Handlers without a key are offered every message, in registration order, after the keyed
//! ones.
//!
//! A handler is taken out of its slot while it runs (the lock is never held across an await)
//! and put back afterwards, unless its registration was dropped meanwhile.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::key::{FieldPath, RoutingKey, extract_path};
use crate::handler::{Handled, Handler};
use crate::id_map::IdMap;
use crate::{ConnectionTo, Dispatch, Error, Role};

/// A dynamic handler with its connection bound in, so the registry need not know the role.
pub(crate) trait ErasedHandler: Send {
    fn handle(&mut self, dispatch: Dispatch) -> BoxFuture<'_, Result<Handled<Dispatch>, Error>>;
}

/// A [`Handler`] and the connection it receives with each message.
pub(crate) struct Bound<Cp: Role, H> {
    pub(crate) handler: H,
    pub(crate) cx: ConnectionTo<Cp>,
}

impl<Cp: Role, H: Handler<Cp>> ErasedHandler for Bound<Cp, H> {
    fn handle(&mut self, dispatch: Dispatch) -> BoxFuture<'_, Result<Handled<Dispatch>, Error>> {
        Box::pin(self.handler.handle(dispatch, &self.cx))
    }
}

/// The handlers registered under one routing key value: nearly always exactly one (a
/// session's), kept inline so a lookup does not chase another pointer.
enum HandlerIds {
    One(u64),
    Many(Vec<u64>),
}

impl HandlerIds {
    fn push(&mut self, id: u64) {
        match self {
            HandlerIds::One(first) => *self = HandlerIds::Many(vec![*first, id]),
            HandlerIds::Many(ids) => ids.push(id),
        }
    }

    /// Removes `id`; true when none is left.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            HandlerIds::One(only) => *only == id,
            HandlerIds::Many(ids) => {
                ids.retain(|other| *other != id);
                ids.is_empty()
            }
        }
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            HandlerIds::One(id) => std::slice::from_ref(id),
            HandlerIds::Many(ids) => ids,
        }
    }
}

struct Slot {
    /// `None` while the handler runs.
    handler: Option<Box<dyn ErasedHandler>>,
    key: Option<RoutingKey>,
}

/// A message no handler would take yet, waiting for one.
pub(crate) struct Parked {
    pub(crate) dispatch: Dispatch,
    pub(crate) since: Instant,
}

/// Limits of the parking lot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParkingLimits {
    pub(crate) max_messages: usize,
    pub(crate) max_age: Duration,
}

/// Which parked messages a newly added handler may want.
enum Replay {
    None,
    /// Those whose params carry this key.
    Keys(Vec<RoutingKey>),
    /// All of them (an unkeyed handler was added).
    All,
}

pub(crate) struct Registry {
    next_id: u64,
    slots: IdMap<Slot>,
    unkeyed: Vec<u64>,
    keyed: HashMap<FieldPath, HashMap<String, HandlerIds>>,
    parked: VecDeque<Parked>,
    limits: ParkingLimits,
    replay: Replay,
    /// The incoming actor, when it waits for input: woken to replay parked messages.
    incoming: Option<Waker>,
}

impl Registry {
    pub(crate) fn new(limits: ParkingLimits) -> Self {
        Registry {
            next_id: 1,
            slots: IdMap::default(),
            unkeyed: Vec::new(),
            keyed: HashMap::new(),
            parked: VecDeque::new(),
            limits,
            replay: Replay::None,
            incoming: None,
        }
    }

    /// How many handlers are registered.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn add(&mut self, handler: Box<dyn ErasedHandler>, key: Option<RoutingKey>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        match &key {
            Some(key) => {
                self.keyed
                    .entry(Arc::clone(key.field_path()))
                    .or_default()
                    .entry(key.value().to_owned())
                    .and_modify(|ids| ids.push(id))
                    .or_insert(HandlerIds::One(id));
            }
            None => self.unkeyed.push(id),
        }
        if !self.parked.is_empty() {
            self.replay = match (std::mem::replace(&mut self.replay, Replay::None), &key) {
                (Replay::All, _) | (_, None) => Replay::All,
                (Replay::None, Some(key)) => Replay::Keys(vec![key.clone()]),
                (Replay::Keys(mut keys), Some(key)) => {
                    keys.push(key.clone());
                    Replay::Keys(keys)
                }
            };
            if let Some(incoming) = self.incoming.take() {
                incoming.wake();
            }
        }
        self.slots.insert(
            id,
            Slot {
                handler: Some(handler),
                key,
            },
        );
        id
    }

    /// Removes handler `id`; returns it (to be dropped outside the lock) unless it is running.
    pub(crate) fn remove(&mut self, id: u64) -> Option<Box<dyn ErasedHandler>> {
        let slot = self.slots.remove(&id)?;
        match &slot.key {
            None => self.unkeyed.retain(|other| *other != id),
            Some(key) => {
                if let Some(values) = self.keyed.get_mut(key.field_path())
                    && let Some(ids) = values.get_mut(key.value())
                {
                    if ids.remove(id) {
                        values.remove(key.value());
                    }
                    if values.is_empty() {
                        self.keyed.remove(key.field_path());
                    }
                }
            }
        }
        slot.handler
    }

    /// Puts into `out` the handlers to offer `dispatch` to, in order: keyed, then unkeyed.
    pub(crate) fn candidates(&self, dispatch: &Dispatch, out: &mut Vec<u64>) {
        out.clear();
        if !self.keyed.is_empty()
            && let Some(params) = params_of(dispatch)
        {
            for (path, values) in &self.keyed {
                if let Some(value) = extract_path(params, path)
                    && let Some(ids) = values.get(value.as_ref())
                {
                    out.extend_from_slice(ids.as_slice());
                }
            }
        }
        out.extend_from_slice(&self.unkeyed);
    }

    pub(crate) fn take(&mut self, id: u64) -> Option<Box<dyn ErasedHandler>> {
        self.slots.get_mut(&id)?.handler.take()
    }

    /// Puts a handler back after it ran. Returns it if it was removed meanwhile, to be dropped
    /// outside the lock.
    pub(crate) fn put_back(
        &mut self,
        id: u64,
        handler: Box<dyn ErasedHandler>,
    ) -> Option<Box<dyn ErasedHandler>> {
        match self.slots.get_mut(&id) {
            Some(slot) => {
                slot.handler = Some(handler);
                None
            }
            None => Some(handler),
        }
    }

    /// Parks a message. Returns what had to leave to keep within the count limit.
    pub(crate) fn park(&mut self, dispatch: Dispatch, now: Instant) -> Vec<Parked> {
        self.parked.push_back(Parked {
            dispatch,
            since: now,
        });
        let excess = self.parked.len().saturating_sub(self.limits.max_messages);
        self.parked.drain(..excess).collect()
    }

    /// Takes the parked messages a newly added handler may want, oldest first.
    pub(crate) fn take_replays(&mut self) -> Vec<Parked> {
        match std::mem::replace(&mut self.replay, Replay::None) {
            Replay::None => Vec::new(),
            Replay::All => self.parked.drain(..).collect(),
            Replay::Keys(keys) => {
                let (wanted, kept): (VecDeque<Parked>, VecDeque<Parked>) =
                    self.parked.drain(..).partition(|parked| {
                        params_of(&parked.dispatch).is_some_and(|params| {
                            keys.iter().any(|key| {
                                extract_path(params, key.field_path()).as_deref()
                                    == Some(key.value())
                            })
                        })
                    });
                self.parked = kept;
                wanted.into()
            }
        }
    }

    /// Ready when parked messages wait to be replayed; otherwise remembers who to wake.
    pub(crate) fn poll_replay(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if matches!(self.replay, Replay::None) {
            self.incoming = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Puts a replayed message that is still unclaimed back, keeping its original age.
    pub(crate) fn repark(&mut self, parked: Parked) -> Vec<Parked> {
        let since = parked.since;
        // Keep arrival order: older messages go before younger ones.
        let at = self
            .parked
            .iter()
            .position(|other| other.since > since)
            .unwrap_or(self.parked.len());
        self.parked.insert(at, parked);
        let excess = self.parked.len().saturating_sub(self.limits.max_messages);
        self.parked.drain(..excess).collect()
    }

    /// Takes the parked messages older than the age limit.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<Parked> {
        let expired = self
            .parked
            .iter()
            .take_while(|parked| now.saturating_duration_since(parked.since) >= self.limits.max_age)
            .count();
        self.parked.drain(..expired).collect()
    }

    /// When the oldest parked message expires, if any is parked.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.parked
            .front()
            .map(|parked| parked.since + self.limits.max_age)
    }

    /// Takes every parked message and every handler (the connection is ending).
    pub(crate) fn drain(&mut self) -> (Vec<Parked>, Vec<Box<dyn ErasedHandler>>) {
        self.unkeyed.clear();
        self.keyed.clear();
        self.incoming = None;
        let handlers = self
            .slots
            .drain()
            .filter_map(|(_, slot)| slot.handler)
            .collect();
        (self.parked.drain(..).collect(), handlers)
    }

    /// Takes every parked message.
    pub(crate) fn drain_parked(&mut self) -> Vec<Parked> {
        self.parked.drain(..).collect()
    }
}

fn params_of(dispatch: &Dispatch) -> Option<&str> {
    match dispatch {
        Dispatch::Request(message, _) | Dispatch::Notification(message) => {
            message.params().map(|params| params.get())
        }
        Dispatch::Response(..) => None,
    }
}
