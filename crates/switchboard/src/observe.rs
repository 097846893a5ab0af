//! What the connection tells `tracing`: the spans it opens and the descriptions its warnings
//! carry.
//!
//! - `connection` (INFO): one per connection, with its name and role; every event the
//!   connection emits is inside it.
//! - `request` / `notification` / `response` (DEBUG), `direction = "received"`: one per
//!   incoming message while its handlers run, with the method and id.
//! - `request` (DEBUG), `direction = "sent"`: one per request this side sends, around the
//!   callback that receives its answer.
//!
//! Per-message spans are DEBUG so that a subscriber at the usual INFO level pays nothing for
//! them. Events about a message that failed or was dropped carry its method and id as fields
//! of their own, since at INFO no per-message span is there to say them: the description is
//! taken only while error events are listened to, so without a subscriber it costs one check.

use std::fmt;

use tracing::Span;

use crate::message::{Dispatch, RequestId};

/// The span of one connection.
pub(crate) fn connection_span(name: Option<&str>, role: &dyn fmt::Debug) -> Span {
    tracing::info_span!("connection", name = name.unwrap_or("unnamed"), role = ?role)
}

/// The span of one incoming message while it is dispatched.
pub(crate) fn received_span(dispatch: &Dispatch) -> Span {
    match dispatch {
        Dispatch::Request(request, responder) => tracing::debug_span!(
            "request",
            direction = "received",
            method = request.method(),
            id = %responder.id()
        ),
        Dispatch::Notification(notification) => tracing::debug_span!(
            "notification",
            direction = "received",
            method = notification.method()
        ),
        Dispatch::Response(_, router) => {
            tracing::debug_span!("response", direction = "received", id = %router.id())
        }
    }
}

/// The span of one request this side sent.
pub(crate) fn sent_span(method: &str, id: u64) -> Span {
    tracing::debug_span!("request", direction = "sent", method, id)
}

/// A message's method and id, kept for a warning that may come after the message itself is
/// gone: empty unless error events are listened to.
#[derive(Default)]
pub(crate) struct Described {
    method: Option<Box<str>>,
    id: Option<RequestId>,
}

impl Described {
    /// Describes an incoming message, if anybody would read it.
    pub(crate) fn received(dispatch: &Dispatch) -> Self {
        if !tracing::enabled!(tracing::Level::ERROR) {
            return Described::default();
        }
        match dispatch {
            Dispatch::Request(request, responder) => Described {
                method: Some(request.method().into()),
                id: Some(responder.id().clone()),
            },
            Dispatch::Notification(notification) => Described {
                method: Some(notification.method().into()),
                id: None,
            },
            Dispatch::Response(_, router) => Described {
                method: None,
                id: Some(router.id().clone()),
            },
        }
    }

    /// Describes a request this side sends, if anybody would read it.
    pub(crate) fn sent(method: &str, id: u64) -> Self {
        if !tracing::enabled!(tracing::Level::ERROR) {
            return Described::default();
        }
        Described {
            method: Some(method.into()),
            id: Some(RequestId::from(id)),
        }
    }

    /// The method, or `""` when not known.
    pub(crate) fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("")
    }

    /// The id, shown as JSON (`7`, `"a"`), or `""` when the message had none.
    pub(crate) fn id(&self) -> String {
        self.id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}
