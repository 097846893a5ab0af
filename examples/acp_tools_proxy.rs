//! An ACP proxy on stdio that gives every session an MCP server named `tools`, served over
//! ACP, with the tools `now` and `add` (see `acp_tools` in this crate).
//!
//! With the examples and the conductor built (`cargo build --examples -p
//! switchboard-examples` and `cargo build -p switchboard-conductor`):
//!
//! ```text
//! cargo run --example acp_client -- --prompt '/tool tools add {"a":2,"b":3}' -- \
//!     target/debug/switchboard-conductor --proxy target/debug/examples/acp_tools_proxy -- \
//!     target/debug/examples/acp_echo_agent
//! ```
//!
//! The echo agent calls `add` over `mcp/message` and says `5`. Stdout carries nothing but
//! protocol; errors go to stderr.

use std::process::ExitCode;

use switchboard::Stdio;
use switchboard_examples::acp_tools::tools_proxy;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("acp_tools_proxy: unknown argument `{arg}`; it takes none");
        return ExitCode::from(2);
    }
    match tools_proxy().connect_to(Stdio::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acp_tools_proxy: {error}");
            ExitCode::FAILURE
        }
    }
}
