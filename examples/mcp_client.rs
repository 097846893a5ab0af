//! An MCP client on the command line: spawns a server, lists its tools, calls the ones asked.
//!
//! ```text
//! mcp_client [--call NAME JSON]... -- SERVER_PROGRAM [ARGS...]
//! cargo run --example mcp_client -- --call add '{"a":2,"b":3}' -- cargo run -q --example mcp_server
//! ```
//!
//! It prints `tool NAME` for each tool the server lists, then `result NAME JSON` (the result
//! on one line) for each `--call`, in order. It exits 0 when every call was answered (a tool
//! that failed with `isError` counts as answered), 1 when the server fails, cannot be
//! started or refuses a call (the refusal on stderr: the error's code, message and data),
//! 2 when the command line is wrong. The server is ended before it exits.

use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use switchboard::{ChildCommand, Error};
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::process::ServerProcess;

const USAGE: &str = "usage: mcp_client [--call NAME JSON]... -- SERVER_PROGRAM [ARGS...]

Spawns the MCP server, prints `tool NAME` for each of its tools, then calls each tool
given with --call and prints `result NAME JSON`.

options:
  --call NAME JSON   call the tool NAME with the arguments JSON (an object); repeatable
  --help             print this and exit

exit status: 0 if every call was answered, 1 if the server failed or refused a call,
2 if the command line is wrong.
";

/// How long the server has to answer any one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The parsed command line.
struct Command {
    calls: Vec<(String, Value)>,
    server: ChildCommand,
}

enum Parsed {
    Run(Command),
    Help,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let mut calls = Vec::new();
    loop {
        match args.next().as_deref() {
            Some("--help") => return Ok(Parsed::Help),
            Some("--call") => {
                let name = args
                    .next()
                    .ok_or("--call needs a tool name and a JSON object")?;
                let json = args
                    .next()
                    .ok_or("--call needs a JSON object after the tool name")?;
                let arguments: Value = serde_json::from_str(&json).map_err(|error| {
                    format!("the arguments of --call {name} are not JSON: {error}")
                })?;
                if !arguments.is_object() {
                    return Err(format!(
                        "the arguments of --call {name} must be a JSON object"
                    ));
                }
                calls.push((name, arguments));
            }
            Some("--") => break,
            Some(other) => {
                return Err(format!(
                    "unknown option `{other}` (the server command goes after `--`)"
                ));
            }
            None => return Err("no server command: give it after `--`".to_owned()),
        }
    }
    let program = args.next().ok_or("no server program after `--`")?;
    Ok(Parsed::Run(Command {
        calls,
        server: ChildCommand::new(program).args(args),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(command)) => command,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("mcp_client: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp_client: {}", error.message());
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Error> {
    let mut server = ServerProcess::spawn(command.server)?;
    let calls = command.calls;
    let talked = McpClient
        .builder()
        .name("mcp_client")
        .request_timeout(REQUEST_TIMEOUT)
        .connect_with(server.stdio()?, async |cx| {
            cx.initialize(client_info(
                "switchboard-mcp_client",
                env!("CARGO_PKG_VERSION"),
            ))
            .await?;
            let mut tools = cx.tools();
            while let Some(tool) = tools.next().await {
                println!("tool {}", tool?.name);
            }
            for (name, arguments) in calls {
                let result = match cx.call_tool(&name, arguments).block_task().await {
                    Ok(result) => result,
                    // The server is fine and said no: nothing to explain about it.
                    Err(error) if !error.is_connection_closed() && !error.is_timeout() => {
                        return Ok(Err(refused(&name, &error)));
                    }
                    Err(error) => return Err(error),
                };
                let line = serde_json::to_string(&result).map_err(Error::serialization)?;
                println!("result {name} {line}");
            }
            Ok(Ok(()))
        })
        .await;
    match talked {
        Ok(refused) => {
            server.end().await?;
            refused
        }
        Err(error) => {
            let explained = server.explain(error).await;
            // Whatever the outcome, nothing is left running.
            let _ = server.end().await;
            Err(explained)
        }
    }
}

/// The error for a call the server refused: its code, its message, and its `data` when it
/// has some (where a server says more, such as a supervisor's fault), on one line.
fn refused(name: &str, error: &Error) -> Error {
    let mut message = format!(
        "the server refused `{name}` (error {}): {}",
        error.code(),
        error.message()
    );
    if let Some(data) = error.data() {
        message.push_str(&format!("; data: {data}"));
    }
    Error::new(error.code(), message)
}
