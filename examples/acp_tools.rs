//! The proxy behind `cargo run --example acp_tools_proxy`: it gives every session an MCP
//! server of its own, served over ACP (MCP over ACP), as a piece the tests run in process.
//!
//! | tool | arguments | result |
//! |---|---|---|
//! | `now` | `{}` | the current time, RFC 3339, UTC, to the second (`2026-12-05T19:52:37Z`) |
//! | `add` | `{a, b}` integers | the sum (the MCP example's `add`) |
//!
//! The proxy adds `{"type": "acp", "name": "tools", "serverId": ...}` to the `mcpServers` of
//! each `session/new`, `session/load` and `session/resume` it passes on, with a `serverId`
//! of its own for each ([`new_server_id`](switchboard_acp::mcp_over_acp::new_server_id)),
//! and answers the agent's `mcp/message`s for it. The server lives as long as the session:
//! `session/close` or the end of the connection ends it. Everything else passes through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use switchboard::message::JsonRpcRequest;
use switchboard::{Builder, ConnectionTo, Error, Handler, Responder};
use switchboard_acp::mcp_over_acp::{AttachedMcpServer, DeclaresMcpServers, offer_service};
use switchboard_acp::schema::{
    CloseSessionRequest, LoadSessionRequest, NewSessionRequest, NewSessionResponse,
    ResumeSessionRequest, SessionId,
};
use switchboard_acp::{Agent, Client, Conductor, Proxy};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};

use crate::mcp_example::add;

/// The name the sessions see the server under.
pub const TOOLS_SERVER: &str = "tools";

/// The MCP server each session gets: `now` and `add`.
pub fn tools_service() -> Service {
    Service::new(TOOLS_SERVER, env!("CARGO_PKG_VERSION"))
        .tool(Tool::new(
            "now",
            "The current time, RFC 3339, UTC",
            async |_: NoArguments, _cx: RequestContext| {
                let now = chrono::Utc::now();
                Ok::<_, ToolError>(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            },
        ))
        .tool(Tool::new("add", "Adds two integers", add))
}

/// Each session's server, served while it is kept here.
type Served = Arc<Mutex<HashMap<SessionId, AttachedMcpServer>>>;

/// What a handler of the proxy's returns: it starts the work, and is done.
type Started = std::future::Ready<Result<(), Error>>;

/// The tools proxy: give it a component with `.connect_to(..)`, `Stdio::new()` under a
/// conductor or one end of `Channel::duplex()` in a test.
pub fn tools_proxy() -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    let served: Served = Arc::default();
    let service = Arc::new(tools_service());
    let for_new = (Arc::clone(&served), Arc::clone(&service));
    let for_load = (Arc::clone(&served), Arc::clone(&service));
    let for_resume = (Arc::clone(&served), service);
    let for_close = served;
    Proxy
        .builder()
        .name("acp_tools_proxy")
        .on_receive_request_from(Client, move |request: NewSessionRequest, responder, cx| {
            let (served, service) = for_new.clone();
            let session_of = |answer: &NewSessionResponse| answer.session_id.clone();
            open_with_tools(cx, request, responder, served, service, session_of)
        })
        .on_receive_request_from(
            Client,
            reopening(for_load, |request: &LoadSessionRequest| {
                request.session_id.clone()
            }),
        )
        .on_receive_request_from(
            Client,
            reopening(for_resume, |request: &ResumeSessionRequest| {
                request.session_id.clone()
            }),
        )
        .on_receive_request_from(
            Client,
            move |request: CloseSessionRequest, responder, cx| {
                let served = Arc::clone(&for_close);
                let id = request.session_id.clone();
                cx.send_request_to(Agent, request)
                    .on_receiving_result(async move |answer| {
                        // Closed or not, the client is done with the session's tools.
                        let ended = lock(&served).remove(&id);
                        drop(ended);
                        responder.respond_with_result(answer)
                    });
                std::future::ready(Ok(()))
            },
        )
}

/// The handler of a request that opens a known session (`session/load`, `session/resume`):
/// [`open_with_tools`], for the session `session_of` the request names.
fn reopening<Req>(
    (served, service): (Served, Arc<Service>),
    session_of: fn(&Req) -> SessionId,
) -> impl FnMut(Req, Responder<Req::Response>, ConnectionTo<Conductor>) -> Started + Send + 'static
where
    Req: JsonRpcRequest<Agent> + DeclaresMcpServers,
{
    move |request, responder, cx| {
        let id = session_of(&request);
        let (served, service) = (Arc::clone(&served), Arc::clone(&service));
        open_with_tools(cx, request, responder, served, service, move |_| id)
    }
}

/// Passes `request` on with the tools server declared in it, and keeps the server for the
/// session the answer names (`session_of`).
fn open_with_tools<Req>(
    cx: ConnectionTo<Conductor>,
    mut request: Req,
    responder: Responder<Req::Response>,
    served: Served,
    service: Arc<Service>,
    session_of: impl FnOnce(&Req::Response) -> SessionId + Send + 'static,
) -> Started
where
    Req: JsonRpcRequest<Agent> + DeclaresMcpServers,
{
    // Attaching waits for the server's bridge to start: not in the dispatch loop.
    cx.clone().spawn(async move {
        let attached = offer_service(&cx, &mut request, TOOLS_SERVER, &service).await?;
        cx.send_request_to(Agent, request)
            .on_receiving_result(async move |answer| {
                if let Ok(answer) = &answer {
                    // A session opened again replaces the server it had.
                    let replaced = lock(&served).insert(session_of(answer), attached);
                    drop(replaced);
                }
                responder.respond_with_result(answer)
            });
        Ok(())
    });
    std::future::ready(Ok(()))
}

fn lock(served: &Served) -> std::sync::MutexGuard<'_, HashMap<SessionId, AttachedMcpServer>> {
    served.lock().unwrap_or_else(PoisonError::into_inner)
}
