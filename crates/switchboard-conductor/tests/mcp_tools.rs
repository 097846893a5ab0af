//! MCP over ACP across processes: the `acp_tools_proxy` example gives each session a `tools`
//! server, and the `acp_echo_agent` example calls its tools over `mcp/message`, through the
//! `switchboard-conductor` binary, with the tools proxy alone and among other proxies.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::{
    EditorState, Hop, TempDir, build_examples, drive, echo_agent, finish, logging_proxy,
    open_session, prefix_proxy, quote, read_turn, spawn_conductor, text,
};

/// The `acp_tools_proxy` example, as a hop of a chain.
fn tools_proxy() -> Hop {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    let program = PROGRAM.get_or_init(|| {
        let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut built = build_examples(workspace, &["acp_tools_proxy"]);
        built.pop().expect("one binary for one name")
    });
    Hop {
        command: quote(program),
        adds: None,
        program: "acp_tools_proxy".to_owned(),
    }
}

/// Opens a session through `proxies` and sends `prompt`; returns what the agent said.
async fn said_through(proxies: Vec<Hop>, prompt: &'static str) -> String {
    said_through_to(proxies, echo_agent(), prompt).await
}

/// Like `said_through`, to the agent `agent` (program and arguments).
async fn said_through_to(
    proxies: Vec<Hop>,
    agent: Vec<std::ffi::OsString>,
    prompt: &'static str,
) -> String {
    let dir = TempDir::new("mcp-tools");
    let cwd = dir.path().to_owned();
    let mut conductor = spawn_conductor(&proxies, None, &agent);
    let state = EditorState::default();
    let said = drive(&proxies, &mut conductor, &state, async move |cx| {
        let mut session = open_session(&cx, &cwd).await?;
        session.send_prompt(vec![text(prompt)])?;
        Ok(read_turn(&mut session).await?.0)
    })
    .await;
    let (status, stderr) = finish(&mut conductor).await;
    assert!(status.success(), "{status}: {stderr}");
    said
}

#[tokio::test]
async fn the_agent_adds_with_the_proxys_tool_across_processes() {
    let add = r#"/tool tools add {"a":2,"b":3}"#;
    let shapes = [
        vec![tools_proxy()],
        vec![prefix_proxy(None), tools_proxy(), logging_proxy()],
    ];
    for proxies in shapes {
        let said = said_through(proxies.clone(), add).await;
        assert_eq!(said, r#"{"sum":5}"#, "{proxies:?}");
    }
}

#[tokio::test]
async fn the_now_tool_tells_the_time_in_rfc_3339() {
    let said = said_through(vec![tools_proxy()], "/tool tools now").await;
    // `YYYY-MM-DDTHH:MM:SSZ`
    let shape: String = said
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "not RFC 3339 UTC: {said:?}");
}

/// The echo agent without `mcpCapabilities.acp` refuses `acp` servers; through the conductor
/// it is given the tools proxy's server as a stdio server that runs the conductor's relay,
/// and its calls reach the proxy as if it had sent `mcp/message` itself.
#[tokio::test]
async fn an_agent_without_mcp_over_acp_adds_through_the_conductors_bridge() {
    let mut agent = echo_agent();
    agent.push("--without-mcp-over-acp".into());
    let add = r#"/tool tools add {"a":2,"b":3}"#;
    let shapes = [
        vec![tools_proxy()],
        vec![prefix_proxy(None), tools_proxy(), logging_proxy()],
    ];
    for proxies in shapes {
        let said = said_through_to(proxies.clone(), agent.clone(), add).await;
        assert_eq!(said, r#"{"sum":5}"#, "{proxies:?}");
    }
}
