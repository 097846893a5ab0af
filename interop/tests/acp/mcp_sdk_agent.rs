//! MCP over ACP, our client serving: an agent built on the official SDK (5.2.0) calls a tool
//! on an MCP server our client attaches with `attach_service` and declares in `session/new`.
//!
//! The SDK has no agent-side MCP client for `mcp/message`, so its agent here sends the
//! schema's typed `MessageMcpRequest`s on its own connection, in one of two styles, and says
//! what came back as an `agent_message_chunk`:
//!
//! - `handshake`: `initialize` (MCP 2025-11-25), then `tools/call`: how MCP clients talk to
//!   the servers they spawn, and how our own `use_server` talks;
//! - `stateless`: `tools/call` alone, with the MCP 2026-07-28 `_meta`
//!   (`io.modelcontextprotocol/protocolVersion`, `.../clientCapabilities`): the only style the
//!   SDK's own provider (`with_mcp_server`) accepts (see `mcp_sdk_client.rs`);
//! - `progress`: `stateless` with a `progressToken`, saying the `mcp/message` notifications
//!   it heard for the call before the answer;
//! - `discover`: `server/discover` with that `_meta`, saying the versions the server lists.
//!
//! Its prompt is `STYLE [TOOL [SERVER_ID]]`; without a `SERVER_ID` it uses the first `acp`
//! server the session declared.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use agent_client_protocol as sdk;
use sdk::v1::ConnectionTo as SdkConnection;
use serde_json::{Value, json};
use switchboard::{ByteStreams, ConnectionTo, Error};
use switchboard_acp::mcp_over_acp::{is_supported_by, offer_service};
use switchboard_acp::schema::{
    self, AgentCapabilities, ContentBlock, ContentChunk, InitializeRequest, InitializeResponse,
    McpCapabilities, McpServerAcpId, MessageMcpNotification, MessageMcpRequest, MessageMcpResponse,
    NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse, ProtocolVersion,
    SessionId, SessionNotification, SessionUpdate, StopReason, TextContent,
};
use switchboard_acp::{AcpClient, Agent, Client};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::support::{byte_pipes, chunk_text, guard, hello};

/// The `acp` servers each session declared, by session, in the order it listed them.
type Declared = Arc<Mutex<HashMap<SessionId, Vec<McpServerAcpId>>>>;

/// The `mcp/message` notifications the SDK agent received, in order.
type Heard = Arc<Mutex<Vec<MessageMcpNotification>>>;

/// The SDK agent: advertises `mcpCapabilities.acp`, keeps each session's `acp` servers, and
/// on a prompt calls a tool on one of them over `mcp/message`.
fn sdk_agent() -> sdk::v1::Builder<sdk::Agent, impl sdk::HandleDispatchFrom<sdk::Client>> {
    let declared: Declared = Arc::default();
    let for_prompt = Arc::clone(&declared);
    let heard: Heard = Arc::default();
    let for_prompt_heard = Arc::clone(&heard);
    let mut opened = 0_u32;
    sdk::Agent
        .v1()
        .name("sdk-mcp-agent")
        .on_receive_request(
            async |_: InitializeRequest, responder, _cx| {
                let mcp = McpCapabilities::new().acp(true);
                responder.respond(
                    InitializeResponse::new(ProtocolVersion::V1)
                        .agent_capabilities(AgentCapabilities::new().mcp_capabilities(mcp)),
                )
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |new: NewSessionRequest, responder, _cx| {
                opened += 1;
                let id = SessionId::new(format!("sdk-{opened}"));
                let servers = new
                    .mcp_servers
                    .iter()
                    .filter_map(|server| match server {
                        schema::McpServer::Acp(acp) => Some(acp.server_id.clone()),
                        _ => None,
                    })
                    .collect();
                declared.lock().unwrap().insert(id.clone(), servers);
                responder.respond(NewSessionResponse::new(id))
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |prompt: PromptRequest, responder, cx: SdkConnection<sdk::Client>| {
                let declared = Arc::clone(&for_prompt);
                let heard = Arc::clone(&for_prompt_heard);
                let turn_cx = cx.clone();
                // The turn waits on the client: it runs as a task, off the dispatch loop.
                cx.spawn(async move {
                    let said = turn(&turn_cx, &declared, &heard, &prompt).await?;
                    let chunk = ContentChunk::new(ContentBlock::Text(TextContent::new(said)));
                    turn_cx.send_notification(SessionNotification::new(
                        prompt.session_id.clone(),
                        SessionUpdate::AgentMessageChunk(chunk),
                    ))?;
                    responder.respond(PromptResponse::new(StopReason::EndTurn))
                })
            },
            sdk::on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: MessageMcpNotification, _cx| {
                heard.lock().unwrap().push(notification);
                Ok(())
            },
            sdk::on_receive_notification!(),
        )
}

/// One prompt on the SDK agent: what it says back.
async fn turn(
    cx: &SdkConnection<sdk::Client>,
    declared: &Declared,
    heard: &Heard,
    prompt: &PromptRequest,
) -> Result<String, sdk::Error> {
    let words: Vec<&str> = prompt
        .prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .flat_map(str::split_whitespace)
        .collect();
    let [style, rest @ ..] = words.as_slice() else {
        return Err(sdk::Error::invalid_params().data("expected `STYLE [TOOL [SERVER_ID]]`"));
    };
    let tool = rest.first().copied().unwrap_or_default();
    let server = match rest.get(1) {
        Some(id) => McpServerAcpId::new(*id),
        None => {
            let declared = declared.lock().unwrap();
            let first = declared
                .get(&prompt.session_id)
                .and_then(|servers| servers.first());
            first
                .cloned()
                .ok_or_else(|| sdk::Error::invalid_params().data("no `acp` server declared"))?
        }
    };
    match call_tool(cx, &server, style, tool).await {
        // The notifications of the call, heard before its answer, then the answer.
        Ok(said) if *style == "progress" => {
            let heard = heard.lock().unwrap();
            let progress: Vec<String> = heard
                .iter()
                .filter(|heard| heard.server_id == server && &*heard.request_id.0 == "call-1")
                .map(|heard| {
                    let params = heard.params.clone().unwrap_or_default();
                    format!("{} {}", heard.method, Value::Object(params)["message"])
                })
                .collect();
            Ok(format!("{} | {said}", progress.join(", ")))
        }
        Ok(said) => Ok(said),
        // An outer error: the binding failed, not the MCP request.
        Err(error) => Ok(format!(
            "acp error {}: {} {}",
            i32::from(error.code),
            error.message,
            error.data.unwrap_or(Value::Null)
        )),
    }
}

/// `tools/call` of `tool` on `server` in `style`; an inner MCP error is said, not returned.
async fn call_tool(
    cx: &SdkConnection<sdk::Client>,
    server: &McpServerAcpId,
    style: &str,
    tool: &str,
) -> Result<String, sdk::Error> {
    let send = async |request_id: &'static str, method: &'static str, params: Value| {
        let request = MessageMcpRequest::new(server.clone(), request_id, method)
            .params(params.as_object().cloned());
        cx.send_request(request).block_task().await
    };
    let mut arguments = json!({ "name": tool, "arguments": {} });
    let mut prefix = String::new();
    match style {
        "handshake" => {
            let hello = json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": { "name": "sdk-mcp-agent", "version": "5.2.0" },
            });
            let result = match send("init-1", "initialize", hello).await? {
                MessageMcpResponse::Result { result, .. } => result,
                other => return Ok(inner_error(other)),
            };
            // Which server answered, and in which version.
            prefix = format!(
                "[{} {}] ",
                result["serverInfo"]["name"].as_str().unwrap_or("?"),
                result["protocolVersion"].as_str().unwrap_or("?"),
            );
        }
        "stateless" => arguments["_meta"] = stateless_meta(),
        "progress" => {
            arguments["_meta"] = stateless_meta();
            arguments["_meta"]["progressToken"] = json!("p-1");
        }
        "discover" => {
            let discover = json!({ "_meta": stateless_meta() });
            return match send("discover-1", "server/discover", discover).await? {
                MessageMcpResponse::Result { result, .. } => {
                    Ok(format!("versions {}", result["supportedVersions"]))
                }
                other => Ok(inner_error(other)),
            };
        }
        other => {
            return Err(sdk::Error::invalid_params().data(format!("no style `{other}`")));
        }
    }
    match send("call-1", "tools/call", arguments).await? {
        MessageMcpResponse::Result { result, .. } => {
            let text = result["content"][0]["text"].as_str().unwrap_or("?");
            Ok(format!("{prefix}{text}"))
        }
        other => Ok(inner_error(other)),
    }
}

/// The `_meta` of a stateless (MCP 2026-07-28) request, as the SDK's own provider wants it.
fn stateless_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// What the SDK agent says for an inner (MCP) error.
fn inner_error(answer: MessageMcpResponse) -> String {
    match answer {
        MessageMcpResponse::Error { error, .. } => {
            format!("mcp error {}: {}", error.code, error.message)
        }
        other => format!("unexpected answer {other:?}"),
    }
}

/// Our client's MCP server: a tool `whoami` that answers `name`, and a tool `slow` that
/// reports progress twice before answering.
fn docs(name: &'static str) -> Service {
    Service::new(name, "1.0.0")
        .tool(Tool::new(
            "whoami",
            "Says which server this is",
            move |_: NoArguments, _cx: RequestContext| async move {
                Ok::<_, ToolError>(format!("this is {name}"))
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

/// Runs our client with `main` against the SDK agent over a byte pipe; returns what `main`
/// returned, after checking that both ends finished cleanly.
async fn against_sdk_agent<T, F, Fut>(main: F) -> T
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Agent>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (ours_out, ours_in, theirs_out, theirs_in) = byte_pipes();
    let agent = sdk_agent().connect_to(sdk::ByteStreams::new(
        theirs_out.compat_write(),
        theirs_in.compat(),
    ));
    let client = Client
        .builder()
        .connect_with(ByteStreams::tokio(ours_out, ours_in), main);
    let (answer, agent) = guard("our client and the SDK agent", async {
        tokio::join!(client, agent)
    })
    .await;
    agent.unwrap_or_else(|error| panic!("the SDK agent failed: {error:?}"));
    answer.unwrap_or_else(|error| panic!("our client failed: {error}"))
}

/// Our client attaches `docs`, declares it in `session/new`, sends each of
/// `prompts` in that session and returns the agent's `initialize` answer and its replies.
async fn prompt_with_docs(prompts: &'static [&'static str]) -> (InitializeResponse, Vec<String>) {
    against_sdk_agent(async move |cx| {
        let init = cx.initialize(hello()).block_task().await?;
        // Attached (`attach_service`) under a fresh `serverId` and declared in `session/new`;
        // served while `attached` lives, to the end of the exchange.
        let mut new = NewSessionRequest::new("/");
        let attached = offer_service(&cx, &mut new, "docs", &docs("docs")).await?;
        let (mut session, _) = cx.new_session(new).await?;
        let mut replies = Vec::new();
        for prompt in prompts {
            let mut said = String::new();
            let answer = session
                .prompt(*prompt, |update| said.extend(chunk_text(&update)))
                .await?;
            assert_eq!(answer.stop_reason, StopReason::EndTurn);
            replies.push(said);
        }
        drop(attached);
        Ok((init, replies))
    })
    .await
}

#[tokio::test]
async fn the_sdk_agent_calls_a_tool_on_our_server_after_a_handshake() {
    let (init, replies) = prompt_with_docs(&["handshake whoami"]).await;
    assert!(
        is_supported_by(&init),
        "the SDK agent advertises `mcpCapabilities.acp`"
    );
    assert_eq!(replies, ["[docs 2025-11-25] this is docs"]);
}

#[tokio::test]
async fn the_sdk_agent_calls_a_tool_on_our_server_statelessly() {
    let (_, replies) = prompt_with_docs(&["stateless whoami"]).await;
    assert_eq!(replies, ["this is docs"]);
}

#[tokio::test]
async fn an_unknown_tool_is_an_inner_mcp_outcome() {
    let (_, replies) = prompt_with_docs(&["stateless nothing"]).await;
    let [reply] = replies.as_slice() else {
        panic!("one reply, got {replies:?}");
    };
    // Our server answers a tool it does not have with an MCP error, carried as the outcome:
    // the `mcp/message` request itself succeeded.
    assert!(reply.starts_with("mcp error -32602: "), "{reply}");
    assert!(reply.contains("nothing"), "{reply}");
}

#[tokio::test]
async fn the_sdk_agent_gets_our_outer_error_for_an_unknown_server_id() {
    let (_, replies) = prompt_with_docs(&["handshake whoami nope-7"]).await;
    assert_eq!(
        replies,
        [
            "acp error -32002: no MCP server with serverId `nope-7` on this connection \
             {\"serverId\":\"nope-7\"}"
        ]
    );
}

#[tokio::test]
async fn the_sdk_agent_discovers_our_server_statelessly() {
    let (_, replies) = prompt_with_docs(&["discover"]).await;
    let [reply] = replies.as_slice() else {
        panic!("one reply, got {replies:?}");
    };
    let versions: Vec<String> = serde_json::from_str(reply.trim_start_matches("versions "))
        .unwrap_or_else(|error| panic!("{reply}: {error}"));
    // The stateless version the SDK speaks, beside the handshake versions our server also
    // speaks (the SDK's own provider would list the stateless one alone).
    assert_eq!(versions, ["2026-07-28", "2025-11-25", "2025-06-18"]);
}

/// Our provider sends a request's notifications before its answer (guarantee 1), and the
/// SDK's dispatch loop finishes a notification's callback before it routes the next message:
/// so when the SDK agent's `block_task` returns, what it heard for the call is recorded.
#[tokio::test]
async fn our_servers_progress_reaches_the_sdk_agent_before_the_answer() {
    let (_, replies) = prompt_with_docs(&["progress slow"]).await;
    assert_eq!(
        replies,
        ["notifications/progress \"half\", notifications/progress \"done\" | finished"]
    );
}
