//! The Agent Client Protocol (ACP) on Switchboard.
//!
//! ACP is how editors talk to coding agents: JSON-RPC 2.0 over the agent's stdio. This crate
//! declares it on top of the core:
//!
//! - [`role`]: the roles [`Client`], [`Agent`], [`Proxy`] and [`Conductor`], how they pair up,
//!   and how a proxy reaches the client and the agent through its conductor;
//! - [`schema`]: the official schema types (crate `agent-client-protocol-schema`), every one
//!   of which is a Switchboard message for these roles ([`messages`]);
//! - [`initialize`]: the handshake, the gate that refuses requests before it, and protocol
//!   version negotiation;
//! - [`session`]: sessions on both sides, routed by `sessionId`;
//! - `mcp_over_acp` (feature `unstable_mcp_over_acp`): MCP servers attached to sessions,
//!   carried by `mcp/message`;
//! - [`proxy`]: proxies between a client and an agent, and the proxy-chain wire format their
//!   conductor (crate `switchboard-conductor`) speaks;
//! - `process` (feature `tokio`): spawning an agent as a child process, the client's opening
//!   handshake with a deadline on each step, and errors that say why an agent went away.
//!
//! A client in a few lines, against an agent in the same process:
//!
//! ```
//! use switchboard::Channel;
//! use switchboard_acp::schema::{
//!     InitializeRequest, NewSessionRequest, NewSessionResponse, ProtocolVersion, StopReason,
//! };
//! use switchboard_acp::{AcpClient, Agent, Client, initialize};
//!
//! # futures::executor::block_on(async {
//! let (client_end, agent_end) = Channel::duplex();
//! // An agent that opens sessions and answers every prompt at once.
//! let agent = Agent
//!     .builder()
//!     .on_receive_request(async |request: InitializeRequest, responder, _cx| {
//!         responder.respond(initialize::agent_response(&request))
//!     })
//!     .on_receive_request(async |_: NewSessionRequest, responder, _cx| {
//!         responder.respond(NewSessionResponse::new("s-1"))
//!     })
//!     .on_receive_request(async |_: switchboard_acp::schema::PromptRequest, responder, _cx| {
//!         responder.respond(switchboard_acp::schema::PromptResponse::new(StopReason::EndTurn))
//!     })
//!     .connect_to(agent_end);
//! let client = Client.builder().connect_with(client_end, async |cx| {
//!     cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST)).block_task().await?;
//!     let (mut session, _) = cx.new_session(NewSessionRequest::new("/tmp")).await?;
//!     session.prompt("hello", |_update| {}).await
//! });
//! let (answer, _) = futures::future::join(client, agent).await;
//! assert_eq!(answer.unwrap().stop_reason, StopReason::EndTurn);
//! # });
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod checks;
pub mod initialize;
#[cfg(feature = "unstable_mcp_over_acp")]
pub mod mcp_over_acp;
pub mod messages;
#[cfg(feature = "tokio")]
pub mod process;
pub mod proxy;
pub mod role;
pub mod session;
#[cfg(feature = "supervisor")]
pub mod supervision;

#[cfg(feature = "tokio")]
pub use process::{AgentProcess, Handshake, Started, handshake};
pub use role::{Agent, Client, Conductor, Proxy};
pub use session::{AcpClient, AgentSession, ClientSession, SessionEvent, Turn};

/// The official ACP schema types, version 1 (crate `agent-client-protocol-schema`), with the
/// few items from the crate's root that go with them. Every request and notification here is
/// a Switchboard message for the ACP roles.
///
/// The whole schema crate is [`agent_client_protocol_schema`], re-exported too.
pub mod schema {
    pub use agent_client_protocol_schema::v1::*;
    pub use agent_client_protocol_schema::{
        IntoMaybeUndefined, IntoOption, MaybeUndefined, ProtocolVersion,
    };
}

pub use agent_client_protocol_schema;
