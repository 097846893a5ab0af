//! `switchboard-conductor`: runs a chain of ACP proxies in front of an agent, and serves it
//! on stdin/stdout as one agent. See [`switchboard_conductor::cli`] for the command line.

use std::process::ExitCode;

use switchboard::Stdio;
use switchboard_conductor::cli::{self, Parsed, USAGE};

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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    log_to_stderr();
    let invocation = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(invocation)) => invocation,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("switchboard-conductor: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let chain = match invocation.chain() {
        Ok(chain) => chain,
        Err(error) => {
            eprintln!("switchboard-conductor: {}", error.message());
            return ExitCode::from(2);
        }
    };
    match chain.run(Stdio::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-conductor: {}", error.message());
            ExitCode::FAILURE
        }
    }
}
