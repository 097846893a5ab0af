//! Routing: which node a message goes to next, and how it is written for that node.
//!
//! Nodes are numbered from the editor (0) through the proxies (1..=n) to the agent (n + 1).
//! A message travels *down* (towards the agent) or *up* (towards the editor):
//!
//! | from | message | goes |
//! |---|---|---|
//! | the editor | any | down |
//! | the agent | any | up |
//! | a proxy | `proxy/successor` (unwrapped first) | down |
//! | a proxy | anything else | up |
//!
//! and is written for the node it reaches: to a proxy from above as it is (with `initialize`
//! renamed `proxy/initialize`), to a proxy from below inside `proxy/successor`, to the agent
//! and to the editor as it is.
//!
//! Backpressure, without a cycle (the book's Guarantees chapter has the whole argument):
//!
//! - A message from the editor is taken in only once every hop below it has room, and one
//!   from the agent once every hop above it has; while there is none, the conductor stops
//!   reading that end, and the end slows down.
//! - A message from a proxy is never kept waiting, and the conductor never stops reading a
//!   proxy (its connections do not pause, see `PauseReading::Never`): a proxy writes back to
//!   the conductor what the conductor writes to it, so any wait of ours on a proxy could
//!   close a circle of waits. What proxies send is bounded by what the ends let in; a proxy
//!   that sends past the chain's ceiling anyway ends the chain, named, rather than growing
//!   the conductor without bound.

use std::sync::Arc;

use switchboard::{
    ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage, JsonRpcRequest, RawJson, Role,
    UntypedMessage,
};
use switchboard_acp::proxy::{
    SUCCESSOR_METHOD, as_proxy_initialize, unwrap_successor, wrap_successor,
};

use crate::state::{ChainState, Link};

/// The handler of each of the conductor's connections: passes every request and
/// notification on to the next node, at once and so in arrival order.
pub(crate) struct Route {
    node: usize,
    state: Arc<ChainState>,
    ready: bool,
}

impl Route {
    pub(crate) fn new(node: usize, state: Arc<ChainState>) -> Self {
        Route {
            node,
            state,
            ready: false,
        }
    }
}

impl<Cp: Role> Handler<Cp> for Route {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        if let Dispatch::Response(..) = dispatch {
            return Ok(Handled::pass(dispatch));
        }
        if !self.ready {
            // Only at the start: a message can arrive before the other connections are up.
            self.state.ready().await;
            self.ready = true;
        }
        // An end waits for room along its whole path before the message is taken in. Looked
        // at first, so a hop with room costs one load, not a future.
        let room = self.state.bounds.room;
        for hop in self.state.path_from(self.node) {
            if let Ok(link) = self.state.get(hop)
                && link.queued_bytes() >= room
            {
                link.queued_below(room).await;
            }
        }
        let (to, dispatch) = next_hop(&self.state, self.node, dispatch)?;
        let link = match self.state.get(to) {
            Ok(link) => link,
            Err(error) => {
                if let Dispatch::Request(_, responder) = dispatch {
                    let _ = responder.respond_with_error(error.clone());
                }
                return Err(error);
            }
        };
        // Only a proxy's messages get here without a wait; one past the ceiling ends the chain.
        let queued = link.queued_bytes();
        if queued >= self.state.bounds.ceiling {
            let cause = Error::connection_closed(format!(
                "the chain broke: {} sent more than the conductor may hold for {} \
                 ({queued} bytes were waiting, the bound is {}): a proxy must not send \
                 faster than it is sent to",
                self.state.name(self.node),
                self.state.name(to),
                self.state.bounds.ceiling,
            ));
            self.state.end(Some(cause.clone()));
            if let Dispatch::Request(_, responder) = dispatch {
                let _ = responder.respond_with_error(cause.clone());
            }
            return Err(cause);
        }
        deliver(&self.state, link, to > self.node, dispatch)?;
        Ok(Handled::Yes)
    }
}

/// Where `dispatch`, received from `from`, goes next; a message from a proxy's agent side
/// comes out of its envelope.
fn next_hop(
    state: &ChainState,
    from: usize,
    dispatch: Dispatch,
) -> Result<(usize, Dispatch), Error> {
    if from == 0 {
        return Ok((1, dispatch));
    }
    if from == state.agent_node() || dispatch.method() != Some(SUCCESSOR_METHOD) {
        return Ok((from - 1, dispatch));
    }
    let inner = dispatch.map(|message| {
        unwrap_successor(message).map_err(|_| {
            Error::invalid_params(format!(
                "`proxy/successor` from {} carries no message: its params need \
                 {{\"method\": string, \"params\"?: ...}}",
                state.name(from)
            ))
        })
    })?;
    Ok((from + 1, inner))
}

/// Writes `dispatch` for the node at the other end of `link`, and sends it.
fn deliver(
    state: &Arc<ChainState>,
    link: &Link,
    down: bool,
    dispatch: Dispatch,
) -> Result<(), Error> {
    match (link, down) {
        (Link::Proxy(proxy), true) => send(
            state,
            proxy,
            dispatch.map(|message| Ok(as_proxy_initialize(message)))?,
        ),
        (Link::Proxy(proxy), false) => send(state, proxy, dispatch.map(wrap_successor)?),
        (Link::Agent(agent), _) => crate::mcp_bridge::to_agent(state, agent, dispatch),
        (Link::Editor(editor), _) => send(state, editor, dispatch),
    }
}

/// Sends `dispatch` on `to`. A request's answer goes back to its responder unchanged, except
/// that a connection-closed error is explained once the chain knows which component ended
/// it; cancelling the request cancels the one sent on.
pub(crate) fn send<Cp: Role>(
    state: &Arc<ChainState>,
    to: &ConnectionTo<Cp>,
    dispatch: Dispatch,
) -> Result<(), Error> {
    match dispatch {
        Dispatch::Request(message, responder) => {
            let state = Arc::clone(state);
            to.send_request(Forwarded(message))
                .map_err(move |error| state.explain(error))
                .forward_response_to(responder.cast());
            Ok(())
        }
        Dispatch::Notification(message) => to.send_notification(message),
        response @ Dispatch::Response(..) => to.send_proxied_message(response),
    }
}

/// A request passed on as it came, whose answer is passed back as it comes (raw JSON).
pub(crate) struct Forwarded(pub(crate) UntypedMessage);

impl<Cp> JsonRpcMessage<Cp> for Forwarded {
    fn matches_method(_method: &str) -> bool {
        true
    }

    fn method(&self) -> &str {
        self.0.method()
    }

    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        JsonRpcMessage::<Cp>::write_params(&self.0, out)
    }

    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        Ok(Forwarded(message))
    }

    fn into_untyped(self) -> Result<UntypedMessage, Error> {
        Ok(self.0)
    }
}

impl<Cp> JsonRpcRequest<Cp> for Forwarded {
    type Response = RawJson;
}
