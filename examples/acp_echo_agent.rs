//! An ACP agent on stdio that echoes every prompt back (see `acp_echo` in this crate for what
//! it does with `@file`, `>file` and `/hold`).
//!
//! ```text
//! cargo run --example acp_client -- --prompt "hello there" -- cargo run -q --example acp_echo_agent
//! ```
//!
//! Anything an editor that speaks ACP can start works as its client. Logs go to stderr, so
//! stdout carries nothing but protocol.

use switchboard::Stdio;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = switchboard_examples::acp_echo::echo_agent()
        .connect_to(Stdio::new())
        .await
    {
        eprintln!("acp_echo_agent: {error}");
        std::process::exit(1);
    }
}
