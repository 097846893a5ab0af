//! `switchboard-conductor`: runs a chain of ACP proxies in front of an agent, and serves it
//! on stdin/stdout as one agent. See [`switchboard_conductor::cli`] for the command line.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use switchboard::Stdio;
use switchboard_conductor::cli::{self, Parsed, USAGE};
use switchboard_conductor::{launcher, listen, mcp_bridge, view};

/// What the conductor logs to stderr (where its components' stderr goes too): warnings and
/// errors, each naming the connection (a component) it is about. `SWITCHBOARD_LOG` set to
/// `error`, `warn`, `info`, `debug` or `trace` changes the level.
fn log_to_stderr() {
    let level = std::env::var("SWITCHBOARD_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(tracing::Level::WARN);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
}

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    // Relaying an agent's stdio MCP server to the conductor's bridge (see `mcp_bridge`).
    if let Some(code) = mcp_bridge::relay_if_asked(&args) {
        return code;
    }
    // Launching one of our components (see `launcher`): becomes it, or says why not.
    if let Some(failed) = launcher::launch_if_asked(&args) {
        return failed;
    }
    let invocation = match cli::parse(args) {
        Ok(Parsed::Run(invocation)) => invocation,
        // Drawing a trace needs no runtime and starts nothing.
        Ok(Parsed::View(request)) => {
            // Colour for a person at a terminal, unless they asked for none (no-color.org).
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            return match view::run(&request, &mut std::io::stdout().lock(), colour) {
                Ok(()) => ExitCode::SUCCESS,
                Err(problem) => {
                    eprintln!("switchboard-conductor: {problem}");
                    ExitCode::FAILURE
                }
            };
        }
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("switchboard-conductor: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    log_to_stderr();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchboard-conductor: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(conduct(invocation));
    // Reading stdin blocks a thread of the runtime; an editor that keeps its end open (when
    // a signal ended the chain) must not keep us from exiting, so that thread is not waited
    // for. Every component has been ended and reaped by now.
    runtime.shutdown_background();
    code
}

/// Runs the chain the command line asks for, on stdio or (`--listen`) over the network; the
/// exit code.
async fn conduct(mut invocation: cli::Invocation) -> ExitCode {
    if let Some(options) = invocation.listen.take() {
        return serve(invocation, &options).await;
    }
    let chain = match invocation.chain() {
        Ok(chain) => chain,
        Err(error) => {
            eprintln!("switchboard-conductor: {}", error.message());
            return ExitCode::from(2);
        }
    };
    let signalled = Arc::new(OnceLock::new());
    let stop = {
        let signalled = Arc::clone(&signalled);
        async move {
            if let Some(signal) = hang_up_signal().await {
                let _ = signalled.set(signal);
            }
        }
    };
    let ran = chain.run_until(Stdio::new(), stop).await;
    if let Some(signal) = signalled.get() {
        // Ended by a signal, after every component was closed, given its grace, and killed
        // if need be: the shell's convention for "ended by signal N".
        return ExitCode::from(128 + signal.number());
    }
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-conductor: {}", error.message());
            ExitCode::FAILURE
        }
    }
}

/// Serves chains over the network until a signal; the exit code: 0 once every chain has ended
/// after a signal (how a server is meant to stop), 1 if it cannot listen.
async fn serve(invocation: cli::Invocation, options: &cli::ListenOptions) -> ExitCode {
    // A proxy command that cannot be split is a wrong command line, as without --listen.
    if let Err(error) = invocation.chain() {
        eprintln!("switchboard-conductor: {}", error.message());
        return ExitCode::from(2);
    }
    let tls = options.tls.is_some();
    let announce = |address| {
        // The one line a supervisor (or a test) waits for; the real port, for port 0.
        eprintln!("listening on {}", listen::endpoint_url(address, tls));
    };
    let stop = async {
        hang_up_signal().await;
    };
    match listen::listen(invocation, options, announce, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-conductor: {}", error.message());
            ExitCode::FAILURE
        }
    }
}

/// A signal that asks the conductor to stop.
#[derive(Clone, Copy, Debug)]
enum HangUp {
    Hup,
    Int,
    Term,
}

impl HangUp {
    /// The signal's number, for the exit status.
    fn number(self) -> u8 {
        match self {
            HangUp::Hup => 1,
            HangUp::Int => 2,
            HangUp::Term => 15,
        }
    }
}

/// Resolves with the first of SIGTERM, SIGINT and SIGHUP; never, where they cannot be
/// listened for.
#[cfg(unix)]
async fn hang_up_signal() -> Option<HangUp> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        eprintln!("switchboard-conductor: cannot listen for signals; they will end it at once");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => Some(HangUp::Term),
        _ = int.recv() => Some(HangUp::Int),
        _ = hup.recv() => Some(HangUp::Hup),
    }
}

#[cfg(not(unix))]
async fn hang_up_signal() -> Option<HangUp> {
    let _ = tokio::signal::ctrl_c().await;
    Some(HangUp::Int)
}
