//! A conductor for chains of ACP proxies: `editor ⇄ proxy₁ ⇄ … ⇄ proxyₙ ⇄ agent`, shown to
//! the editor as one agent.
//!
//! A proxy sees, changes, answers or adds messages between a client and an agent (see
//! [`switchboard_acp::proxy`]). The conductor starts each component of a [`Chain`], opens
//! the chain (`initialize` reaches the first proxy as `proxy/initialize`, which it passes on
//! to its successor), and routes every message, session and callback through it, in the
//! order it arrived. Messages between a proxy and its successor travel inside
//! `proxy/successor`, as ACP's proxy-chain protocol defines; the editor and the agent see
//! plain ACP. A cancelled request cancels the request it was forwarded as, hop by hop.
//!
//! A component that ends while the editor is still there ends the chain: each request the
//! editor is waiting on fails with an error that names the component and says what became
//! of it, then the conductor closes its side. Nothing is left running: each process gets a
//! moment to exit, then it is killed with everything it started.
//!
//! An agent that lacks `mcpCapabilities.acp` can still use the MCP servers the editor and
//! the proxies offer over ACP: the conductor claims the capability for it and bridges each
//! such server to a stdio server the agent starts (see [`mcp_bridge`]; the program does this
//! by itself, a library chain once given [`Chain::mcp_bridge`]).
//!
//! The program `switchboard-conductor` runs a chain on its stdio:
//!
//! ```text
//! switchboard-conductor [--trace FILE] [--proxy "PROXY COMMAND"]... -- AGENT_PROGRAM [ARGS...]
//! ```
//!
//! reaches an agent given as a URL (`-- http://HOST:PORT/acp`, `-- ws://…`) over the network
//! instead of starting it, serves chains over the network, one per remote connection (see
//! [`listen`]):
//!
//! ```text
//! switchboard-conductor --listen HOST:PORT [--token SECRET] [--proxy "PROXY COMMAND"]... -- AGENT...
//! ```
//!
//! and draws a chain's trace as a sequence diagram, a self-contained HTML page or text (see
//! [`view`]):
//!
//! ```text
//! switchboard-conductor trace view FILE [-o OUT.html] [--terminal] [--from N] [--limit N]
//! ```
//!
//! In process, a chain is a component a client connects to:
//!
//! ```
//! use switchboard_acp::schema::{
//!     ContentBlock, InitializeRequest, NewSessionRequest, NewSessionResponse, PromptRequest,
//!     PromptResponse, ProtocolVersion, StopReason,
//! };
//! use switchboard_acp::{AcpClient, Agent, Client, Proxy, initialize};
//! use switchboard_conductor::Chain;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // An agent that ends every turn at once, with as many words as the prompt had blocks.
//! let agent = Agent
//!     .builder()
//!     .on_receive_request(async |request: InitializeRequest, responder, _cx| {
//!         responder.respond(initialize::agent_response(&request))
//!     })
//!     .on_receive_request(async |_: NewSessionRequest, responder, _cx| {
//!         responder.respond(NewSessionResponse::new("s-1"))
//!     })
//!     .on_receive_request(async |prompt: PromptRequest, responder, _cx| {
//!         let reason = if prompt.prompt.len() == 2 { StopReason::EndTurn } else { StopReason::Refusal };
//!         responder.respond(PromptResponse::new(reason))
//!     });
//! // A proxy that adds a block to every prompt; it passes on everything else untouched.
//! let proxy = Proxy.builder().on_receive_request_from(
//!     Client,
//!     async |mut prompt: PromptRequest, responder, cx| {
//!         prompt.prompt.insert(0, ContentBlock::from("Be brief."));
//!         cx.send_request_to(Agent, prompt).forward_response_to(responder);
//!         Ok(())
//!     },
//! );
//! let chain = Chain::new(agent).proxy(proxy);
//! let answer = Client.builder().connect_with(chain, async |cx| {
//!     cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST)).block_task().await?;
//!     let (mut session, _) = cx.new_session(NewSessionRequest::new("/tmp")).await?;
//!     session.prompt("hello", |_update| {}).await
//! });
//! assert_eq!(answer.await.unwrap().stop_reason, StopReason::EndTurn);
//! # });
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod chain;
pub mod cli;
mod component;
pub mod launcher;
pub mod listen;
pub mod mcp_bridge;
mod route;
mod run;
mod state;
pub mod trace;
pub mod view;

pub use chain::Chain;
pub use trace::Trace;
