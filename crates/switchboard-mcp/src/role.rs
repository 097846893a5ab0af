//! The two MCP roles and how they pair up.
//!
//! | role | counterpart | what it does |
//! |---|---|---|
//! | [`McpClient`] (a host: an editor, an agent) | [`McpServer`] | calls tools, reads resources, gets prompts |
//! | [`McpServer`] | [`McpClient`] | offers tools, resources and prompts |
//!
//! A handler of a server connection receives a `ConnectionTo<McpClient>`; a client's
//! `connect_with` closure gets a `ConnectionTo<McpServer>`.

use switchboard::cancel::Cancellation;
use switchboard::handler::{Chain, NullHandler};
use switchboard::stream::Streaming;
use switchboard::{Builder, ConnectionTo, Dispatch, Error, Role};

use crate::gate::InitializeGate;

/// An MCP client: the side that calls tools, reads resources and gets prompts.
///
/// ```
/// use switchboard::Role;
/// use switchboard_mcp::{McpClient, McpServer};
///
/// assert_eq!(McpClient.counterpart(), McpServer);
/// ```
///
/// A `ping` from the server that no handler took is answered `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct McpClient;

/// An MCP server: offers tools, resources and prompts to a client.
///
/// `McpServer.builder()` starts with an [`InitializeGate`]: requests of the handshake
/// protocol that come before `initialize` are refused, as the protocol requires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct McpServer;

/// MCP's cancellation: `notifications/cancelled {"requestId": id, "reason": why}`, and no
/// answer may follow a cancelled request. Both roles declare it, so the core sends it for a
/// dropped or cancelled request, takes an incoming one before any handler (it drives
/// [`Responder::cancelled`](switchboard::Responder::cancelled)), and sends nothing for a
/// request the client cancelled.
pub const MCP_CANCELLATION: Cancellation = Cancellation::notification("notifications/cancelled")
    .reason_field("reason")
    .no_answer_follows();

/// How MCP carries a request answered by a stream of items (see
/// [`switchboard::stream`]): on its progress notifications, since MCP has no partial results.
///
/// - The caller asks with a `progressToken` in the request's `_meta`, as for progress.
/// - Each item is a `notifications/progress {"progressToken": …, "progress": n, "_meta":
///   {"switchboard/item": item}}`: `progress` counts the items sent so far (1, 2, …), so it
///   grows as MCP requires, and the item rides in `_meta` under a key of our own prefix. A
///   peer that knows nothing of streams sees a progress counter going up.
/// - MCP has no credits: the window is held by the caller's buffer, and then by the
///   transport (a full buffer stops the caller's connection reading).
/// - Progress notifications without the item (a server's ordinary progress) are not items:
///   they reach the handlers as before. Cancelling is MCP's `notifications/cancelled`
///   ([`MCP_CANCELLATION`]).
pub const MCP_STREAMING: Streaming = Streaming::items("notifications/progress")
    .request_token_in("_meta", "progressToken")
    .item_token("progressToken")
    .item_counter("progress")
    .item_value_in("_meta", "switchboard/item");

impl Role for McpClient {
    type Counterpart = McpServer;

    fn counterpart(&self) -> McpServer {
        McpServer
    }

    fn cancellation(&self) -> Cancellation {
        MCP_CANCELLATION
    }

    fn streaming(&self) -> Streaming {
        MCP_STREAMING
    }

    async fn default_dispatch(
        &self,
        dispatch: Dispatch,
        _cx: ConnectionTo<McpServer>,
    ) -> Result<(), Error> {
        answer_ping(dispatch).await
    }
}

impl Role for McpServer {
    type Counterpart = McpClient;

    fn counterpart(&self) -> McpClient {
        McpClient
    }

    fn cancellation(&self) -> Cancellation {
        MCP_CANCELLATION
    }

    fn streaming(&self) -> Streaming {
        MCP_STREAMING
    }

    async fn default_dispatch(
        &self,
        dispatch: Dispatch,
        _cx: ConnectionTo<McpClient>,
    ) -> Result<(), Error> {
        answer_ping(dispatch).await
    }
}

/// What either side does with a message no handler took: `ping` is answered `{}` (MCP lets
/// either side ping the other at any time, and wants an answer), everything else gets the
/// core's treatment (-32601 for a request).
async fn answer_ping(dispatch: Dispatch) -> Result<(), Error> {
    match dispatch {
        Dispatch::Request(request, responder) if request.method() == "ping" => {
            responder.respond(serde_json::json!({}))
        }
        other => switchboard::role::unclaimed(other).await,
    }
}

impl McpClient {
    /// Starts building a client connection.
    pub fn builder(self) -> Builder<McpClient> {
        Builder::new(self)
    }
}

impl McpServer {
    /// Starts building a server connection, gated on `initialize` (see [`InitializeGate`]).
    pub fn builder(self) -> Builder<McpServer, Chain<NullHandler, InitializeGate>> {
        Builder::new(self).with_handler(InitializeGate::default())
    }
}
