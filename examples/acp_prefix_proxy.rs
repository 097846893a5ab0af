//! An ACP proxy on stdio that puts a line of its own first in every prompt (see
//! `acp_proxies::prefix_proxy` in this crate).
//!
//! ```text
//! acp_prefix_proxy [--prefix TEXT]
//! ```
//!
//! A proxy runs under a conductor, which starts it and its successor. With the examples and
//! the conductor built (`cargo build --examples -p switchboard-examples` and
//! `cargo build -p switchboard-conductor`):
//!
//! ```text
//! cargo run --example acp_client -- --prompt "hello" -- \
//!     target/debug/switchboard-conductor --proxy "target/debug/examples/acp_prefix_proxy" -- \
//!     target/debug/examples/acp_echo_agent
//! ```
//!
//! The echo agent then echoes the prefix before the prompt. Without `--prefix` the line is
//! `(via acp_prefix_proxy)`. Stdout carries nothing but protocol; errors go to stderr.

use std::process::ExitCode;

use switchboard::Stdio;
use switchboard_examples::acp_proxies::prefix_proxy;

const USAGE: &str = "usage: acp_prefix_proxy [--prefix TEXT]";

/// The prefix when none is given.
const DEFAULT_PREFIX: &str = "(via acp_prefix_proxy)";

/// The prefix from the command line.
fn parse(args: impl IntoIterator<Item = String>) -> Result<String, String> {
    let mut args = args.into_iter();
    let mut prefix = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--prefix" => prefix = Some(args.next().ok_or("--prefix needs the text")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_owned()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let prefix = match parse(std::env::args().skip(1)) {
        Ok(prefix) => prefix,
        Err(problem) => {
            eprintln!("acp_prefix_proxy: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match prefix_proxy(prefix).connect_to(Stdio::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acp_prefix_proxy: {error}");
            ExitCode::FAILURE
        }
    }
}
