//! Our ACP crates and the official SDK (`agent-client-protocol` 5.2.0), both ways.
//!
//! | file | what it proves |
//! |---|---|
//! | `sdk_agent.rs` | our client drives an agent built on the SDK: prompts, cancel, files, permission, the session lifecycle |
//! | `sdk_client.rs` | the SDK's client drives our echo agent: prompts, cancel, load, errors, the session lifecycle |
//! | `mcp_sdk_agent.rs` | MCP over ACP: an SDK agent calls tools on a server our client attaches (`offer_service`): handshake, stateless, progress, errors |
//! | `mcp_sdk_client.rs` | MCP over ACP: our agent (`use_server`) calls a tool on a server the SDK's client attaches (`with_mcp_server`) |
//! | `http.rs` | remote ACP against the official transport crate (`agent-client-protocol-http` 5.0.0), over loopback, both ways, Streamable HTTP and WebSocket |
//! | `sdk_spawned.rs` | the SDK's client spawns the `acp_echo_agent` binary and drives it |
//!
//! The helpers are the main workspace's (`tests/acp/support.rs`).

// Shared with the main workspace's tests, of which this suite uses a part.
#[allow(dead_code, unused_imports)]
#[path = "../../../tests/acp/support.rs"]
mod support;

#[path = "../../../tests/common/example_binaries.rs"]
mod example_binaries;

mod http;
mod mcp_sdk_agent;
mod mcp_sdk_client;
mod sdk_agent;
mod sdk_client;
mod sdk_spawned;
