//! An ACP agent on stdio that echoes every prompt back (see `acp_echo` in this crate for what
//! it does with `@file`, `>file` and `/hold`).
//!
//! ```text
//! cargo run --example acp_client -- --prompt "hello there" -- cargo run -q --example acp_echo_agent
//! ```
//!
//! `--without-mcp-over-acp` makes it an agent that does not reach MCP servers over ACP: it
//! does not advertise `mcpCapabilities.acp`, and refuses a session that declares an `acp`
//! server (a conductor's bridge serves such an agent, see `switchboard-conductor`).
//!
//! One word exists in this binary only, not in the library the tests run in process:
//!
//! - `/crash` as the first word of a text block of a prompt — the agent exits at once with status
//!   3, the prompt unanswered: a component that dies mid-prompt, for trying out what a client
//!   or a conductor makes of it.
//!
//! Anything an editor that speaks ACP can start works as its client. Logs go to stderr, so
//! stdout carries nothing but protocol.

use switchboard::{ConnectionTo, Dispatch, Error, Handled, Handler, Stdio};
use switchboard_acp::Client;
use switchboard_acp::schema::PromptRequest;
use switchboard_examples::acp_echo::{EchoOptions, asks_for, echo_agent_with};

/// The exit status of `/crash`.
const CRASH_STATUS: i32 = 3;

const USAGE: &str = "usage: acp_echo_agent [--without-mcp-over-acp]";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut options = EchoOptions::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--without-mcp-over-acp" => options.reaches_acp_servers = false,
            other => {
                eprintln!("acp_echo_agent: unknown argument `{other}`\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    // Handlers given to the builder see a prompt before the sessions' handlers do.
    let agent = echo_agent_with(options).with_handler(Crash);
    if let Err(error) = agent.connect_to(Stdio::new()).await {
        eprintln!("acp_echo_agent: {error}");
        std::process::exit(1);
    }
}

/// Exits on a prompt that asks for `/crash`; passes every other message on.
struct Crash;

impl Handler<Client> for Crash {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Client>,
    ) -> Result<Handled<Dispatch>, Error> {
        if asks_to_crash(&dispatch) {
            eprintln!("acp_echo_agent: crashing, as the prompt asked");
            std::process::exit(CRASH_STATUS);
        }
        Ok(Handled::pass(dispatch))
    }
}

/// Whether `dispatch` is a `session/prompt` with a text block whose first word is `/crash`.
fn asks_to_crash(dispatch: &Dispatch) -> bool {
    let Dispatch::Request(message, _) = dispatch else {
        return false;
    };
    if message.method() != "session/prompt" {
        return false;
    }
    message
        .parse_params::<PromptRequest>()
        .is_ok_and(|prompt| asks_for(&prompt, "/crash"))
}
