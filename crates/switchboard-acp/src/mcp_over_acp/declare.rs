//! Declaring servers in a session's setup, and reading the declarations.
//!
//! The provider (client or proxy) picks a `serverId` no other server on the connection has,
//! attaches the server under it, and lists `{"type": "acp", "name", "serverId"}` in the
//! `mcpServers` of the request that sets the session up: [`offer_service`] does all three.
//! The agent advertises that it understands such entries ([`advertise`]) and finds them in
//! the request ([`acp_servers`]).

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use switchboard::{ConnectTo, ConnectionTo, Error};
use switchboard_mcp::McpClient;
use switchboard_mcp::server::Service;

use super::provider::{AttachedMcpServer, ReachesAgent, attach, attach_service};
use crate::schema::{
    AgentCapabilities, InitializeResponse, LoadSessionRequest, McpCapabilities, McpServer,
    McpServerAcp, McpServerAcpId, NewSessionRequest, ResumeSessionRequest,
};

/// A request that sets a session up and declares its MCP servers: `session/new`,
/// `session/load`, `session/resume` (and `session/fork`, with `unstable_session_fork`).
pub trait DeclaresMcpServers {
    /// The MCP servers the session is to have.
    fn mcp_servers_mut(&mut self) -> &mut Vec<McpServer>;
}

macro_rules! declares_mcp_servers {
    ($($(#[$cfg:meta])* $request:ty),* $(,)?) => {$(
        $(#[$cfg])*
        impl DeclaresMcpServers for $request {
            fn mcp_servers_mut(&mut self) -> &mut Vec<McpServer> {
                &mut self.mcp_servers
            }
        }
    )*};
}

declares_mcp_servers!(
    NewSessionRequest,
    LoadSessionRequest,
    ResumeSessionRequest,
    #[cfg(feature = "unstable_session_fork")]
    crate::schema::ForkSessionRequest,
);

/// A `serverId` for a server named `name` that no other server gets: the name, a number
/// drawn once per process (so that a client and the proxies of its chain, each counting
/// from one, do not collide), and a count.
///
/// ```
/// use switchboard_acp::mcp_over_acp::new_server_id;
///
/// let (first, second) = (new_server_id("tools"), new_server_id("tools"));
/// assert_ne!(first, second);
/// assert!(first.0.starts_with("tools-"));
/// ```
pub fn new_server_id(name: &str) -> McpServerAcpId {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(1);
    // The standard library's hasher keys are random per process: no extra dependency.
    let process = *PROCESS.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    McpServerAcpId::new(format!("{name}-{process:016x}-{count}"))
}

/// Serves `service` to the agent as a server named `name` in the session `setup` sets up:
/// attaches it under a [new `serverId`](new_server_id) and declares it in `setup`'s
/// `mcpServers`. It is served until the returned handle is dropped: keep it as long as the
/// session.
///
/// `cx` is a client's connection to the agent, or a proxy's to its conductor (see
/// [`attach`]). Call it outside the dispatch loop, before sending `setup`.
pub async fn offer_service<Cp: ReachesAgent>(
    cx: &ConnectionTo<Cp>,
    setup: &mut impl DeclaresMcpServers,
    name: &str,
    service: &Service,
) -> Result<AttachedMcpServer, Error> {
    let attached = attach_service(cx, new_server_id(name), service).await?;
    declare(setup, name, &attached);
    Ok(attached)
}

/// Like [`offer_service`], for a server reached through any component (a child process, a
/// channel to a server running elsewhere).
pub async fn offer<Cp: ReachesAgent>(
    cx: &ConnectionTo<Cp>,
    setup: &mut impl DeclaresMcpServers,
    name: &str,
    server: impl ConnectTo<McpClient>,
) -> Result<AttachedMcpServer, Error> {
    let attached = attach(cx, new_server_id(name), server).await?;
    declare(setup, name, &attached);
    Ok(attached)
}

fn declare(setup: &mut impl DeclaresMcpServers, name: &str, attached: &AttachedMcpServer) {
    let entry = McpServerAcp::new(name, attached.server_id().clone());
    setup.mcp_servers_mut().push(McpServer::Acp(entry));
}

/// The `acp` entries among a session's MCP servers, for the agent to reach with
/// [`use_server`](super::use_server).
///
/// ```
/// use switchboard_acp::mcp_over_acp::acp_servers;
/// use switchboard_acp::schema::{McpServer, McpServerAcp, McpServerStdio, NewSessionRequest};
///
/// let request = NewSessionRequest::new("/work").mcp_servers(vec![
///     McpServer::Stdio(McpServerStdio::new("files", "files-mcp")),
///     McpServer::Acp(McpServerAcp::new("tools", "tools-1")),
/// ]);
/// let names: Vec<_> = acp_servers(&request.mcp_servers).map(|server| &*server.name).collect();
/// assert_eq!(names, ["tools"]);
/// ```
pub fn acp_servers(servers: &[McpServer]) -> impl Iterator<Item = &McpServerAcp> {
    servers.iter().filter_map(|server| match server {
        McpServer::Acp(acp) => Some(acp),
        _ => None,
    })
}

/// `capabilities`, saying that the agent reaches `acp` MCP servers
/// (`mcpCapabilities.acp`), for its `initialize` answer.
///
/// ```
/// use switchboard_acp::mcp_over_acp::{advertise, is_supported_by};
/// use switchboard_acp::schema::{AgentCapabilities, InitializeResponse, ProtocolVersion};
///
/// let answer = InitializeResponse::new(ProtocolVersion::LATEST)
///     .agent_capabilities(advertise(AgentCapabilities::new()));
/// assert!(is_supported_by(&answer));
/// assert!(!is_supported_by(&InitializeResponse::new(ProtocolVersion::LATEST)));
/// ```
pub fn advertise(capabilities: AgentCapabilities) -> AgentCapabilities {
    let mcp = capabilities.mcp_capabilities.clone().acp(true);
    capabilities.mcp_capabilities(mcp)
}

/// Whether the agent that gave `answer` to `initialize` reaches `acp` MCP servers.
pub fn is_supported_by(answer: &InitializeResponse) -> bool {
    let McpCapabilities { acp, .. } = answer.agent_capabilities.mcp_capabilities;
    acp
}
