//! What every connection of a running chain shares: the links to each node, and how the
//! chain ended.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use switchboard::{ConnectionTo, Error};
use switchboard_acp::{Agent, Client, Proxy};
use tokio::sync::watch;

use crate::mcp_bridge::Bridges;

/// A connection of the conductor, to one node of the chain.
pub(crate) enum Link {
    /// Node 0: the editor, to which the conductor is an agent.
    Editor(ConnectionTo<Client>),
    /// Nodes 1..=n: the proxies, to which the conductor is their conductor.
    Proxy(ConnectionTo<Proxy>),
    /// Node n + 1: the agent, to which the conductor is a client.
    Agent(ConnectionTo<Agent>),
}

impl Link {
    /// Resolves once fewer than `bytes` are queued on this connection.
    pub(crate) async fn queued_below(&self, bytes: usize) {
        match self {
            Link::Editor(cx) => cx.queued_below(bytes).await,
            Link::Proxy(cx) => cx.queued_below(bytes).await,
            Link::Agent(cx) => cx.queued_below(bytes).await,
        }
    }

    /// The bytes queued on this connection.
    pub(crate) fn queued_bytes(&self) -> usize {
        match self {
            Link::Editor(cx) => cx.queued_bytes(),
            Link::Proxy(cx) => cx.queued_bytes(),
            Link::Agent(cx) => cx.queued_bytes(),
        }
    }
}

/// A flag that is raised once, and that any number of tasks can wait for.
pub(crate) struct Flag(watch::Sender<bool>);

impl Flag {
    pub(crate) fn new() -> Self {
        Flag(watch::Sender::new(false))
    }

    pub(crate) fn raise(&self) {
        self.0.send_replace(true);
    }

    pub(crate) fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    pub(crate) async fn raised(&self) {
        let mut watching = self.0.subscribe();
        // The sender lives in `self`, so the only error (a dropped sender) cannot happen.
        let _ = watching.wait_for(|raised| *raised).await;
    }
}

/// How much each hop may queue, and where the conductor waits for room.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// The editor's and the agent's messages are taken in only while every hop on their
    /// path holds fewer bytes than this: half of the chain's `max_outgoing_bytes`.
    pub(crate) room: usize,
    /// No hop's queue ever holds more: what a proxy sends beyond it ends the chain.
    pub(crate) ceiling: usize,
}

impl Bounds {
    /// The bounds for `proxies` proxies with `limit` bytes per hop.
    ///
    /// Once the ends stop, each proxy can still pass on what it holds: its own queue (a
    /// Switchboard proxy stops reading at half of a limit like ours, so it holds about one
    /// limit) and the pipes on both sides. The ceiling leaves one limit per proxy for that,
    /// on top of the limit itself and the room the ends wait for.
    pub(crate) fn new(limit: usize, proxies: usize) -> Bounds {
        let limit = limit.max(2);
        Bounds {
            room: limit / 2,
            ceiling: limit.saturating_mul(proxies + 2),
        }
    }
}

/// The shared state of one run of a chain.
pub(crate) struct ChainState {
    /// Who each node is, for messages: "the editor", "proxy 1 (`name`)", "the agent".
    names: Vec<String>,
    pub(crate) bounds: Bounds,
    links: Vec<OnceLock<Link>>,
    linked: AtomicUsize,
    /// Every node is linked, or the chain ended before they all were.
    ready: Flag,
    /// The chain is ending: every component connection closes.
    ended: Flag,
    /// Why it ended, when a component (not the editor) ended it.
    cause: Mutex<Option<Error>>,
    /// Every component connection has closed: what they owed the editor is queued.
    components_closed: Flag,
    /// The MCP bridge, for an agent without `mcpCapabilities.acp` (see `mcp_bridge`).
    pub(crate) bridges: Bridges,
}

impl ChainState {
    pub(crate) fn new(names: Vec<String>, bounds: Bounds, bridges: Bridges) -> Self {
        ChainState {
            bounds,
            links: names.iter().map(|_| OnceLock::new()).collect(),
            names,
            linked: AtomicUsize::new(0),
            ready: Flag::new(),
            ended: Flag::new(),
            cause: Mutex::new(None),
            components_closed: Flag::new(),
            bridges,
        }
    }

    /// The index of the agent, the last node.
    pub(crate) fn agent_node(&self) -> usize {
        self.links.len() - 1
    }

    pub(crate) fn name(&self, node: usize) -> &str {
        self.names.get(node).map_or("a component", String::as_str)
    }

    pub(crate) fn link(&self, node: usize, link: Link) {
        if self.links[node].set(link).is_ok()
            && self.linked.fetch_add(1, Ordering::AcqRel) + 1 == self.links.len()
        {
            self.ready.raise();
        }
    }

    /// Waits until messages can be routed: every node is linked (or the chain has ended, and
    /// routing fails with the reason).
    pub(crate) async fn ready(&self) {
        tokio::select! {
            () = self.ready.raised() => {}
            () = self.ended.raised() => {}
        }
    }

    /// The connection to `node`, or why there is none.
    pub(crate) fn get(&self, node: usize) -> Result<&Link, Error> {
        if self.ended.is_raised() {
            return Err(self.ended_error());
        }
        self.links
            .get(node)
            .and_then(OnceLock::get)
            .ok_or_else(|| self.ended_error())
    }

    /// The hops a message from `node` may cross, each of which must have room before it is
    /// taken in: everything below the editor, everything above the agent, nothing for a
    /// proxy (see `route`).
    pub(crate) fn path_from(&self, node: usize) -> std::ops::Range<usize> {
        let agent = self.agent_node();
        match node {
            0 => 1..agent + 1,
            node if node == agent => 0..agent,
            _ => 0..0,
        }
    }

    /// Ends the chain. The first call decides why: `None` for the editor hanging up.
    pub(crate) fn end(&self, cause: Option<Error>) {
        if self.ended.is_raised() {
            return;
        }
        if let Some(cause) = cause {
            let mut slot = self.cause.lock().unwrap_or_else(PoisonError::into_inner);
            slot.get_or_insert(cause);
        }
        self.ended.raise();
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended.is_raised()
    }

    pub(crate) async fn ended(&self) {
        self.ended.raised().await;
    }

    pub(crate) fn cause(&self) -> Option<Error> {
        self.cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn components_closed(&self) {
        self.components_closed.raise();
    }

    pub(crate) async fn wait_components_closed(&self) {
        self.components_closed.raised().await;
    }

    /// The error a request gets when the chain has ended: the cause, if a component ended it.
    pub(crate) fn ended_error(&self) -> Error {
        self.cause()
            .unwrap_or_else(|| Error::connection_closed("the chain has ended"))
    }

    /// `error`, told in the chain's terms: a connection-closed error once a component has
    /// ended the chain becomes the cause, which names the component and says what became
    /// of it.
    pub(crate) fn explain(&self, error: Error) -> Error {
        if error.is_connection_closed()
            && let Some(cause) = self.cause()
        {
            return cause;
        }
        error
    }
}
