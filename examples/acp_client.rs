//! An ACP client on the command line: spawns an agent, sends it one prompt, prints the reply.
//!
//! ```text
//! acp_client [OPTIONS] --prompt "TEXT" -- AGENT_PROGRAM [ARGS...]
//! cargo run --example acp_client -- --prompt "hello @Cargo.toml" -- cargo run -q --example acp_echo_agent
//! ```
//!
//! The agent's text goes to stdout as it streams in; the stop reason goes to stderr. The
//! client serves the agent's `fs/read_text_file` and `fs/write_text_file` requests, and its
//! permission requests: approved with `--yes`, rejected otherwise. It exits 0 when the
//! prompt ends with `end_turn`, 1 when it ends otherwise or the agent fails, 2 when the
//! command line is wrong. `--help` lists the options.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use switchboard::transport::Inspect;
use switchboard::{ChildCommand, Error};
use switchboard_acp::AgentProcess;
use switchboard_acp::schema::StopReason;
use switchboard_conductor::Trace;
use switchboard_examples::acp_client_app::{ClientOptions, client, run, stop_reason_name};

const USAGE: &str = "usage: acp_client [OPTIONS] --prompt \"TEXT\" -- AGENT_PROGRAM [ARGS...]

Spawns the agent, opens a session, sends the prompt and prints the reply as it streams.

options:
  --prompt TEXT        the prompt to send (required)
  --cwd DIR            the session's working directory (default: the current one)
  --yes                approve the agent's permission requests (default: reject them)
  --cancel-after MS    send session/cancel MS milliseconds after the prompt
  --verbose            show the agent's stderr as it writes it
  --trace FILE         write every message to FILE, one JSON object a line (the format of
                       switchboard-conductor --trace)
  --help               print this and exit

exit status: 0 if the turn ended with end_turn, 1 otherwise or if the agent failed,
2 if the command line is wrong.
";

/// What the command line asked for.
enum Parsed {
    Run(Box<Command>),
    Help,
}

/// The parsed command line: what to ask, which agent to ask, and how to show it.
struct Command {
    options: ClientOptions,
    agent: ChildCommand,
    trace: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let mut yes = false;
    let mut verbose = false;
    let mut cwd = None;
    let mut prompt = None;
    let mut cancel_after = None;
    let mut trace = None;
    loop {
        match args.next().as_deref() {
            Some("--help" | "-h") => return Ok(Parsed::Help),
            Some("--yes") => yes = true,
            Some("--verbose") => verbose = true,
            Some("--cwd") => {
                cwd = Some(PathBuf::from(args.next().ok_or("--cwd needs a directory")?))
            }
            Some("--prompt") => prompt = Some(args.next().ok_or("--prompt needs the text")?),
            Some("--cancel-after") => {
                let ms = args.next().ok_or("--cancel-after needs milliseconds")?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("--cancel-after needs milliseconds, not `{ms}`"))?;
                cancel_after = Some(Duration::from_millis(ms));
            }
            Some("--trace") => {
                trace = Some(PathBuf::from(args.next().ok_or("--trace needs a file")?))
            }
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
    Ok(Parsed::Run(Box::new(Command {
        options: ClientOptions {
            yes,
            cwd,
            prompt,
            cancel_after,
        },
        agent: ChildCommand::new(program).args(args).echo_stderr(verbose),
        trace,
    })))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(command)) => *command,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("acp_client: {problem}\n\n{USAGE}");
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
    let Command {
        options,
        agent,
        trace,
    } = command;
    let program = std::path::Path::new(agent.program())
        .file_name()
        .unwrap_or(agent.program())
        .to_string_lossy()
        .into_owned();
    let trace = trace.map(Trace::create).transpose()?;
    let mut process = AgentProcess::spawn(agent)?;
    let stdio = process.stdio()?;
    // Hop 0 is the one connection, to the agent; the lines read as the conductor's do.
    let tap = trace.map(|trace| trace.tap(0, &format!("the agent (`{program}`)")));
    let stdio = Inspect::new(stdio, move |direction, frame: &[u8]| {
        if let Some(tap) = &tap {
            tap(direction, frame);
        }
    });
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
        Ok(reason) => {
            // The agent's stdin is closed by now: it gets its grace to exit (a conductor, to
            // end its chain) before it is killed; dropping it would not wait for that.
            let _ = process.end().await;
            Ok(reason)
        }
        // Says whether the agent exited, how, and what it last wrote to stderr.
        Err(error) => Err(process.explain(error).await),
    }
}
