//! An MCP server on stdio that misbehaves on purpose: the example server of `mcp_server`
//! plus tools that crash, hang or write garbage, for testing what stands in front of a
//! server (`mcp_supervisor`, in `tests/mcp/supervisor.rs`).
//!
//! | tool | arguments | what it does |
//! |---|---|---|
//! | `crash` | `{marker}` a file path | if the file does not exist: creates it and exits with status 3; else answers `survived` |
//! | `crash_always` | `{}` | exits with status 3 |
//! | `hang` | `{}` | never answers |
//! | `garbage` | `{}` | writes a line that is not JSON to stdout, then answers `after garbage` |
//! | `whoami` | `{}` | this process's id, as `structuredContent {pid}` |
//!
//! The marker file makes `crash` deterministic across processes: the first process to get
//! it dies, the next one (a restarted generation) survives it.
//!
//! ```text
//! cargo run --example mcp_client -- --call whoami '{}' -- cargo run -q --example mcp_flaky_server
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard::Stdio;
use switchboard_mcp::server::{Json, NoArguments, RequestContext, Tool, ToolError};

/// The exit status of `crash` and `crash_always`: neither 0 nor 1, so that nobody mistakes
/// it for an ordinary end or error.
const CRASH_STATUS: i32 = 3;

/// The arguments of `crash`.
#[derive(Debug, Deserialize, JsonSchema)]
struct CrashArgs {
    /// The file whose absence makes the process exit (after creating it).
    marker: String,
}

/// The answer of `whoami`.
#[derive(Debug, Serialize, JsonSchema)]
struct WhoAmI {
    /// This process's id.
    pid: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = switchboard_examples::mcp_example::service()
        .tool(Tool::new(
            "crash",
            "Exits with status 3 unless the marker file exists (creating it first)",
            crash,
        ))
        .tool(Tool::new(
            "crash_always",
            "Exits with status 3",
            crash_always,
        ))
        .tool(Tool::new("hang", "Never answers", hang))
        .tool(Tool::new(
            "garbage",
            "Writes a line that is not JSON to stdout, then answers",
            garbage,
        ))
        .tool(Tool::new("whoami", "This process's id", whoami));
    if let Err(error) = service.serve(Stdio::new()).await {
        eprintln!("mcp_flaky_server: {error}");
        std::process::exit(1);
    }
}

async fn crash(args: CrashArgs, _cx: RequestContext) -> Result<String, ToolError> {
    // `create_new` fails if the file exists: looking for it and creating it are one step.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.marker)
    {
        Ok(_) => {
            eprintln!("mcp_flaky_server: crash: {} created; exiting", args.marker);
            std::process::exit(CRASH_STATUS)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok("survived".to_owned())
        }
        Err(error) => Err(ToolError::failed(format!(
            "the marker {} cannot be created: {error}",
            args.marker
        ))),
    }
}

async fn crash_always(_args: NoArguments, _cx: RequestContext) -> Result<String, ToolError> {
    eprintln!("mcp_flaky_server: crash_always: exiting");
    std::process::exit(CRASH_STATUS)
}

async fn hang(_args: NoArguments, _cx: RequestContext) -> Result<String, ToolError> {
    // Stopped only by a cancellation (which drops this future) or the end of the process.
    std::future::pending().await
}

async fn garbage(_args: NoArguments, _cx: RequestContext) -> Result<String, ToolError> {
    use std::io::Write;
    // tokio's stdout, which the connection writes through, writes through std's `Stdout` and
    // its lock, so a line written under that lock does not land inside one of the
    // connection's frames; and the answer, sent after this returns, comes after it.
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(b"this line is not JSON-RPC\n")
        .and_then(|()| stdout.flush())
        .map_err(|error| ToolError::failed(format!("stdout: {error}")))?;
    Ok("after garbage".to_owned())
}

async fn whoami(_args: NoArguments, _cx: RequestContext) -> Result<Json<WhoAmI>, ToolError> {
    Ok(Json(WhoAmI {
        pid: std::process::id(),
    }))
}
