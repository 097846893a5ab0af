//! An ACP client on the command line: spawns an agent (or reaches one over the network), sends
//! it one prompt, prints the reply.
//!
//! ```text
//! acp_client [OPTIONS] --prompt "TEXT" -- AGENT_PROGRAM [ARGS...]
//! acp_client [OPTIONS] --prompt "TEXT" --url URL [--transport http|ws] [--token SECRET] [--root-cert FILE]
//! cargo run --example acp_client -- --prompt "hello @Cargo.toml" -- cargo run -q --example acp_echo_agent
//! ```
//!
//! With `--url`, the agent is one served over ACP's HTTP transport (`switchboard-conductor
//! --listen`, say): `ws://` and `wss://` URLs are reached over WebSocket, `http://` ones over
//! Streamable HTTP unless `--transport ws` says otherwise. The client ends the connection
//! itself when it is done (a `DELETE`, or the WebSocket's close).
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

use switchboard::transport::{FrameDirection, Inspect};
use switchboard::{ChildCommand, ConnectTo, Error};
use switchboard_acp::schema::StopReason;
use switchboard_acp::{AgentProcess, Client};
use switchboard_conductor::Trace;
use switchboard_examples::acp_client_app::{ClientOptions, client, run, stop_reason_name};
use switchboard_http::RemoteAgent;
use switchboard_http::tls::certificates_from_pem_file;

const USAGE: &str = "usage: acp_client [OPTIONS] --prompt \"TEXT\" -- AGENT_PROGRAM [ARGS...]
       acp_client [OPTIONS] --prompt \"TEXT\" --url URL [--transport http|ws] [--token SECRET]
                  [--root-cert FILE]

Spawns the agent (or reaches it at URL), opens a session, sends the prompt and prints the
reply as it streams.

options:
  --prompt TEXT        the prompt to send (required)
  --url URL            reach an agent served over the network (switchboard-conductor
                       --listen, say) instead of spawning one: ws:// and wss:// over
                       WebSocket, http:// over Streamable HTTP
  --transport http|ws  how to reach an http:// URL (default: http)
  --token SECRET       send `Authorization: Bearer SECRET` to the agent at URL
  --root-cert FILE     trust the certificates of the PEM FILE (a server's own, or its
                       authority) for an https:// or wss:// URL, beside the system's
  --cwd DIR            the session's working directory (default: the current one)
  --yes                approve the agent's permission requests (default: reject them)
  --cancel-after MS    send session/cancel MS milliseconds after the prompt
  --verbose            show the agent's stderr as it writes it
  --trace FILE         write every message to FILE, one JSON object a line (the format of
                       switchboard-conductor --trace)
  --help               print this and exit

exit status: 0 if the turn ended with end_turn, 1 otherwise or if the agent failed (could
not start, could not be reached), 2 if the command line is wrong.
";

/// What the command line asked for.
enum Parsed {
    Run(Box<Command>),
    Help,
}

/// The parsed command line: what to ask, which agent to ask, and how to show it.
struct Command {
    options: ClientOptions,
    agent: Target,
    trace: Option<PathBuf>,
}

/// The agent to ask: a program to spawn, or one served over the network.
enum Target {
    Spawn(ChildCommand),
    Remote(RemoteAgent),
}

/// How to reach the agent at `--url`.
#[derive(Clone, Copy, PartialEq)]
enum Transport {
    /// By the URL's scheme: WebSocket for `ws://` and `wss://`, Streamable HTTP otherwise.
    ByScheme,
    WebSocket,
    Http,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let mut yes = false;
    let mut verbose = false;
    let mut cwd = None;
    let mut prompt = None;
    let mut cancel_after = None;
    let mut trace = None;
    let mut url = None;
    let mut transport = Transport::ByScheme;
    let mut token = None;
    let mut root_cert: Option<PathBuf> = None;
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
            Some("--url") => url = Some(args.next().ok_or("--url needs the agent's URL")?),
            Some("--transport") => {
                transport = match args.next().as_deref() {
                    Some("http") => Transport::Http,
                    Some("ws") => Transport::WebSocket,
                    other => {
                        return Err(format!(
                            "--transport needs `http` or `ws`, not {}",
                            other.map_or("nothing".to_owned(), |other| format!("`{other}`"))
                        ));
                    }
                }
            }
            Some("--token") => token = Some(args.next().ok_or("--token needs the secret")?),
            Some("--root-cert") => {
                root_cert = Some(PathBuf::from(
                    args.next().ok_or("--root-cert needs a PEM file")?,
                ))
            }
            Some("--") => break,
            Some(other) => return Err(format!("unknown argument `{other}`")),
            // An agent at a URL needs no command.
            None if url.is_some() => break,
            None => return Err("no agent command: put it after `--`, or give --url".into()),
        }
    }
    let agent = match url {
        Some(url) => {
            if args.next().is_some() {
                return Err("an agent command and --url: give one of them".into());
            }
            let mut agent = RemoteAgent::new(url);
            // An `http://` URL is reached over Streamable HTTP unless asked otherwise; a
            // `ws://` one only over WebSocket.
            if transport == Transport::WebSocket {
                agent = agent.websocket();
            } else if transport == Transport::Http
                && (agent.url().starts_with("ws://") || agent.url().starts_with("wss://"))
            {
                return Err(format!(
                    "--transport http with the WebSocket URL {}",
                    agent.url()
                ));
            }
            if let Some(token) = token {
                agent = agent.token(token);
            }
            if let Some(path) = root_cert {
                let roots = certificates_from_pem_file(&path).map_err(|error| error.to_string())?;
                for root in roots {
                    agent = agent.root_certificate(root);
                }
            }
            Target::Remote(agent)
        }
        None => {
            if transport != Transport::ByScheme || token.is_some() || root_cert.is_some() {
                return Err(
                    "--transport, --token and --root-cert are for an agent at --url".into(),
                );
            }
            let program = args.next().ok_or("no agent program after `--`")?;
            Target::Spawn(ChildCommand::new(program).args(args).echo_stderr(verbose))
        }
    };
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
        agent,
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
    // A remote agent's connection says goodbye (its `DELETE`, the WebSocket's close) on a task
    // of its own, which would die with the runtime when `main` returns: it gets its time.
    let finished = match &command.agent {
        Target::Remote(agent) => Some(agent.finished()),
        Target::Spawn(_) => None,
    };
    let talked = talk(command).await;
    if let Some(finished) = finished {
        finished.await;
    }
    match talked {
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
    let trace = trace.map(Trace::create).transpose()?;
    match agent {
        Target::Spawn(agent) => talk_to_process(agent, &options, trace).await,
        Target::Remote(agent) => {
            // Hop 0 is the one connection, to the agent; the lines read as the conductor's do.
            let tap = trace.map(|trace| {
                Box::new(trace.tap(0, &format!("the agent ({})", agent.url()))) as Tap
            });
            converse(traced(agent, tap), options).await
        }
    }
}

/// What is given every frame between the client and the agent, for `--trace`.
type Tap = Box<dyn Fn(FrameDirection, &[u8]) + Send + Sync>;

/// `component`, with every frame it carries given to `tap`, if there is one.
fn traced(component: impl ConnectTo<Client>, tap: Option<Tap>) -> impl ConnectTo<Client> {
    Inspect::new(component, move |direction, frame: &[u8]| {
        if let Some(tap) = &tap {
            tap(direction, frame);
        }
    })
}

/// Initializes, opens a session, sends the prompt and prints the reply, over `agent`.
async fn converse(
    agent: impl ConnectTo<Client> + 'static,
    options: ClientOptions,
) -> Result<StopReason, Error> {
    client(&options)
        .connect_with(agent, async move |cx| {
            let reason = run(&cx, &options, |text| {
                print!("{text}");
                let _ = std::io::stdout().flush();
            })
            .await;
            println!();
            reason
        })
        .await
}

/// Spawns `agent` and talks to it over its stdio.
async fn talk_to_process(
    agent: ChildCommand,
    options: &ClientOptions,
    trace: Option<Trace>,
) -> Result<StopReason, Error> {
    let program = std::path::Path::new(agent.program())
        .file_name()
        .unwrap_or(agent.program())
        .to_string_lossy()
        .into_owned();
    let mut process = AgentProcess::spawn(agent)?;
    let stdio = process.stdio()?;
    let tap = trace.map(|trace| Box::new(trace.tap(0, &format!("the agent (`{program}`)"))) as Tap);
    let outcome = converse(traced(stdio, tap), options.clone()).await;
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
