//! MCP servers attached to ACP sessions ("MCP over ACP", schema feature
//! `unstable_mcp_over_acp`).
//!
//! A client (or a proxy) can offer the agent an MCP server that lives on its own side of the
//! ACP connection: it lists `{"type": "acp", "name", "serverId"}` in a session's
//! `mcpServers`, and the agent, if it advertised `agentCapabilities.mcpCapabilities.acp`,
//! reaches that server with `mcp/message`:
//!
//! - the agent's MCP requests travel as `mcp/message` requests to the client
//!   (`{serverId, requestId, method, params}`), answered `{"result": ...}` or
//!   `{"error": ...}`: the inner MCP outcome. An outer JSON-RPC error means the binding itself
//!   failed (an unknown `serverId`, say);
//! - the server's notifications for a request in progress (progress, log messages) come back
//!   as `mcp/message` notifications naming that request.
//!
//! This module gives both ends, each as an ordinary `switchboard-mcp` connection running
//! over an in-process channel:
//!
//! - `consumer.rs`: [`use_server`], the agent's side: an [`AcpMcpServer`] component that an
//!   [`McpClient`](switchboard_mcp::McpClient) connection is connected to, so that
//!   [`McpClientExt`](switchboard_mcp::client::McpClientExt) works as against any server;
//! - `provider.rs`: [`attach`] and [`attach_service`], the client's side (or a proxy's): an
//!   MCP server served to the agent under one `serverId`, until the returned
//!   [`AttachedMcpServer`] is dropped;
//! - `declare.rs`: the session's side of it. [`offer_service`] attaches a server under a
//!   [`new_server_id`] and declares it in the `session/new` (load, resume) about to be sent;
//!   the agent [`advertise`]s `mcpCapabilities.acp` and finds the entries with
//!   [`acp_servers`].
//!
//! Routing is keyed by `serverId` (one hash lookup, see
//! [`ConnectionTo::add_keyed_handler`](switchboard::ConnectionTo::add_keyed_handler)):
//! `serverId`s are unique on a connection, so two sessions that both name a server `"docs"`
//! still reach their own. An `mcp/message` request for a `serverId` nothing is attached
//! under is answered [`unknown_server`] by the [`Client`](crate::Client) role, and one whose
//! server went away mid-request [`backend_failure`]: the official SDK's codes.
//!
//! What the schema does not carry (1.17 to 1.20): requests from the server to the agent
//! (sampling, roots, elicitation), which the provider answers itself, and the agent's MCP
//! notifications: `notifications/initialized` the provider sends to its server itself once
//! `initialize` is answered, and `notifications/cancelled` travels as ACP's cancellation of
//! the `mcp/message`.

mod consumer;
mod declare;
mod provider;
mod stateless;

pub use consumer::{AcpMcpServer, serve_bridge, use_server};
pub use declare::{
    DeclaresMcpServers, acp_servers, advertise, is_supported_by, new_server_id, offer,
    offer_service,
};
pub use provider::{AttachedMcpServer, ReachesAgent, attach, attach_service};

use serde_json::{Map, Value};
use switchboard::dynamic::RoutingKey;
use switchboard::{Error, UntypedMessage};

use crate::schema::{McpError, McpServerAcpId};

/// The params field that names the server of every `mcp/message`.
pub const SERVER_ID_FIELD: &str = "serverId";

/// The routing key of one server's `mcp/message`s.
///
/// ```
/// use switchboard_acp::mcp_over_acp::server_key;
/// use switchboard_acp::schema::McpServerAcpId;
///
/// let key = server_key(&McpServerAcpId::new("docs-1"));
/// assert_eq!((key.field(), key.value()), ("serverId", "docs-1"));
/// ```
pub fn server_key(id: &McpServerAcpId) -> RoutingKey {
    RoutingKey::new(SERVER_ID_FIELD, id.0.as_ref())
}

/// The outer error code of an `mcp/message` for a server that is not (or no longer) there:
/// "MCP server registration unavailable", as the official SDK answers it.
pub const MCP_SERVER_UNAVAILABLE: i32 = -33001;

/// The outer error code of an `mcp/message` whose server failed without an MCP outcome (its
/// connection ended mid-request), as the official SDK answers it.
pub const MCP_BACKEND_FAILURE: i32 = -33002;

/// The outer error for an `mcp/message` naming a server this side does not have:
/// [`MCP_SERVER_UNAVAILABLE`], with `{"serverId": id}` as data.
///
/// ```
/// let error = switchboard_acp::mcp_over_acp::unknown_server("docs-9");
/// assert_eq!(error.code(), -33001);
/// assert_eq!(error.data().unwrap()["serverId"], "docs-9");
/// ```
pub fn unknown_server(id: &str) -> Error {
    Error::new(
        MCP_SERVER_UNAVAILABLE,
        format!("no MCP server with serverId `{id}` on this connection"),
    )
    .with_data(serde_json::json!({ SERVER_ID_FIELD: id }))
}

/// The outer error for an `mcp/message` whose server `id` failed with `error` before it
/// answered: [`MCP_BACKEND_FAILURE`], saying why, with `{"serverId": id}` as data.
pub fn backend_failure(id: &str, error: &Error) -> Error {
    Error::new(
        MCP_BACKEND_FAILURE,
        format!(
            "the MCP server `{id}` failed before it answered: {}",
            error.message()
        ),
    )
    .with_data(serde_json::json!({ SERVER_ID_FIELD: id }))
}

/// The `serverId` of an `mcp/message`, if it has a string one.
pub(crate) fn server_id_of(message: &UntypedMessage) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Addressed {
        #[serde(rename = "serverId")]
        server_id: String,
    }
    message
        .parse_params::<Addressed>()
        .ok()
        .map(|addressed| addressed.server_id)
}

/// Whether `method` is `mcp/message`.
pub(crate) fn is_mcp_message(method: &str) -> bool {
    method == crate::schema::CLIENT_METHOD_NAMES.mcp_message
}

/// The params of an inner MCP message as the schema carries them: a JSON object, or none.
pub(crate) fn params_of(message: &UntypedMessage) -> Result<Option<Map<String, Value>>, Error> {
    if message.params().is_none() {
        return Ok(None);
    }
    message.parse_params::<Option<Map<String, Value>>>()
}

/// An inner MCP message rebuilt from its method and params.
pub(crate) fn inner_message(
    method: String,
    params: Option<Map<String, Value>>,
) -> Result<UntypedMessage, Error> {
    match params {
        Some(params) => UntypedMessage::new(method, params),
        None => Ok(UntypedMessage::from_raw(method, None)),
    }
}

/// An inner MCP error as the error a switchboard request fails with.
pub(crate) fn from_mcp_error(error: McpError) -> Error {
    let converted = Error::new(error.code, error.message);
    match error.data {
        crate::schema::MaybeUndefined::Value(data) => converted.with_data(data),
        crate::schema::MaybeUndefined::Null => converted.with_data(Value::Null),
        crate::schema::MaybeUndefined::Undefined => converted,
    }
}

/// A switchboard error answer as an inner MCP error.
pub(crate) fn to_mcp_error(error: &Error) -> McpError {
    let converted = McpError::new(error.code(), error.message());
    match error.data() {
        Some(data) => converted.data(data.clone()),
        None => converted,
    }
}
