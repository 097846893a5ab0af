//! Shared code of the examples, so the tests can drive the same services in process.
//!
//! - [`echo_service`]: the handlers behind `cargo run --example echo_server`.

pub mod echo_service;
