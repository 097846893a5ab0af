//! Sessions: one conversation between a client and an agent, named by its `sessionId`.
//!
//! Everything about a session travels with its id in the params, so both sides route a
//! session's messages with one keyed dynamic handler (one hash lookup, however many sessions
//! are open; see the core's [`dynamic`](switchboard::dynamic) module).
//!
//! - On the client side, [`ClientSession`] (from
//!   [`AcpClient::new_session`] or
//!   [`AcpClient::load_session`]) sends prompts and yields the
//!   session's `session/update`s, in order, with each prompt's answer after the updates that
//!   came before it.
//! - On the agent side, [`AgentSession`] sends updates for one session and tracks its running
//!   prompt, which `session/cancel` cancels ([`Turn`]).

mod agent;
mod client;

pub use agent::{AgentSession, Turn};
pub use client::{
    AcpClient, ClientSession, MAX_SESSION_LIST_PAGES, SESSION_EVENT_BUFFER, SessionEvent,
};

use switchboard::dynamic::RoutingKey;
use switchboard::{ConnectionTo, Dispatch, Error, Handled, Handler};

use crate::role::Agent;
use crate::schema::{self, SessionId};

/// The params field every per-session message carries.
pub const SESSION_ID_FIELD: &str = "sessionId";

/// The routing key of a session's messages, for
/// [`ConnectionTo::add_keyed_handler`](switchboard::ConnectionTo::add_keyed_handler).
///
/// ```
/// use switchboard_acp::schema::SessionId;
/// use switchboard_acp::session::session_key;
///
/// let key = session_key(&SessionId::new("s-1"));
/// assert_eq!((key.field(), key.value()), ("sessionId", "s-1"));
/// ```
pub fn session_key(id: &SessionId) -> RoutingKey {
    RoutingKey::new(SESSION_ID_FIELD, id.0.as_ref())
}

/// Marks `session/update` notifications for parking when nothing claims them: an update that
/// arrives before its session's handler (racing the `session/new` answer) waits for it.
/// [`Client::builder`](crate::Client::builder) starts with it.
///
/// Only updates are parked. A request for an unknown session is answered at once by the
/// handlers after it or by the default (-32601), rather than waiting out the parking time.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParkSessionUpdates;

impl Handler<Agent> for ParkSessionUpdates {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Agent>,
    ) -> Result<Handled<Dispatch>, Error> {
        let retry = matches!(
            &dispatch,
            Dispatch::Notification(notification)
                if notification.method() == schema::CLIENT_METHOD_NAMES.session_update
        );
        Ok(Handled::No {
            message: dispatch,
            retry,
        })
    }
}

/// One page of `items` for an answer paged by cursor (`session/list`, say): the items from
/// `cursor` on, at most `size` of them, and the cursor of the next page if there is one. The
/// cursor is opaque to the client; here it is the position of the page's first item. A
/// cursor this function did not make is refused with -32602.
///
/// ```
/// use switchboard_acp::session::page;
///
/// let (first, next) = page(vec![1, 2, 3, 4, 5], None, 2).unwrap();
/// assert_eq!((first, next.as_deref()), (vec![1, 2], Some("2")));
/// let (last, next) = page(vec![1, 2, 3, 4, 5], Some("4"), 2).unwrap();
/// assert_eq!((last, next), (vec![5], None));
/// assert_eq!(page(vec![1], Some("nonsense"), 2).unwrap_err().code(), -32602);
/// ```
pub fn page<T>(
    items: Vec<T>,
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), switchboard::Error> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|&start| start <= items.len())
            .ok_or_else(|| {
                switchboard::Error::invalid_params(format!(
                    "`{cursor}` is not a cursor of this list"
                ))
            })?,
    };
    let size = size.max(1);
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}
