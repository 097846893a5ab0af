//! An MCP server on stdio: the tools `add`, `echo`, `sleep` and `fail`, the resource
//! `mem://readme` and the prompt `greet` (see `mcp_example` in this crate).
//!
//! ```text
//! cargo run --example mcp_client -- --call add '{"a":2,"b":3}' -- cargo run -q --example mcp_server
//! ```
//!
//! Any MCP client that starts servers on stdio can start this one. It exits 0 when its
//! input ends, 1 if the connection fails. Logs go to stderr, so stdout carries only protocol.

use switchboard::Stdio;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = switchboard_examples::mcp_example::service();
    if let Err(error) = service.serve(Stdio::new()).await {
        eprintln!("mcp_server: {error}");
        std::process::exit(1);
    }
}
