//! Cross-crate tests live in `conformance/`; this library only carries the book's chapters,
//! so that every Rust block in the book is compiled and run as a doctest.
//!
//! Each chapter of `book/src` is included below as the documentation of an empty module that
//! exists only under `cfg(doctest)`: `cargo test -p switchboard-tests --doc` runs the book.
//! A chapter added to `book/src/SUMMARY.md` gets a line here too.

#[cfg(doctest)]
#[doc = include_str!("../book/src/introduction.md")]
mod introduction {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/index.md")]
mod concepts {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/roles.md")]
mod roles {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/messages.md")]
mod messages {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/handlers.md")]
mod handlers {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/connection.md")]
mod connection {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/sent-request.md")]
mod sent_request {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/concepts/components.md")]
mod components {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/sessions.md")]
mod sessions {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/forwarding.md")]
mod forwarding {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/streams.md")]
mod streams {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/protocols.md")]
mod protocols {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/spawning-agents.md")]
mod spawning_agents {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/proxies.md")]
mod proxies {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/mcp-servers.md")]
mod acp_mcp_servers {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/remote.md")]
mod acp_remote {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/supervising/index.md")]
mod supervising {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/supervising/mcp.md")]
mod supervising_mcp {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/architecture.md")]
mod architecture {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/guarantees.md")]
mod guarantees {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/wire.md")]
mod wire {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/performance.md")]
mod performance {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/reliability.md")]
mod reliability {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/logging.md")]
mod logging {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/examples.md")]
mod examples {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/index.md")]
mod acp {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/first-agent.md")]
mod acp_first_agent {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/client.md")]
mod acp_client {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/acp/sessions.md")]
mod acp_sessions {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/mcp/index.md")]
mod mcp {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/mcp/first-server.md")]
mod mcp_first_server {}

#[cfg(doctest)]
#[doc = include_str!("../book/src/mcp/client.md")]
mod mcp_client {}
