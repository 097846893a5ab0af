//! MCP over ACP, both ends in process: the client attaches MCP servers under `serverId`s,
//! the agent reaches them with an ordinary MCP client connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{BoxFuture, join};
use switchboard::{Channel, ConnectionTo, Error};
use switchboard_acp::mcp_over_acp::{attach, attach_service, use_server};
use switchboard_acp::schema::{
    InitializeRequest, MessageMcpRequest, MessageMcpResponse, ProtocolVersion,
};
use switchboard_acp::{AcpClient, Agent, Client, initialize};
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::schema::{CallToolResult, ContentBlock};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};

/// A server with a tool `whoami` that answers `name`, and a tool `slow` that reports
/// progress twice before answering.
fn service(name: &'static str) -> Service {
    Service::new(name, "1.0.0")
        .tool(Tool::new(
            "whoami",
            "Says which server this is",
            move |_: NoArguments, _cx: RequestContext| async move {
                Ok::<_, ToolError>(name.to_owned())
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

fn text_of(result: &CallToolResult) -> String {
    match result.content.first() {
        Some(ContentBlock::TextContent(text)) => text.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Runs a client that attaches `servers` (serverId, server name) and an agent that runs
/// `agent_main` once they are attached; returns what `agent_main` returns.
async fn run<T: Send + 'static>(
    servers: &'static [(&'static str, &'static str)],
    agent_main: impl FnOnce(ConnectionTo<Client>) -> BoxFuture<'static, Result<T, Error>>
    + Send
    + 'static,
) -> T {
    let services = servers
        .iter()
        .map(|(server_id, name)| (*server_id, Offered::Service(service(name))))
        .collect();
    run_with(services, None, agent_main).await
}

/// A server the client attaches: a service it runs, or any MCP server at the end of a channel.
enum Offered {
    Service(Service),
    At(Channel),
}

/// Like [`run`], with the servers given, and a signal on which the client drops them (the
/// session ends) before the agent is done.
async fn run_with<T: Send + 'static>(
    services: Vec<(&'static str, Offered)>,
    end_session: Option<oneshot::Receiver<()>>,
    agent_main: impl FnOnce(ConnectionTo<Client>) -> BoxFuture<'static, Result<T, Error>>
    + Send
    + 'static,
) -> T {
    let (client_end, agent_end) = Channel::duplex();
    let (attached, ready) = oneshot::channel::<()>();
    let (finished, done) = oneshot::channel::<()>();
    let client = Client.builder().connect_with(client_end, async move |cx| {
        cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST))
            .block_task()
            .await?;
        let mut kept = Vec::new();
        for (server_id, offered) in services {
            kept.push(match offered {
                Offered::Service(service) => attach_service(&cx, server_id, &service).await?,
                Offered::At(server) => attach(&cx, server_id, server).await?,
            });
        }
        let _ = attached.send(());
        match end_session {
            Some(end_session) => {
                let _ = end_session.await;
                drop(kept);
                let _ = done.await;
            }
            None => {
                let _ = done.await;
                drop(kept);
            }
        }
        Ok(())
    });
    let agent = Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(initialize::agent_response(&request))
        })
        .connect_with(agent_end, async move |acp| {
            let _ = ready.await;
            let answer = agent_main(acp).await;
            let _ = finished.send(());
            answer
        });
    let (client, agent) = join(client, agent).await;
    client.expect("the client runs to the end");
    agent.expect("the agent runs to the end")
}

/// Calls the tool `tool` on the server the client offers as `server_id`, over a fresh MCP
/// client connection, and returns its text.
async fn call(
    acp: &ConnectionTo<Client>,
    server_id: &'static str,
    tool: &'static str,
) -> Result<String, Error> {
    McpClient
        .builder()
        .connect_with(use_server(acp, server_id), async move |mcp| {
            mcp.initialize(client_info("test-agent", "1.0.0")).await?;
            let result = mcp
                .call_tool(tool, serde_json::json!({}))
                .block_task()
                .await?;
            Ok(text_of(&result))
        })
        .await
}

#[tokio::test]
async fn an_agent_calls_a_tool_on_a_server_the_client_offers() {
    let answer = run(&[("docs-1", "docs")], |acp| {
        Box::pin(async move { call(&acp, "docs-1", "whoami").await })
    })
    .await;
    assert_eq!(answer, "docs");
}

#[tokio::test]
async fn two_sessions_with_same_named_servers_reach_their_own() {
    let answers = run(&[("s1-docs", "first"), ("s2-docs", "second")], |acp| {
        Box::pin(async move {
            let (first, second) = join(
                call(&acp, "s1-docs", "whoami"),
                call(&acp, "s2-docs", "whoami"),
            )
            .await;
            Ok((first?, second?))
        })
    })
    .await;
    assert_eq!(answers, ("first".to_owned(), "second".to_owned()));
}

#[tokio::test]
async fn an_unknown_server_id_is_an_outer_error_naming_it() {
    let answer = run(&[("docs-1", "docs")], |acp| {
        Box::pin(async move {
            Ok(acp
                .send_request(MessageMcpRequest::new("nope-7", "1", "tools/list"))
                .block_task()
                .await)
        })
    })
    .await;
    let error = answer.expect_err("no server is attached as `nope-7`");
    assert_eq!(error.code(), -33001);
    assert!(error.message().contains("nope-7"), "{}", error.message());
    assert_eq!(error.data().unwrap()["serverId"], "nope-7");
}

#[tokio::test]
async fn an_mcp_error_comes_back_as_the_inner_outcome() {
    let answer = run(&[("docs-1", "docs")], |acp| {
        Box::pin(async move {
            acp.send_request(MessageMcpRequest::new("docs-1", "1", "no/such/method"))
                .block_task()
                .await
        })
    })
    .await;
    match answer {
        MessageMcpResponse::Error { error, .. } => assert_eq!(error.code, -32601),
        other => panic!("expected an inner error, got {other:?}"),
    }
}

#[tokio::test]
async fn progress_notifications_cross_to_the_agent() {
    let (progress, text) = run(&[("docs-1", "docs")], |acp| {
        Box::pin(async move {
            McpClient
                .builder()
                .connect_with(use_server(&acp, "docs-1"), async move |mcp| {
                    mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                    let record = std::sync::Arc::clone(&seen);
                    let result = mcp
                        .call_tool_with_progress("slow", serde_json::json!({}), move |update| {
                            record.lock().unwrap().push(update.message);
                        })
                        .await?;
                    let seen = seen.lock().unwrap().clone();
                    Ok((seen, text_of(&result)))
                })
                .await
        })
    })
    .await;
    assert_eq!(text, "finished");
    assert_eq!(
        progress,
        vec![Some("half".to_owned()), Some("done".to_owned())]
    );
}

/// Signals, once: the tool started; the tool's work was dropped (cancelled, or its server
/// gone).
struct Signals {
    started: Mutex<Option<oneshot::Sender<()>>>,
    dropped: Mutex<Option<oneshot::Sender<()>>>,
}

/// Fires its signal when dropped with the work it belongs to.
struct DropSignal(Arc<Signals>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(dropped) = self.0.dropped.lock().unwrap().take() {
            let _ = dropped.send(());
        }
    }
}

/// A server with a tool `hang` that says it started and then waits forever; and the
/// receivers of its signals.
fn hanging_service() -> (Service, oneshot::Receiver<()>, oneshot::Receiver<()>) {
    let (started, started_rx) = oneshot::channel();
    let (dropped, dropped_rx) = oneshot::channel();
    let signals = Arc::new(Signals {
        started: Mutex::new(Some(started)),
        dropped: Mutex::new(Some(dropped)),
    });
    let service = Service::new("hanging", "1.0.0").tool(Tool::new(
        "hang",
        "Never answers",
        move |_: NoArguments, _cx: RequestContext| {
            let signals = Arc::clone(&signals);
            async move {
                let _guard = DropSignal(Arc::clone(&signals));
                if let Some(started) = signals.started.lock().unwrap().take() {
                    let _ = started.send(());
                }
                std::future::pending::<()>().await;
                Ok::<_, ToolError>(String::new())
            }
        },
    ));
    (service, started_rx, dropped_rx)
}

/// Waits for `signal`, failing the test (instead of hanging) if it never comes.
async fn within(what: &str, signal: oneshot::Receiver<()>) {
    tokio::time::timeout(Duration::from_secs(10), signal)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen"))
        .unwrap_or_else(|_| panic!("{what}: its sender went away"));
}

#[tokio::test]
async fn a_cancelled_tool_call_cancels_the_tool_on_the_client() {
    let (hanging, started, dropped) = hanging_service();
    run_with(vec![("docs-1", Offered::Service(hanging))], None, |acp| {
        Box::pin(async move {
            McpClient
                .builder()
                .connect_with(use_server(&acp, "docs-1"), async move |mcp| {
                    mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                    let call = mcp.call_tool("hang", serde_json::json!({}));
                    within("the tool's start", started).await;
                    // The agent gives up: `notifications/cancelled` to the bridge, which
                    // cancels the `mcp/message`, whose provider cancels the tool.
                    call.cancel();
                    within("the tool's cancellation", dropped).await;
                    Ok(())
                })
                .await
        })
    })
    .await;
}

#[tokio::test]
async fn a_session_that_ends_mid_call_fails_the_call_instead_of_hanging() {
    let (hanging, started, dropped) = hanging_service();
    let (end_session, session_ended) = oneshot::channel();
    let error = run_with(
        vec![("docs-1", Offered::Service(hanging))],
        Some(session_ended),
        |acp| {
            Box::pin(async move {
                McpClient
                    .builder()
                    .connect_with(use_server(&acp, "docs-1"), async move |mcp| {
                        mcp.initialize(client_info("test-agent", "1.0.0")).await?;
                        let call = mcp.call_tool("hang", serde_json::json!({})).block_task();
                        let call = tokio::spawn(call);
                        within("the tool's start", started).await;
                        let _ = end_session.send(());
                        within("the tool's end with its server", dropped).await;
                        let answer = tokio::time::timeout(Duration::from_secs(10), call)
                            .await
                            .expect("the call is answered once the server is gone")
                            .expect("the call's task runs to the end");
                        Ok(answer.expect_err("the server went away mid-call"))
                    })
                    .await
            })
        },
    )
    .await;
    // The provider's "backend failure", naming the server, reaches the MCP client as is.
    assert_eq!(error.code(), -33002, "{error}");
    assert!(error.message().contains("docs-1"), "{error}");
}

/// A server of the handshake versions only, with no `server/discover`: it answers
/// `initialize` and `tools/call` (`legacy`), and records the methods and `_meta` it is sent.
fn legacy_server(seen: Arc<Mutex<Vec<(String, serde_json::Value)>>>) -> Channel {
    let (client_end, server_end) = Channel::duplex();
    let server = switchboard::Builder::new(switchboard_mcp::McpServer).on_receive_request(
        move |request: switchboard::UntypedMessage,
              responder: switchboard::Responder<serde_json::Value>,
              _cx| {
            let params = request.params_value().unwrap_or_default();
            seen.lock()
                .unwrap()
                .push((request.method().to_owned(), params["_meta"].clone()));
            let answer = match request.method() {
                "initialize" => Ok(serde_json::json!({
                    "protocolVersion": params["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "legacy", "version": "1"},
                })),
                "tools/call" => Ok(serde_json::json!({
                    "content": [{"type": "text", "text": "legacy"}],
                })),
                other => Err(Error::method_not_found(other)),
            };
            std::future::ready(responder.respond_with_result(answer))
        },
    );
    tokio::spawn(server.connect_to(server_end));
    client_end
}

#[tokio::test]
async fn a_server_without_stateless_mcp_gets_the_handshake_as_it_came() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = legacy_server(Arc::clone(&seen));
    let text = run_with(vec![("legacy-1", Offered::At(server))], None, |acp| {
        Box::pin(async move { call(&acp, "legacy-1", "legacy").await })
    })
    .await;
    assert_eq!(text, "legacy");
    let seen = seen.lock().unwrap();
    let methods: Vec<&str> = seen.iter().map(|(method, _)| method.as_str()).collect();
    // Discovery failed, so the handshake went as it came, and the call without the
    // stateless `_meta`.
    assert_eq!(methods, ["server/discover", "initialize", "tools/call"]);
    assert!(
        seen[2]
            .1
            .get("io.modelcontextprotocol/protocolVersion")
            .is_none(),
        "{seen:?}"
    );
}
