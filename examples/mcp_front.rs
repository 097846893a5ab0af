//! The MCP server behind `cargo run --example mcp_supervisor`: a front that passes what an
//! MCP client sends to a [`Supervisor`] standing for the real server, which it restarts,
//! replays calls to and rolls out, and adds two tools of its own, [`HEALTH_TOOL`] and
//! [`TELEMETRY_TOOL`].
//!
//! ```text
//! MCP client ── stdio ── front ── Supervisor ── generation 1, 2, ... of the MCP server
//! ```
//!
//! Everything passes through unchanged both ways (the server's own requests and
//! notifications to the client too), except:
//!
//! - `tools/list`: its last page gets the two tools appended;
//! - `tools/call` of `health` or `telemetry`: answered here, with the snapshot as
//!   `structuredContent` and as JSON text.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{
    ChildCommand, ConnectTo, ConnectionTo, Dispatch, Error, UntypedMessage, UntypedRole,
};
use switchboard_mcp::role::MCP_CANCELLATION;
use switchboard_supervisor::{
    Contracts, Handshake, Replay, RestartPolicy, Supervisor, SupervisorStatus,
};

/// The tool that answers with the supervisor's [`Health`](switchboard_supervisor::Health).
pub const HEALTH_TOOL: &str = "health";

/// The tool that answers with the supervisor's
/// [`TelemetrySnapshot`](switchboard_supervisor::TelemetrySnapshot).
pub const TELEMETRY_TOOL: &str = "telemetry";

/// The MCP methods that only read (lists, `ping`): a new generation answers them the same,
/// so they are replayed after a crash without being asked.
pub const SAFE_METHODS: [&str; 5] = [
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
    "ping",
];

/// How the server is supervised: what `mcp_supervisor`'s options set.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Tools whose calls may be replayed to a new generation (`--safe TOOL`).
    pub safe_tools: Vec<String>,
    /// Restarts allowed within the restart policy's window (`--max-restarts N`); the
    /// policy's default when `None`.
    pub max_restarts: Option<u32>,
    /// How long a call may go unanswered before its generation is taken for hung
    /// (`--call-timeout SECS`); no limit when `None`.
    pub call_timeout: Option<Duration>,
    /// Whether a changed executable is rolled out (`--watch`).
    pub watch: bool,
    /// Where one JSON line per call goes (`--telemetry-log FILE`).
    pub telemetry_log: Option<PathBuf>,
}

/// How often `--watch` looks at the server's executable.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);

/// MCP's handshake: `initialize` (whose `protocolVersion` every later generation must
/// repeat), then `notifications/initialized`.
pub fn mcp_handshake() -> Handshake {
    Handshake::default()
        .request("initialize")
        .notification("notifications/initialized")
        .check("protocolVersion")
        // MCP lets either side ping at any time, before the handshake too.
        .allow_before("ping")
}

/// The replay contracts: `tools/call` named by its tool, the [`SAFE_METHODS`] and
/// `safe_tools` safe, everything else never replayed.
pub fn contracts(safe_tools: &[String]) -> Contracts {
    let contracts = SAFE_METHODS.iter().fold(
        Contracts::default().named_by("tools/call", "name"),
        |contracts, method| contracts.contract(*method, Replay::Safe),
    );
    safe_tools.iter().fold(contracts, |contracts, tool| {
        contracts.contract(format!("tools/call:{tool}"), Replay::Safe)
    })
}

/// A supervisor for the MCP server `command`, set up for MCP and by `settings`.
pub fn supervisor(command: ChildCommand, settings: &Settings) -> Supervisor {
    let mut supervisor = Supervisor::command(command)
        .handshake(mcp_handshake())
        .cancellation(MCP_CANCELLATION)
        .contracts(contracts(&settings.safe_tools));
    if let Some(restarts) = settings.max_restarts {
        let policy = RestartPolicy::default();
        let window = policy.get_window();
        supervisor = supervisor.restart_policy(policy.max_restarts(restarts, window));
    }
    if let Some(timeout) = settings.call_timeout {
        supervisor = supervisor.call_timeout(timeout);
    }
    if settings.watch {
        supervisor = supervisor.watch_executable(WATCH_EVERY);
    }
    if let Some(path) = &settings.telemetry_log {
        supervisor = supervisor.telemetry_log(path.clone());
    }
    supervisor
}

/// Serves the MCP client at `client` with `supervisor` standing for the server, until the
/// client's input has ended and everything it asked has been answered.
pub async fn serve(
    supervisor: Supervisor,
    client: impl ConnectTo<UntypedRole>,
) -> Result<(), Error> {
    let status = supervisor.status();
    // The connection to the client is made inside the one to the server (whose handlers it
    // needs), so the server's side finds it here once it exists.
    let to_client: Arc<OnceLock<ConnectionTo<UntypedRole>>> = Arc::default();
    let from_server = Arc::clone(&to_client);
    UntypedRole
        .builder()
        .name("mcp_supervisor: server side")
        .cancellation(MCP_CANCELLATION)
        .on_receive_dispatch(move |dispatch: Dispatch, _server| {
            let client = from_server.get().cloned();
            async move {
                match client {
                    Some(client) => client.send_proxied_message(dispatch),
                    None => before_the_client(dispatch).await,
                }
            }
        })
        .connect_with(supervisor, async move |to_server| {
            UntypedRole
                .builder()
                .name("mcp_supervisor")
                .cancellation(MCP_CANCELLATION)
                .on_receive_dispatch(move |dispatch: Dispatch, _client| {
                    // Never waits: an answer that needs the server comes back by callback.
                    std::future::ready(from_client(&to_server, &status, dispatch))
                })
                .connect_with(client, async move |client| {
                    let _ = to_client.set(client.clone());
                    client.input_ended().await;
                    client.all_answered().await;
                    Ok(())
                })
                .await
        })
        .await
}

/// One message from the client: answered here, or passed to the server.
fn from_client(
    server: &ConnectionTo<UntypedRole>,
    status: &SupervisorStatus,
    dispatch: Dispatch,
) -> Result<(), Error> {
    match dispatch {
        Dispatch::Request(request, responder) if request.method() == "tools/list" => {
            server
                .send_request(request)
                .map(with_own_tools)
                .forward_response_to(responder);
            Ok(())
        }
        Dispatch::Request(request, responder) => match own_tool(&request) {
            Some(OwnTool::Health) => responder.respond(snapshot_result(&status.health())?),
            Some(OwnTool::Telemetry) => responder.respond(snapshot_result(&status.telemetry())?),
            None => server.send_proxied_message::<_, UntypedMessage, UntypedRole>(
                Dispatch::Request(request, responder),
            ),
        },
        other => server.send_proxied_message(other),
    }
}

/// What the server sent before the client's connection was made (a server speaks when
/// spoken to, so this is rare): a request is refused, a notification dropped.
async fn before_the_client(dispatch: Dispatch) -> Result<(), Error> {
    match dispatch {
        Dispatch::Request(request, responder) => responder.respond_with_error(
            Error::internal_error(format!("{}: no client is connected yet", request.method())),
        ),
        Dispatch::Notification(notification) => {
            eprintln!(
                "mcp_supervisor: {} from the server came before the client; dropped",
                notification.method()
            );
            Ok(())
        }
        Dispatch::Response(answer, router) => {
            router.route(answer).await;
            Ok(())
        }
    }
}

/// The tools answered here.
enum OwnTool {
    Health,
    Telemetry,
}

/// Which of the two tools `request` calls, if it is a `tools/call` of one of them.
fn own_tool(request: &UntypedMessage) -> Option<OwnTool> {
    #[derive(Deserialize)]
    struct Called {
        name: String,
    }
    if request.method() != "tools/call" {
        return None;
    }
    let called: Called = serde_json::from_str(request.params()?.get()).ok()?;
    match called.name.as_str() {
        HEALTH_TOOL => Some(OwnTool::Health),
        TELEMETRY_TOOL => Some(OwnTool::Telemetry),
        _ => None,
    }
}

/// A `tools/call` result holding `snapshot`: as `structuredContent`, and as JSON text for
/// clients that read only text.
fn snapshot_result(snapshot: &impl serde::Serialize) -> Result<Value, Error> {
    let snapshot = serde_json::to_value(snapshot).map_err(Error::serialization)?;
    Ok(json!({
        "content": [{"type": "text", "text": snapshot.to_string()}],
        "structuredContent": snapshot,
    }))
}

/// The definitions of the two tools, as `tools/list` gives them.
pub fn own_tools() -> [Value; 2] {
    [
        json!({
            "name": HEALTH_TOOL,
            "description": "The supervisor's health: generation, restarts, rollouts, state, last fault, calls in flight",
            "inputSchema": {"type": "object"},
        }),
        json!({
            "name": TELEMETRY_TOOL,
            "description": "The supervisor's telemetry: per operation, counts, errors by stage, retries, calls in flight, latency percentiles",
            "inputSchema": {"type": "object"},
        }),
    ]
}

/// A page of `tools/list` with the two tools appended if it is the last page (so that a
/// paged list has them once, at its end).
fn with_own_tools(mut page: Value) -> Result<Value, Error> {
    if page.get("nextCursor").is_none_or(Value::is_null)
        && let Some(tools) = page.get_mut("tools").and_then(Value::as_array_mut)
    {
        tools.extend(own_tools());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_tools_go_on_the_last_page_only() {
        let first = with_own_tools(json!({"tools": [{"name": "a"}], "nextCursor": "2"})).unwrap();
        assert_eq!(first["tools"].as_array().unwrap().len(), 1);
        let last = with_own_tools(json!({"tools": [{"name": "b"}]})).unwrap();
        let names: Vec<&str> = last["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", HEALTH_TOOL, TELEMETRY_TOOL]);
    }

    #[test]
    fn reads_and_the_tools_named_safe_are_replayed_and_nothing_else() {
        let contracts = contracts(&["search".to_owned()]);
        for safe in ["tools/list", "ping", "tools/call:search"] {
            assert_eq!(contracts.replay(safe), Replay::Safe, "{safe}");
        }
        for unsafe_ in ["tools/call:delete", "tools/call", "resources/read"] {
            assert_eq!(contracts.replay(unsafe_), Replay::Never, "{unsafe_}");
        }
    }

    #[test]
    fn only_a_call_of_health_or_telemetry_is_answered_here() {
        let call = |name: &str| {
            UntypedMessage::new("tools/call", json!({"name": name, "arguments": {}})).unwrap()
        };
        assert!(matches!(own_tool(&call("health")), Some(OwnTool::Health)));
        assert!(matches!(
            own_tool(&call("telemetry")),
            Some(OwnTool::Telemetry)
        ));
        assert!(own_tool(&call("echo")).is_none());
        let list = UntypedMessage::new("tools/list", json!({"name": "health"})).unwrap();
        assert!(own_tool(&list).is_none());
    }
}
