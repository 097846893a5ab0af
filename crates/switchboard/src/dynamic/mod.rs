//! Dynamic handlers: handlers added to a running connection, removed when their registration
//! is dropped.
//!
//! The usual one serves "everything for session X": it is added when the session starts, with
//! a [`RoutingKey`] naming the params field and value its messages carry, and removed when the
//! session ends. Dynamic handlers are offered a message after the builder's handlers and
//! before the role's default; a keyed handler is found by one lookup, so routing costs the
//! same with ten sessions or ten thousand.
//!
//! A message may arrive before its handler does (an update racing the answer that creates its
//! session). A handler that returns [`Handled::No`](crate::Handled::No) with `retry: true`
//! for it parks the message; parked messages are offered again, in arrival order, whenever a
//! matching handler is added. The parking lot is bounded in count and in age (see
//! [`Builder::parking`](crate::Builder::parking)); a request that leaves it unclaimed is
//! answered -32601, a notification is dropped with a warning.

mod key;
mod park;
pub(crate) mod registry;

pub use key::RoutingKey;
pub use park::ParkKeyed;

use std::fmt;
use std::sync::Arc;

use crate::handler::Handler;
use crate::shared::Shared;
use crate::{ConnectionTo, Role};
use registry::Bound;

/// Keeps a dynamic handler registered. Dropping it removes the handler; [`keep`](Self::keep)
/// leaves it in place for the rest of the connection.
#[must_use = "dropping the registration removes the handler at once; call .keep() to keep it"]
pub struct DynamicHandlerRegistration {
    id: u64,
    shared: Arc<Shared>,
    kept: bool,
}

impl DynamicHandlerRegistration {
    /// Leaves the handler registered until the connection ends.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Removes the handler now (the same as dropping the registration).
    pub fn remove(self) {}
}

impl Drop for DynamicHandlerRegistration {
    fn drop(&mut self) {
        if !self.kept {
            let removed = self.shared.dynamic().remove(self.id);
            // Dropped outside the lock: a handler may own registrations of its own.
            drop(removed);
        }
    }
}

impl fmt::Debug for DynamicHandlerRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicHandlerRegistration")
            .field("id", &self.id)
            .field("kept", &self.kept)
            .finish()
    }
}

impl<Cp: Role> ConnectionTo<Cp> {
    /// Adds a handler that is offered every message the builder's handlers pass on, until
    /// the returned registration is dropped.
    ///
    /// Added from a handler or a response callback, it is in place before the next incoming
    /// message is dispatched.
    pub fn add_dynamic_handler(
        &self,
        handler: impl Handler<Cp> + 'static,
    ) -> DynamicHandlerRegistration {
        self.register(handler, None)
    }

    /// Adds a handler for the messages whose params carry `key` (for example
    /// `RoutingKey::new("sessionId", id)`), found by lookup rather than by offering each
    /// message to every handler.
    pub fn add_keyed_handler(
        &self,
        key: RoutingKey,
        handler: impl Handler<Cp> + 'static,
    ) -> DynamicHandlerRegistration {
        self.register(handler, Some(key))
    }

    fn register(
        &self,
        handler: impl Handler<Cp> + 'static,
        key: Option<RoutingKey>,
    ) -> DynamicHandlerRegistration {
        let bound = Box::new(Bound {
            handler,
            cx: self.clone(),
        });
        let id = self.shared.dynamic().add(bound, key);
        DynamicHandlerRegistration {
            id,
            shared: Arc::clone(&self.shared),
            kept: false,
        }
    }
}
