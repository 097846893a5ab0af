//! The agent's side: an MCP server the client offers, as a component an MCP client
//! connection is connected to.
//!
//! The component is a channel pair with a bridge on the far end. The bridge is an
//! [`McpServer`]-role connection that serves nothing itself: each MCP request it receives
//! becomes an `mcp/message` request on the agent's ACP connection, and the answer comes back
//! to the MCP client with the request's own id; a request the MCP client cancels cancels its
//! `mcp/message`. Each bridge puts its own number before the `requestId`s it sends, so that
//! several MCP client connections to one server never send the same one. The client's
//! `mcp/message` notifications for this `serverId` reach the bridges through keyed handlers
//! on the ACP connection; each takes those that name one of its requests and passes them on
//! as MCP notifications. A provider that speaks stateless MCP is spoken to that way (see
//! `stateless.rs`). The channel's queues are bounded, and nothing else is queued here.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use switchboard::message::RequestId;
use switchboard::transport::{Transport, TransportConfig};
use switchboard::{
    Builder, Channel, ConnectTo, ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage,
    Responder, SentRequest,
};
use switchboard_mcp::{McpClient, McpServer};

use super::stateless::Handshake;
use super::{from_mcp_error, inner_message, is_mcp_message, params_of, server_key};
use crate::role::Client;
use crate::schema::{
    McpServerAcpId, MessageMcpNotification, MessageMcpRequest, MessageMcpResponse,
};

/// The method that opens an MCP session with a handshake.
const INITIALIZE: &str = "initialize";

/// The MCP server that the client offers under `server_id`, reached over the agent's ACP
/// connection `acp`: connect an [`McpClient`] connection to it.
///
/// ```
/// use switchboard_acp::mcp_over_acp::use_server;
/// use switchboard_acp::Client;
/// use switchboard_mcp::McpClient;
/// use switchboard_mcp::client::{McpClientExt, client_info};
///
/// async fn list_tools(acp: switchboard::ConnectionTo<Client>) -> Result<usize, switchboard::Error> {
///     McpClient
///         .builder()
///         .connect_with(use_server(&acp, "docs-1"), async |mcp| {
///             mcp.initialize(client_info("my-agent", "1.0.0")).await?;
///             Ok(mcp.list_tools(None).block_task().await?.tools.len())
///         })
///         .await
/// }
/// # drop(list_tools);
/// ```
pub fn use_server(
    acp: &ConnectionTo<Client>,
    server_id: impl Into<McpServerAcpId>,
) -> AcpMcpServer {
    AcpMcpServer {
        acp: acp.clone(),
        server_id: server_id.into(),
    }
}

/// A component ([`ConnectTo<McpServer>`](ConnectTo), for an [`McpClient`] connection) that
/// carries MCP over the agent's ACP connection to one server the client offers. Made by
/// [`use_server`].
#[derive(Debug)]
pub struct AcpMcpServer {
    /// The agent's connection to the client, which the `mcp/message`s travel on.
    acp: ConnectionTo<Client>,
    /// The server, as the session declared it.
    server_id: McpServerAcpId,
}

impl ConnectTo<McpClient> for AcpMcpServer {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let (mcp_end, bridge_end) = Channel::duplex();
        let transport = <Channel as ConnectTo<McpClient>>::into_transport(mcp_end, config)?;
        let bridge = serve_bridge(&self.acp, self.server_id, bridge_end);
        Ok(transport.with_driver(bridge))
    }
}

/// Serves the bridge of [`use_server`] to the MCP client at the other end of `mcp` (any
/// component: a TCP stream, a child's stdio, a channel), until that client hangs up: its
/// requests become `mcp/message` requests on `acp` for `server_id`, and the `mcp/message`
/// notifications `acp` receives for its requests reach it as MCP notifications.
///
/// [`use_server`] runs it over an in-process channel. Use it directly when the MCP client is
/// elsewhere: the conductor bridges an agent's stdio MCP server process to a server the
/// client offers this way. Any number of bridges may serve one `serverId` at once: each
/// numbers its own requests.
///
/// # Errors
///
/// When the connection to `mcp` cannot be set up or fails.
pub fn serve_bridge(
    acp: &ConnectionTo<Client>,
    server_id: impl Into<McpServerAcpId>,
    mcp: impl ConnectTo<McpServer>,
) -> impl Future<Output = Result<(), Error>> + Send + 'static {
    let acp = acp.clone();
    let server_id = server_id.into();
    let tag = format!("{}-", NEXT_BRIDGE.fetch_add(1, Ordering::Relaxed));
    let requests = ForwardRequests {
        outbound: Outbound {
            acp: acp.clone(),
            server_id: server_id.clone(),
            tag: tag.clone(),
        },
        stateless: Arc::new(OnceLock::new()),
    };
    Builder::new(McpServer)
        .name(format!("mcp-over-acp {server_id}"))
        .with_handler(requests)
        .connect_with(mcp, async move |bridge: ConnectionTo<McpClient>| {
            // Removed when the MCP client goes away and the bridge ends.
            let _notifications = acp.add_keyed_handler(
                server_key(&server_id),
                ForwardNotifications {
                    bridge: bridge.clone(),
                    tag,
                },
            );
            bridge.input_ended().await;
            Ok(())
        })
}

/// Numbers the bridges of this process: each puts its number before the ids of its
/// requests, so that two MCP client connections to one server never send the same
/// `requestId`, and each knows the notifications for its own.
static NEXT_BRIDGE: AtomicU64 = AtomicU64::new(1);

/// Where a bridge's `mcp/message`s go: one server, on the agent's ACP connection.
#[derive(Clone)]
struct Outbound {
    acp: ConnectionTo<Client>,
    server_id: McpServerAcpId,
    /// This bridge's prefix of `requestId`s.
    tag: String,
}

impl Outbound {
    /// Sends the MCP request `method` (which the MCP client sent as `id`) and gives its inner
    /// outcome to `responder`; the MCP client's cancel cancels it.
    fn forward(
        &self,
        id: &RequestId,
        method: String,
        params: Option<Map<String, Value>>,
        responder: Responder<Value>,
    ) {
        self.send(id, method, params)
            .map(|answer| match answer {
                MessageMcpResponse::Result { result, .. } => Ok(result),
                MessageMcpResponse::Error { error, .. } => Err(from_mcp_error(error)),
                _ => Err(Error::internal_error(
                    "an `mcp/message` answer of a kind this version does not know",
                )),
            })
            .forward_response_to(responder);
    }

    fn send(
        &self,
        id: &RequestId,
        method: String,
        params: Option<Map<String, Value>>,
    ) -> SentRequest<MessageMcpResponse> {
        let request_id = format!("{}{}", self.tag, request_id_text(id));
        let message =
            MessageMcpRequest::new(self.server_id.clone(), request_id, method).params(params);
        self.acp.send_request(message)
    }
}

/// On the bridge: the MCP client's requests, sent on as `mcp/message`; its notifications,
/// which the schema has no way to carry, dropped.
struct ForwardRequests {
    outbound: Outbound,
    /// Set once the provider was found to speak stateless MCP: then every request carries
    /// the stateless `_meta` made from this handshake.
    stateless: Arc<OnceLock<Handshake>>,
}

impl ForwardRequests {
    /// Asks the provider `server/discover` in place of `initialize`, and answers the MCP
    /// client from it; a provider without stateless MCP gets the `initialize` itself.
    fn open(
        &self,
        id: &RequestId,
        params: Option<Map<String, Value>>,
        responder: Responder<Value>,
    ) {
        let handshake = Handshake::of(params.as_ref());
        let (discover, discover_params) = handshake.discover();
        let (outbound, stateless, id) = (
            self.outbound.clone(),
            Arc::clone(&self.stateless),
            id.clone(),
        );
        let server_id = self.outbound.server_id.0.to_string();
        self.outbound
            .send(&id, discover, discover_params)
            .on_receiving_result(async move |answer| {
                let discovered = match answer {
                    Ok(MessageMcpResponse::Result { result, .. }) => {
                        handshake.answer(result, &server_id)
                    }
                    Ok(_) => None,
                    Err(error) => return responder.respond_with_error(error),
                };
                match discovered {
                    Some(answer) => {
                        let _ = stateless.set(handshake);
                        responder.respond(answer)
                    }
                    None => {
                        outbound.forward(&id, INITIALIZE.to_owned(), params, responder);
                        Ok(())
                    }
                }
            });
    }
}

impl Handler<McpClient> for ForwardRequests {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<McpClient>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Request(request, responder) => {
                let params = match params_of(&request) {
                    Ok(params) => params,
                    Err(error) => {
                        responder.respond_with_error(error)?;
                        return Ok(Handled::Yes);
                    }
                };
                let (method, _) = request.into_parts();
                let id = responder.id().clone();
                if method == INITIALIZE {
                    self.open(&id, params, responder);
                    return Ok(Handled::Yes);
                }
                let params = match self.stateless.get() {
                    Some(handshake) => Some(handshake.stateless(params)),
                    None => params,
                };
                self.outbound.forward(&id, method, params, responder);
                Ok(Handled::Yes)
            }
            Dispatch::Notification(notification) => {
                tracing::debug!(
                    server = %self.outbound.server_id,
                    method = notification.method(),
                    "MCP over ACP carries no notifications to the server: dropped"
                );
                Ok(Handled::Yes)
            }
            response @ Dispatch::Response(..) => Ok(Handled::pass(response)),
        }
    }
}

/// The inner request id: the MCP request's own id, as text.
fn request_id_text(id: &RequestId) -> String {
    match id {
        RequestId::Str(text) => text.clone(),
        other => other.to_string(),
    }
}

/// On the ACP connection, keyed by `serverId`: the client's `mcp/message` notifications for
/// this server, passed to the MCP client as the notifications they carry.
struct ForwardNotifications {
    bridge: ConnectionTo<McpClient>,
    /// The bridge's prefix of `requestId`s: notifications naming another bridge's request
    /// are that bridge's.
    tag: String,
}

impl Handler<Client> for ForwardNotifications {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Client>,
    ) -> Result<Handled<Dispatch>, Error> {
        let notification = match dispatch {
            Dispatch::Notification(notification) if is_mcp_message(notification.method()) => {
                notification
            }
            other => {
                return Ok(Handled::pass(other));
            }
        };
        let carried =
            <MessageMcpNotification as JsonRpcMessage<Client>>::from_untyped(notification)?;
        if !carried.request_id.0.starts_with(&self.tag) {
            let message = JsonRpcMessage::<Client>::into_untyped(carried)?;
            return Ok(Handled::pass(Dispatch::Notification(message)));
        }
        let params: Option<Map<String, Value>> = carried.params;
        self.bridge
            .send_notification(inner_message(carried.method, params)?)?;
        Ok(Handled::Yes)
    }
}
