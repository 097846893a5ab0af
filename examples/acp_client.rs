//! An ACP client on the command line: spawns an agent, sends it one prompt, prints the reply.
//!
//! ```text
//! acp_client [--yes] [--cwd DIR] --prompt "TEXT" -- AGENT_PROGRAM [ARGS...]
//! cargo run --example acp_client -- --prompt "hello @Cargo.toml" -- cargo run -q --example acp_echo_agent
//! ```
//!
//! The agent's text goes to stdout as it streams in; the stop reason goes to stderr. The
//! client serves the agent's `fs/read_text_file` and `fs/write_text_file` requests, and its
//! permission requests: approved with `--yes`, rejected otherwise. It exits 0 when the
//! prompt ends with `end_turn`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use switchboard::{ChildCommand, Error};
use switchboard_acp::AgentProcess;
use switchboard_acp::schema::StopReason;
use switchboard_examples::acp_client_app::{ClientOptions, client, run, stop_reason_name};

const USAGE: &str =
    "usage: acp_client [--yes] [--cwd DIR] --prompt \"TEXT\" -- AGENT_PROGRAM [ARGS...]";

/// The parsed command line: what to ask, and which agent to ask.
struct Command {
    options: ClientOptions,
    agent: ChildCommand,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut yes = false;
    let mut cwd = None;
    let mut prompt = None;
    loop {
        match args.next().as_deref() {
            Some("--yes") => yes = true,
            Some("--cwd") => {
                cwd = Some(PathBuf::from(args.next().ok_or("--cwd needs a directory")?))
            }
            Some("--prompt") => prompt = Some(args.next().ok_or("--prompt needs the text")?),
            Some("--") => break,
            Some(other) => return Err(format!("unknown argument `{other}`")),
            None => return Err("no agent command: put it after `--`".into()),
        }
    }
    let program = args.next().ok_or("no agent program after `--`")?;
    let prompt = prompt.ok_or("missing --prompt")?;
    let cwd = match cwd {
        Some(cwd) => cwd,
        None => {
            std::env::current_dir().map_err(|error| format!("no current directory: {error}"))?
        }
    };
    // ACP wants an absolute working directory.
    let cwd = std::path::absolute(&cwd).map_err(|error| format!("bad --cwd: {error}"))?;
    Ok(Command {
        options: ClientOptions { yes, cwd, prompt },
        agent: ChildCommand::new(program).args(args),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("acp_client: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match talk(command).await {
        Ok(reason) => {
            eprintln!("stop reason: {}", stop_reason_name(&reason));
            if reason == StopReason::EndTurn {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("acp_client: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn talk(command: Command) -> Result<StopReason, Error> {
    let Command { options, agent } = command;
    let mut process = AgentProcess::spawn(agent)?;
    let stdio = process.stdio()?;
    let outcome = client(&options)
        .connect_with(stdio, async move |cx| {
            let reason = run(&cx, &options, |text| {
                print!("{text}");
                let _ = std::io::stdout().flush();
            })
            .await;
            println!();
            reason
        })
        .await;
    match outcome {
        Ok(reason) => Ok(reason),
        // Says whether the agent exited, how, and what it last wrote to stderr.
        Err(error) => Err(process.explain(error).await),
    }
}
