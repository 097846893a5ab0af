//! Shared code of the examples, so the tests can drive the same services in process.
//!
//! - [`echo_service`]: the handlers behind `cargo run --example echo_server`.
//! - [`acp_echo`]: the ACP agent behind `acp_echo_agent` (and `acp_demo`).
//! - [`acp_client_app`]: the ACP client behind `acp_client` (and `acp_demo`).
//! - [`acp_proxies`]: the proxies behind `acp_prefix_proxy` and `acp_logging_proxy`.
//! - [`acp_tools`]: the proxy behind `acp_tools_proxy`, which gives every session an MCP
//!   server over ACP.
//! - [`mcp_example`]: the MCP server behind `mcp_server` (and `mcp_flaky_server`).
//! - [`mcp_front`]: the supervised MCP server behind `mcp_supervisor`.
//! - [`relay`]: a plain relay for two peers, for the tests and the book's chapter on peers.

pub mod acp_client_app;
pub mod acp_echo;
pub mod acp_proxies;
pub mod acp_tools;
pub mod echo_service;
pub mod mcp_example;
pub mod mcp_front;
pub mod relay;
