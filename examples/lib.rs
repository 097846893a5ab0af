//! Shared code of the examples, so the tests can drive the same services in process.
//!
//! - [`echo_service`]: the handlers behind `cargo run --example echo_server`.
//! - [`acp_echo`]: the ACP agent behind `acp_echo_agent` (and `acp_demo`).
//! - [`acp_client_app`]: the ACP client behind `acp_client` (and `acp_demo`).

pub mod acp_client_app;
pub mod acp_echo;
pub mod echo_service;
