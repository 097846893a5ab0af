//! The Model Context Protocol (MCP) on Switchboard.
//!
//! MCP is how hosts (editors, agents) reach tools, resources and prompts that servers offer:
//! JSON-RPC 2.0, usually over the server's stdio. This crate declares it on top of the core:
//!
//! - [`role`]: the roles [`McpClient`] and [`McpServer`];
//! - [`schema`]: the schema types (crate `rust-mcp-schema`, version 2025-11-25), made
//!   Switchboard messages in [`messages`];
//! - [`version`]: the versions spoken and their negotiation; [`gate`]: nothing before
//!   `initialize`; [`discover`]: `server/discover` for stateless 2026-07-28 clients;
//! - [`server`]: a server from tools with typed arguments, resources and prompts;
//! - [`client`]: typed calls on a connection to a server, paged lists as streams, progress;
//! - `process` (feature `tokio`): MCP servers as child processes.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod client;
pub mod discover;
pub mod gate;
pub mod messages;
#[cfg(feature = "tokio")]
pub mod process;
pub mod role;
pub mod server;
pub mod version;

pub use role::{McpClient, McpServer};

/// The MCP schema types, version 2025-11-25 (crate `rust-mcp-schema`). The params types of
/// its requests and notifications are Switchboard messages for the MCP roles.
pub mod schema {
    pub use rust_mcp_schema::mcp_2025_11_25::*;
}

pub use rust_mcp_schema;
