//! A transparent ACP proxy on stdio that logs every message it passes, one line each on
//! stderr (see `acp_proxies::logged` and `acp_proxies::describe` in this crate).
//!
//! ```text
//! acp_logging_proxy
//! ```
//!
//! A proxy runs under a conductor, which starts it and its successor. With the examples and
//! the conductor built (`cargo build --examples -p switchboard-examples` and
//! `cargo build -p switchboard-conductor`):
//!
//! ```text
//! cargo run --example acp_client -- --prompt "hello" -- \
//!     target/debug/switchboard-conductor --proxy "target/debug/examples/acp_logging_proxy" -- \
//!     target/debug/examples/acp_echo_agent
//! ```
//!
//! The lines look like `← client: session/prompt #2`, `→ agent: session/prompt #0`,
//! `← agent: session/update`, `← answer #0`: the arrow is the direction as the proxy sees it,
//! `agent:` marks what travels to or from its successor. Stdout carries nothing but protocol.

use std::process::ExitCode;

use switchboard::Stdio;
use switchboard_acp::Proxy;
use switchboard_examples::acp_proxies::logged;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Some(extra) = std::env::args().nth(1) {
        eprintln!("acp_logging_proxy: unknown argument `{extra}`\nusage: acp_logging_proxy");
        return ExitCode::from(2);
    }
    // No handlers: the `Proxy` role passes everything on, in order.
    let proxy = Proxy.builder().name("acp_logging_proxy");
    let stdio = logged(Stdio::new(), |line| eprintln!("acp_logging_proxy: {line}"));
    match proxy.connect_to(stdio).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acp_logging_proxy: {error}");
            ExitCode::FAILURE
        }
    }
}
