//! The MCP bridge: an agent without `mcpCapabilities.acp` is given the editor's ACP MCP
//! servers as stdio servers that run the conductor's relay (this package's
//! `switchboard-conductor` binary), and reaches them through it.
//!
//! The agent is in process; the relay is a real child process, started from the stdio entry
//! the agent received, as an agent would start it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::BoxFuture;
use switchboard::{Builder, ChildCommand, ChildProcess, ConnectionTo, Error, Handler};
use switchboard_acp::mcp_over_acp::attach_service;
use switchboard_acp::schema::{
    AgentCapabilities, CloseSessionRequest, CloseSessionResponse, InitializeRequest,
    InitializeResponse, McpCapabilities, McpServer, McpServerAcp, McpServerStdio,
    MessageMcpNotification, NewSessionRequest, NewSessionResponse, ProtocolVersion,
};
use switchboard_acp::{Agent, Client, Proxy, initialize};
use switchboard_conductor::Chain;
use switchboard_conductor::mcp_bridge::{
    MAX_BRIDGE_CONNECTIONS, McpBridgeRelay, RELAY_FLAG, TOKEN_ENV,
};
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::schema::{CallToolResult, ContentBlock};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};

/// How long any one await may take before the test is declared hung. Nothing is asserted
/// about time.
const HANG_GUARD: Duration = Duration::from_secs(30);

async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// The editor's server: a tool `whoami` that answers "the editor's docs", and a tool `slow`
/// that reports progress twice before answering.
fn service() -> Service {
    Service::new("docs", "1.0.0")
        .tool(Tool::new(
            "whoami",
            "Says whose server this is",
            async |_: NoArguments, _cx: RequestContext| {
                Ok::<_, ToolError>("the editor's docs".to_owned())
            },
        ))
        .tool(Tool::new(
            "slow",
            "Reports progress, then answers",
            async |_: NoArguments, cx: RequestContext| {
                cx.progress(1.0, Some(2.0), Some("half"))?;
                cx.progress(2.0, Some(2.0), Some("done"))?;
                Ok::<_, ToolError>("finished".to_owned())
            },
        ))
}

/// How many `mcp/message` notifications reached an agent, in any test of this binary.
static STRAY_MCP_NOTIFICATIONS: AtomicUsize = AtomicUsize::new(0);

fn relay() -> McpBridgeRelay {
    McpBridgeRelay::new(env!("CARGO_BIN_EXE_switchboard-conductor")).arg(RELAY_FLAG)
}

/// An agent that advertises `mcpCapabilities.acp` or not, and passes on the `mcpServers` of
/// each `session/new` it gets (answering it `s-1`); it closes sessions when asked.
fn agent(
    has_acp: bool,
    seen: mpsc::Sender<Vec<McpServer>>,
) -> Builder<Agent, impl Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(
            move |request: InitializeRequest, responder, _cx| async move {
                let capabilities =
                    AgentCapabilities::new().mcp_capabilities(McpCapabilities::new().acp(has_acp));
                responder
                    .respond(initialize::agent_response(&request).agent_capabilities(capabilities))
            },
        )
        .on_receive_request(move |request: NewSessionRequest, responder, _cx| {
            let mut seen = seen.clone();
            async move {
                seen.try_send(request.mcp_servers)
                    .expect("the test reads each session's servers");
                responder.respond(NewSessionResponse::new("s-1"))
            }
        })
        .on_receive_request(async |_: CloseSessionRequest, responder, _cx| {
            responder.respond(CloseSessionResponse::new())
        })
        // Every server these tests offer a bridging chain's agent is a stdio one, and the
        // one that has the capability is offered no progress: an `mcp/message` reaching an
        // agent is a bridge's, gone astray.
        .on_receive_notification(async |_: MessageMcpNotification, _cx| {
            STRAY_MCP_NOTIFICATIONS.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
}

/// The editor's half: opens the chain, offers its server as `docs-1`, opens a session that
/// declares it as an ACP server, and then runs `then` with what the agent was given.
async fn editor<T: Send + 'static>(
    chain: Chain,
    mut seen: mpsc::Receiver<Vec<McpServer>>,
    then: impl FnOnce(ConnectionTo<Agent>, Vec<McpServer>) -> BoxFuture<'static, Result<T, Error>>
    + Send
    + 'static,
) -> (InitializeResponse, T) {
    let run = Client.builder().connect_with(chain, async move |cx| {
        let opened = cx
            .send_request(InitializeRequest::new(ProtocolVersion::LATEST))
            .block_task()
            .await?;
        let _attached = attach_service(&cx, "docs-1", &service()).await?;
        let session = NewSessionRequest::new("/tmp")
            .mcp_servers(vec![McpServer::Acp(McpServerAcp::new("docs", "docs-1"))]);
        cx.send_request(session).block_task().await?;
        let servers = seen.next().await.expect("the agent saw the session");
        let outcome = then(cx.clone(), servers).await?;
        Ok((opened, outcome))
    });
    guard("the editor's session", run)
        .await
        .expect("the editor runs to the end")
}

/// The one stdio entry among `servers`.
fn stdio_entry(servers: &[McpServer]) -> McpServerStdio {
    match servers {
        [McpServer::Stdio(stdio)] => stdio.clone(),
        other => panic!("expected one stdio server, got {other:?}"),
    }
}

/// Starts the relay `entry` describes, as an agent would (with `token` instead of the
/// entry's own, if given).
fn start_relay(entry: &McpServerStdio, token: Option<&str>) -> ChildProcess {
    let mut command = ChildCommand::new(&entry.command).args(&entry.args);
    for variable in &entry.env {
        command = command.env(&variable.name, token.unwrap_or(&variable.value));
    }
    ChildProcess::spawn(command).expect("the relay starts")
}

fn text_of(result: &CallToolResult) -> String {
    match result.content.first() {
        Some(ContentBlock::TextContent(text)) => text.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Calls `whoami` over the relay.
async fn whoami(relay: &mut ChildProcess) -> Result<String, Error> {
    McpClient
        .builder()
        .connect_with(relay.stdio()?, async |mcp| {
            mcp.initialize(client_info("test-agent", "1.0.0")).await?;
            let result = mcp
                .call_tool("whoami", serde_json::json!({}))
                .block_task()
                .await?;
            Ok(text_of(&result))
        })
        .await
}

#[tokio::test]
async fn an_agent_without_the_capability_calls_a_tool_of_the_editor_through_the_relay() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (opened, (entry, answer)) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let entry = stdio_entry(&servers);
            let mut relay = start_relay(&entry, None);
            let answer = guard("the tool call", whoami(&mut relay)).await;
            Ok((entry, answer))
        })
    })
    .await;
    let acp = opened.agent_capabilities.mcp_capabilities.acp;
    assert!(acp, "the chain claims the capability for its agent");
    assert_eq!(entry.name, "docs", "the entry keeps the server's name");
    assert_eq!(entry.args.last().map(String::as_str), Some("docs-1"));
    assert_eq!(entry.env.first().map(|v| v.name.as_str()), Some(TOKEN_ENV));
    assert_eq!(answer.expect("the tool answers"), "the editor's docs");
}

#[tokio::test]
async fn the_agents_mcp_requests_climb_through_the_proxies_to_the_editor() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx))
        .proxy(Proxy.builder())
        .proxy(Proxy.builder())
        .mcp_bridge(relay());
    let (opened, answer) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let mut relay = start_relay(&stdio_entry(&servers), None);
            Ok(guard("the tool call", whoami(&mut relay)).await)
        })
    })
    .await;
    assert!(opened.agent_capabilities.mcp_capabilities.acp);
    assert_eq!(answer.expect("the tool answers"), "the editor's docs");
}

#[tokio::test]
async fn the_editors_progress_notifications_reach_the_bridged_client() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (_, (progress, text)) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let mut relay = start_relay(&stdio_entry(&servers), None);
            let called = McpClient
                .builder()
                .connect_with(relay.stdio()?, async move |mcp| {
                    mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                    let seen = Arc::new(Mutex::new(Vec::new()));
                    let record = Arc::clone(&seen);
                    let result = mcp
                        .call_tool_with_progress("slow", serde_json::json!({}), move |update| {
                            record.lock().unwrap().push(update.message);
                        })
                        .await?;
                    let seen = seen.lock().unwrap().clone();
                    Ok((seen, text_of(&result)))
                });
            guard("the slow tool", called).await
        })
    })
    .await;
    assert_eq!(text, "finished");
    assert_eq!(progress, [Some("half".to_owned()), Some("done".to_owned())]);
    assert_eq!(STRAY_MCP_NOTIFICATIONS.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn ending_the_chain_ends_the_relays() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (_, (mut relay, connected)) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let mut relay = start_relay(&stdio_entry(&servers), None);
            let (called, called_rx) = futures::channel::oneshot::channel();
            // The relay's MCP connection outlives the editor's session: it waits for its
            // input to end, which happens once the chain has ended and closed its side.
            let connected = tokio::spawn(McpClient.builder().connect_with(
                relay.stdio()?,
                async move |mcp| {
                    mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                    let result = mcp
                        .call_tool("whoami", serde_json::json!({}))
                        .block_task()
                        .await?;
                    let _ = called.send(text_of(&result));
                    mcp.input_ended().await;
                    Ok(())
                },
            ));
            let answer = guard("the tool call", called_rx).await;
            assert_eq!(answer.ok().as_deref(), Some("the editor's docs"));
            Ok((relay, connected))
        })
    })
    .await;
    // The editor has hung up and the chain has ended.
    guard("the relay's stdout closing", connected)
        .await
        .expect("the MCP client task ends")
        .expect("its connection ends cleanly");
    let status = guard("the relay's exit", relay.wait())
        .await
        .expect("waited");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_relay_with_a_wrong_token_or_garbage_is_refused_and_the_right_one_still_works() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (_, (refused, garbage, answer)) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let entry = stdio_entry(&servers);
            let mut impostor = start_relay(&entry, Some("not-the-token"));
            let status = guard("the impostor's exit", impostor.wait()).await?;
            let refused = (status.success(), impostor.stderr_tail());

            // Not a relay at all: a line that is not a handshake gets an error line, then EOF.
            let address = &entry.args[entry.args.len() - 2];
            let garbage = guard("the garbage connection", async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut stream = tokio::net::TcpStream::connect(address.as_str()).await?;
                stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await?;
                Ok::<_, std::io::Error>(answer)
            })
            .await
            .expect("the conductor answers, then closes");

            let mut relay = start_relay(&entry, None);
            let answer = guard("the tool call", whoami(&mut relay)).await;
            Ok((refused, garbage, answer))
        })
    })
    .await;
    let (succeeded, stderr) = refused;
    assert!(!succeeded, "the impostor relay fails");
    assert!(stderr.contains("wrong token"), "it says why: {stderr}");
    assert!(garbage.contains("not a handshake"), "{garbage}");
    assert_eq!(answer.expect("the tool answers"), "the editor's docs");
}

#[tokio::test]
async fn a_connection_past_the_cap_is_refused() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (_, refusal) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move {
            let entry = stdio_entry(&servers);
            let address = entry.args[entry.args.len() - 2].clone();
            let hello = serde_json::json!({"token": entry.env[0].value, "serverId": "docs-1"});
            let hello = format!("{hello}\n");
            // Each admitted, and kept open: the conductor holds them until the chain ends.
            let mut held = Vec::new();
            for _ in 0..MAX_BRIDGE_CONNECTIONS {
                let stream = tokio::net::TcpStream::connect(address.as_str()).await?;
                let mut stream = BufReader::new(stream);
                stream.get_mut().write_all(hello.as_bytes()).await?;
                let mut answer = String::new();
                guard("an admission", stream.read_line(&mut answer)).await?;
                assert_eq!(answer, "{\"ok\":true}\n");
                held.push(stream);
            }
            let mut past = tokio::net::TcpStream::connect(address.as_str()).await?;
            let mut refusal = String::new();
            guard("the refusal", past.read_to_string(&mut refusal)).await?;
            drop(held);
            Ok::<_, Error>(refusal)
        })
    })
    .await;
    assert!(refusal.contains("at most"), "{refusal}");
}

#[tokio::test]
async fn closing_the_session_ends_its_bridge_and_refuses_it_afterwards() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx)).mcp_bridge(relay());
    let (_, (answer, ended, after)) = editor(chain, seen, |cx, servers| {
        Box::pin(async move {
            let entry = stdio_entry(&servers);
            let mut relay = start_relay(&entry, None);
            // The relay stays up across the close: its MCP connection waits for the conductor
            // to end it, which the relay shows as the end of its stdout.
            let answer = McpClient
                .builder()
                .connect_with(relay.stdio()?, async move |mcp| {
                    mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                    let result = mcp
                        .call_tool("whoami", serde_json::json!({}))
                        .block_task()
                        .await?;
                    cx.send_request(CloseSessionRequest::new("s-1"))
                        .block_task()
                        .await?;
                    guard("the relay's stdout closing", mcp.input_ended()).await;
                    Ok(text_of(&result))
                })
                .await?;
            let ended = guard("the relay's exit", relay.wait()).await?;
            let mut late = start_relay(&entry, None);
            let late_status = guard("the late relay's exit", late.wait()).await?;
            Ok((answer, ended, (late_status.success(), late.stderr_tail())))
        })
    })
    .await;
    assert_eq!(answer, "the editor's docs");
    assert!(ended.success(), "the relay exits on its own: {ended:?}");
    let (succeeded, stderr) = after;
    assert!(!succeeded, "a relay for a closed session is refused");
    assert!(
        stderr.contains("no bridged MCP server"),
        "it says why: {stderr}"
    );
}

#[tokio::test]
async fn an_agent_with_the_capability_gets_the_entries_unchanged() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(true, seen_tx)).mcp_bridge(relay());
    let (opened, servers) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move { Ok(servers) })
    })
    .await;
    assert!(opened.agent_capabilities.mcp_capabilities.acp);
    assert_eq!(
        servers,
        [McpServer::Acp(McpServerAcp::new("docs", "docs-1"))]
    );
}

#[tokio::test]
async fn without_a_relay_nothing_is_claimed_or_rewritten() {
    let (seen_tx, seen) = mpsc::channel(4);
    let chain = Chain::new(agent(false, seen_tx));
    let (opened, servers) = editor(chain, seen, |_cx, servers| {
        Box::pin(async move { Ok(servers) })
    })
    .await;
    assert!(!opened.agent_capabilities.mcp_capabilities.acp);
    assert_eq!(
        servers,
        [McpServer::Acp(McpServerAcp::new("docs", "docs-1"))]
    );
}
