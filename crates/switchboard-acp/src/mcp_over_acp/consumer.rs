//! The agent's side: an MCP server the client offers, as a component an MCP client
//! connection is connected to.
//!
//! The component is a channel pair with a bridge on the far end. The bridge is an
//! [`McpServer`]-role connection that serves nothing itself: each MCP request it receives
//! becomes an `mcp/message` request on the agent's ACP connection, and the answer comes back
//! to the MCP client with the request's own id; a request the MCP client cancels cancels its
//! `mcp/message`. The client's `mcp/message` notifications for
//! this `serverId` reach the bridge through a keyed handler on the ACP connection, which
//! passes them on as MCP notifications. The channel's queues are bounded, and nothing else is
//! queued here.

use std::future::Future;

use serde_json::{Map, Value};
use switchboard::message::RequestId;
use switchboard::transport::{Transport, TransportConfig};
use switchboard::{
    Builder, Channel, ConnectTo, ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage,
};
use switchboard_mcp::{McpClient, McpServer};

use super::{from_mcp_error, inner_message, is_mcp_message, params_of, server_key};
use crate::role::Client;
use crate::schema::{
    McpServerAcpId, MessageMcpNotification, MessageMcpRequest, MessageMcpResponse,
};

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
/// notifications `acp` receives for `server_id` reach it as MCP notifications.
///
/// [`use_server`] runs it over an in-process channel. Use it directly when the MCP client is
/// elsewhere: the conductor bridges an agent's stdio MCP server process to a server the
/// client offers this way. While it runs it holds the keyed handler for `server_id` on
/// `acp`, so one bridge per `serverId` at a time.
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
    let requests = ForwardRequests {
        acp: acp.clone(),
        server_id: server_id.clone(),
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
                },
            );
            bridge.input_ended().await;
            Ok(())
        })
}

/// On the bridge: the MCP client's requests, sent on as `mcp/message`; its notifications,
/// which the schema has no way to carry yet, dropped.
struct ForwardRequests {
    acp: ConnectionTo<Client>,
    server_id: McpServerAcpId,
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
                let request_id = request_id_text(responder.id());
                let message = MessageMcpRequest::new(self.server_id.clone(), request_id, method)
                    .params(params);
                // Forwarded: a cancel from the MCP client cancels the `mcp/message`.
                self.acp
                    .send_request(message)
                    .map(|answer| match answer {
                        MessageMcpResponse::Result { result, .. } => Ok(result),
                        MessageMcpResponse::Error { error, .. } => Err(from_mcp_error(error)),
                        _ => Err(Error::internal_error(
                            "an `mcp/message` answer of a kind this version does not know",
                        )),
                    })
                    .forward_response_to(responder);
                Ok(Handled::Yes)
            }
            Dispatch::Notification(notification) => {
                tracing::debug!(
                    server = %self.server_id,
                    method = notification.method(),
                    "MCP over ACP carries no notifications to the server: dropped"
                );
                Ok(Handled::Yes)
            }
            response @ Dispatch::Response(..) => Ok(Handled::No {
                message: response,
                retry: false,
            }),
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
                return Ok(Handled::No {
                    message: other,
                    retry: false,
                });
            }
        };
        let carried =
            <MessageMcpNotification as JsonRpcMessage<Client>>::from_untyped(notification)?;
        let params: Option<Map<String, Value>> = carried.params;
        self.bridge
            .send_notification(inner_message(carried.method, params)?)?;
        Ok(Handled::Yes)
    }
}
