//! `switchboard-conductor`: runs a chain of ACP proxies in front of an agent, and serves it
//! on stdin/stdout as one agent. See [`switchboard_conductor::cli`] for the command line.

use std::process::ExitCode;

use switchboard::Stdio;
use switchboard_conductor::cli::{self, Parsed, USAGE};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
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
