//! Shared code of the examples, so the tests can drive the same services in process.
//!
//! - [`echo_service`]: the handlers behind `cargo run --example echo_server`.
//! - [`acp_echo`]: the ACP agent behind `acp_echo_agent` (and `acp_demo`).
//! - [`acp_client_app`]: the ACP client behind `acp_client` (and `acp_demo`).
//! - [`acp_proxies`]: the proxies behind `acp_prefix_proxy` and `acp_logging_proxy`.
//! - [`relay`]: a plain relay for two peers, for the tests and the book's chapter on peers.

pub mod acp_client_app;
pub mod acp_echo;
pub mod acp_proxies;
pub mod echo_service;
pub mod relay;
