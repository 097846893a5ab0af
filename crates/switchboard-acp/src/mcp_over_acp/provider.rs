//! The client's side (or a proxy's): an MCP server served to the agent under one
//! `serverId`.
//!
//! The server runs as an ordinary MCP server connection; a bridge, an [`McpClient`]-role
//! connection to it, takes the agent's `mcp/message` requests for this `serverId` (through
//! a keyed handler on the ACP connection), sends each on as the MCP request it carries and
//! answers with the inner outcome. A cancelled `mcp/message` cancels the MCP request it
//! carries. Notifications the server sends while a request is in progress go back as
//! `mcp/message` notifications naming that request: found by the `progressToken` the request
//! carried, or else the request sent last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::oneshot;
use futures::future::{Either, select};
use serde_json::Value;
use switchboard::dynamic::{DynamicHandlerRegistration, RoutingKey};
use switchboard::peer::FromPeer;
use switchboard::{
    Channel, ConnectTo, ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage, Role,
    UntypedMessage,
};
use switchboard_mcp::server::Service;
use switchboard_mcp::{McpClient, McpServer};

use super::{
    SERVER_ID_FIELD, backend_failure, inner_message, is_mcp_message, params_of, server_key,
    to_mcp_error,
};
use crate::role::{Agent, Conductor};
use crate::schema::{
    McpRequestId, McpServerAcpId, MessageMcpNotification, MessageMcpRequest, MessageMcpResponse,
};

/// A connection's counterpart through which MCP servers are offered to the agent: the agent
/// itself (a client's connection), or the conductor (a proxy's, whose agent side is its
/// successor, reached inside `proxy/successor`).
pub trait ReachesAgent: Role {
    /// Where the `serverId` of the agent's `mcp/message`s is, as they arrive here.
    fn server_route(server_id: &McpServerAcpId) -> RoutingKey;

    /// Adds `handler` for the agent's messages routed by `key`, as the agent sent them.
    fn route_from_agent(
        cx: &ConnectionTo<Self>,
        key: RoutingKey,
        handler: impl Handler<Self> + 'static,
    ) -> DynamicHandlerRegistration;

    /// Sends `notification` to the agent.
    fn notify_agent(
        cx: &ConnectionTo<Self>,
        notification: MessageMcpNotification,
    ) -> Result<(), Error>;
}

impl ReachesAgent for Agent {
    fn server_route(server_id: &McpServerAcpId) -> RoutingKey {
        server_key(server_id)
    }

    fn route_from_agent(
        cx: &ConnectionTo<Self>,
        key: RoutingKey,
        handler: impl Handler<Self> + 'static,
    ) -> DynamicHandlerRegistration {
        cx.add_keyed_handler(key, handler)
    }

    fn notify_agent(
        cx: &ConnectionTo<Self>,
        notification: MessageMcpNotification,
    ) -> Result<(), Error> {
        cx.send_notification(notification)
    }
}

impl ReachesAgent for Conductor {
    fn server_route(server_id: &McpServerAcpId) -> RoutingKey {
        // `proxy/successor` carries `{"method": ..., "params": {"serverId": ...}}`.
        RoutingKey::nested(["params", SERVER_ID_FIELD], server_id.0.as_ref())
    }

    fn route_from_agent(
        cx: &ConnectionTo<Self>,
        key: RoutingKey,
        handler: impl Handler<Self> + 'static,
    ) -> DynamicHandlerRegistration {
        cx.add_keyed_handler(key, FromPeer::new(Agent, handler))
    }

    fn notify_agent(
        cx: &ConnectionTo<Self>,
        notification: MessageMcpNotification,
    ) -> Result<(), Error> {
        cx.send_notification_to(Agent, notification)
    }
}

/// An MCP server attached to an ACP connection, served until this is dropped.
#[derive(Debug)]
pub struct AttachedMcpServer {
    /// The id the server is reached by; list it in the session's `mcpServers`.
    server_id: McpServerAcpId,
    /// The keyed handler for this server's `mcp/message`s: dropping it detaches the server.
    _routing: DynamicHandlerRegistration,
    /// Dropped with this, it ends the bridge, and so the server's connection.
    _stop: oneshot::Sender<()>,
}

impl AttachedMcpServer {
    /// The id the server is reached by.
    pub fn server_id(&self) -> &McpServerAcpId {
        &self.server_id
    }
}

/// Serves `service` to the agent on `acp` under `server_id`: [`attach`] with the service
/// running in process, on `acp`'s tasks.
pub async fn attach_service<Cp: ReachesAgent>(
    acp: &ConnectionTo<Cp>,
    server_id: impl Into<McpServerAcpId>,
    service: &Service,
) -> Result<AttachedMcpServer, Error> {
    let (client_end, server_end) = Channel::duplex();
    acp.spawn(service.serve(server_end));
    attach(acp, server_id, client_end).await
}

/// Serves the MCP server at `server` (any component an [`McpClient`] connects to: a channel
/// to an in-process server, a child process) to the agent on `acp` under `server_id`.
///
/// `acp` is a client's connection to the agent, or a proxy's to its conductor (whose agent
/// side is then served: the `mcp/message`s the agent sends through the chain for this
/// `serverId` stop here, and the others pass on).
///
/// Waits for the bridge to start, so call it outside the dispatch loop: in a `connect_with`
/// closure or a spawned task. `serverId`s must be unique on the connection: give each
/// session's servers their own ([`new_server_id`](super::new_server_id)).
pub async fn attach<Cp: ReachesAgent>(
    acp: &ConnectionTo<Cp>,
    server_id: impl Into<McpServerAcpId>,
    server: impl ConnectTo<McpClient>,
) -> Result<AttachedMcpServer, Error> {
    let server_id = server_id.into();
    let in_flight = Arc::new(Mutex::new(InFlight::default()));
    let (started, bridge) = oneshot::channel::<ConnectionTo<McpServer>>();
    let (stop, stopped) = oneshot::channel::<()>();
    let notifications = ForwardNotifications {
        acp: acp.clone(),
        server_id: server_id.clone(),
        in_flight: Arc::clone(&in_flight),
    };
    let running = McpClient
        .builder()
        .name(format!("mcp-over-acp {server_id}"))
        .with_handler(notifications)
        .connect_with(server, async move |mcp: ConnectionTo<McpServer>| {
            // The receiver only goes away if `attach` was dropped, which stops us too.
            let _ = started.send(mcp.clone());
            futures::future::select(Box::pin(mcp.input_ended()), stopped).await;
            Ok(())
        });
    acp.spawn(running);
    let mcp = bridge.await.map_err(|_| {
        Error::internal_error(format!(
            "the connection to MCP server `{server_id}` ended before it started"
        ))
    })?;
    let requests = ForwardRequests { mcp, in_flight };
    let routing = Cp::route_from_agent(acp, Cp::server_route(&server_id), requests);
    Ok(AttachedMcpServer {
        server_id,
        _routing: routing,
        _stop: stop,
    })
}

/// The inner requests sent on to the server and not yet answered, for notifications to name.
#[derive(Debug, Default)]
struct InFlight {
    /// By the `progressToken` each carried (as JSON text: tokens are strings or numbers).
    by_token: HashMap<String, McpRequestId>,
    /// In the order they were sent; the last names notifications without a token.
    order: Vec<McpRequestId>,
}

impl InFlight {
    fn started(&mut self, id: &McpRequestId, token: Option<String>) {
        if let Some(token) = token {
            self.by_token.insert(token, id.clone());
        }
        self.order.push(id.clone());
    }

    fn finished(&mut self, id: &McpRequestId, token: Option<&String>) {
        if let Some(token) = token {
            self.by_token.remove(token);
        }
        self.order.retain(|running| running != id);
    }

    fn named_by(&self, token: Option<&String>) -> Option<McpRequestId> {
        token
            .and_then(|token| self.by_token.get(token))
            .or_else(|| self.order.last())
            .cloned()
    }
}

/// The `progressToken` of an MCP message's params (in `_meta` for a request, at the top for
/// `notifications/progress`), as JSON text.
fn progress_token(
    params: Option<&serde_json::Map<String, Value>>,
    in_meta: bool,
) -> Option<String> {
    let params = params?;
    let holder = if in_meta {
        params.get("_meta")?.as_object()?
    } else {
        params
    };
    holder.get("progressToken").map(Value::to_string)
}

/// On the ACP connection, keyed by `serverId`: the agent's `mcp/message` requests, sent on
/// to the server.
struct ForwardRequests {
    mcp: ConnectionTo<McpServer>,
    in_flight: Arc<Mutex<InFlight>>,
}

impl<Cp: ReachesAgent> Handler<Cp> for ForwardRequests {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        let (request, responder) = match dispatch {
            Dispatch::Request(request, responder) if is_mcp_message(request.method()) => {
                (request, responder)
            }
            other => {
                return Ok(Handled::pass(other));
            }
        };
        let carried = match <MessageMcpRequest as JsonRpcMessage<Agent>>::from_untyped(request) {
            Ok(carried) => carried,
            Err(error) => {
                responder.respond_with_error(error)?;
                return Ok(Handled::Yes);
            }
        };
        let responder = responder.cast::<MessageMcpResponse>();
        let id = carried.request_id;
        let token = progress_token(carried.params.as_ref(), true);
        let is_initialize = carried.method == "initialize";
        let inner = inner_message(carried.method, carried.params)?;
        lock(&self.in_flight).started(&id, token.clone());
        let in_flight = Arc::clone(&self.in_flight);
        let mcp = self.mcp.clone();
        let server_id = carried.server_id.0.to_string();
        let answer = self.mcp.send_request(inner).block_task();
        let cancelled = responder.cancelled();
        // Waits for the inner answer, or for the agent to cancel: then the inner request is
        // dropped, which cancels it on the MCP connection, and the dropped responder answers
        // -32800.
        cx.spawn(async move {
            let answer = match select(Box::pin(answer), Box::pin(cancelled)).await {
                Either::Left((answer, _)) => Some(answer),
                Either::Right(((), _)) => None,
            };
            lock(&in_flight).finished(&id, token.as_ref());
            let Some(answer) = answer else {
                return Ok(());
            };
            match answer {
                Ok(result) => {
                    if is_initialize {
                        // The agent cannot send it over ACP: the binding does, before the
                        // agent can send anything else.
                        mcp.send_notification(UntypedMessage::new(
                            "notifications/initialized",
                            serde_json::json!({}),
                        )?)?;
                    }
                    responder.respond(MessageMcpResponse::success(result))
                }
                Err(error) if error.is_connection_closed() => {
                    responder.respond_with_error(backend_failure(&server_id, &error))
                }
                Err(error) => responder.respond(MessageMcpResponse::error(to_mcp_error(&error))),
            }
        });
        Ok(Handled::Yes)
    }
}

/// On the bridge: the server's notifications, sent to the agent as `mcp/message`
/// notifications naming the request they belong to.
struct ForwardNotifications<Cp: Role> {
    acp: ConnectionTo<Cp>,
    server_id: McpServerAcpId,
    in_flight: Arc<Mutex<InFlight>>,
}

impl<Cp: ReachesAgent> Handler<McpServer> for ForwardNotifications<Cp> {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<McpServer>,
    ) -> Result<Handled<Dispatch>, Error> {
        let notification = match dispatch {
            Dispatch::Notification(notification) => notification,
            other => {
                return Ok(Handled::pass(other));
            }
        };
        let params = params_of(&notification)?;
        let token = progress_token(params.as_ref(), false);
        let Some(request_id) = lock(&self.in_flight).named_by(token.as_ref()) else {
            tracing::debug!(
                server = %self.server_id,
                method = notification.method(),
                "a server notification outside any request: MCP over ACP cannot carry it"
            );
            return Ok(Handled::Yes);
        };
        let (method, _) = notification.into_parts();
        let carried =
            MessageMcpNotification::new(self.server_id.clone(), request_id, method).params(params);
        Cp::notify_agent(&self.acp, carried)?;
        Ok(Handled::Yes)
    }
}

/// The in-flight table, whatever a panicking holder left it as (it stays consistent).
fn lock(in_flight: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}
