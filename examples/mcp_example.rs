//! The MCP server behind `cargo run --example mcp_server`, as a [`Service`] the tests can
//! also serve in process.
//!
//! | tool | arguments | result |
//! |---|---|---|
//! | `add` | `{a, b}` integers | the sum as text and as `structuredContent {sum}` (with an `outputSchema`) |
//! | `echo` | `{text}` | that text |
//! | `sleep` | `{ms}` | `slept`, after `ms` milliseconds; progress every [`SLEEP_STEP`] when asked for, stopped by a cancellation |
//! | `fail` | `{}` | an `isError` result saying why |
//!
//! Resource `mem://readme` (text/plain) and prompt `greet {name}` complete it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_mcp::server::{
    Json, NoArguments, Prompt, RequestContext, Resource, Service, Tool, ToolError, user_text,
};

/// The name the server gives in `serverInfo`.
pub const SERVER_NAME: &str = "switchboard-mcp-example";

/// The URI of the one resource.
pub const README_URI: &str = "mem://readme";

/// The text of `mem://readme`.
pub const README_TEXT: &str = "Switchboard: typed, actor-based JSON-RPC 2.0 connections. \
                               This server is its MCP example.";

/// How often `sleep` reports progress: the first report goes out at once, so a client
/// waiting for it does not wait a step.
pub const SLEEP_STEP: Duration = Duration::from_millis(100);

/// The arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddArgs {
    /// The first addend.
    pub a: i64,
    /// The second addend.
    pub b: i64,
}

/// The structured result of `add`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Sum {
    /// `a + b`.
    pub sum: i64,
}

/// The arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// What to say back.
    pub text: String,
}

/// The arguments of `sleep`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SleepArgs {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
}

/// The arguments of the `greet` prompt.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GreetArgs {
    /// Who to greet.
    pub name: String,
}

/// The example server: the tools, resource and prompt of the module's table.
pub fn service() -> Service {
    Service::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
        .instructions("An example server: arithmetic, echo, sleep and a failing tool.")
        .tool(Tool::new("add", "Adds two integers", add))
        .tool(Tool::new("echo", "Says the text back", echo))
        .tool(Tool::new(
            "sleep",
            "Sleeps for `ms` milliseconds, reporting progress; cancellable",
            sleep,
        ))
        .tool(Tool::new("fail", "Always fails, saying why", fail))
        .resource(
            Resource::text(README_URI, "readme", README_TEXT)
                .mime_type("text/plain")
                .description("What this server is"),
        )
        .prompt(Prompt::new("greet", "Greets someone by name", greet))
}

/// The `add` tool: the sum, or an error result when it overflows.
pub async fn add(args: AddArgs, _cx: RequestContext) -> Result<Json<Sum>, ToolError> {
    let sum = args.a.checked_add(args.b).ok_or_else(|| {
        ToolError::failed(format!(
            "{} + {} overflows a 64-bit integer",
            args.a, args.b
        ))
    })?;
    Ok(Json(Sum { sum }))
}

async fn echo(args: EchoArgs, _cx: RequestContext) -> Result<String, ToolError> {
    Ok(args.text)
}

async fn sleep(args: SleepArgs, cx: RequestContext) -> Result<String, ToolError> {
    let total = Duration::from_millis(args.ms);
    let mut slept = Duration::ZERO;
    // A cancellation drops this future at whichever await it is waiting in.
    while slept < total {
        cx.progress(
            slept.as_millis() as f64,
            Some(args.ms as f64),
            Some("sleeping"),
        )?;
        let step = SLEEP_STEP.min(total - slept);
        tokio::time::sleep(step).await;
        slept += step;
    }
    cx.progress(args.ms as f64, Some(args.ms as f64), Some("awake"))?;
    Ok("slept".to_owned())
}

async fn fail(_args: NoArguments, _cx: RequestContext) -> Result<String, ToolError> {
    Err(ToolError::failed(
        "the `fail` tool always fails: it is there to show what a failed tool looks like",
    ))
}

async fn greet(
    args: GreetArgs,
    _cx: RequestContext,
) -> Result<Vec<switchboard_mcp::schema::PromptMessage>, switchboard::Error> {
    Ok(vec![user_text(format!(
        "Please greet {} warmly, in one sentence.",
        args.name
    ))])
}
