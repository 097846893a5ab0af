//! MCP servers over ACP through chains: `mcp/message` crosses proxies unchanged, up to the
//! component that serves the `serverId` (the client, or a proxy that claims it), with 0, 1
//! and 3 proxies.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchboard::{ConnectionTo, Error};
use switchboard_acp::initialize::agent_response;
use switchboard_acp::mcp_over_acp::{acp_servers, advertise, offer_service, use_server};
use switchboard_acp::schema::{
    AgentCapabilities, InitializeRequest, NewSessionRequest, NewSessionResponse,
};
use switchboard_acp::{AcpClient, Agent, Client, Conductor, Proxy};
use switchboard_conductor::Chain;
use switchboard_examples::acp_echo::echo_agent;
use switchboard_examples::acp_tools::{tools_proxy, tools_service};
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::schema::ContentBlock;
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};

use crate::support::{Memory, PROXY_COUNTS, carried, chain_of, chunk_text, drive, hello, on_hop};

/// The prompt that has the echo agent call `add` on the session's `tools` server.
const ADD: &str = r#"/tool tools add {"a": 2, "b": 3}"#;

/// Opens a session through `chain` (offering the client's own `tools` server first, if
/// `client_serves`) and sends [`ADD`]; returns what the agent said.
async fn add_through(chain: Chain, client_serves: bool) -> String {
    drive(chain, Client.builder(), async move |cx| {
        cx.initialize(hello()).block_task().await?;
        let mut request = NewSessionRequest::new("/");
        let served = if client_serves {
            Some(offer_service(&cx, &mut request, "tools", &tools_service()).await?)
        } else {
            None
        };
        let (mut session, _) = cx.new_session(request).await?;
        let mut said = String::new();
        session
            .prompt(ADD, |update| said.extend(chunk_text(&update)))
            .await?;
        drop(served);
        Ok(said)
    })
    .await
}

/// The hops (0: client ⇄ conductor, …, n + 1: conductor ⇄ agent) on which an `mcp/message`
/// request crossed, either way.
fn hops_with_mcp_messages(trace: &[Value], proxies: usize) -> Vec<usize> {
    (0..=proxies + 1)
        .filter(|&hop| {
            ["received", "sent"]
                .into_iter()
                .flat_map(|direction| on_hop(trace, hop, direction))
                .any(|message| carried(message).0 == Some("mcp/message"))
        })
        .collect()
}

#[tokio::test]
async fn the_clients_server_is_reached_through_any_number_of_proxies() {
    for n in PROXY_COUNTS {
        let memory = Memory::default();
        let chain = chain_of(echo_agent(), n, |_| Proxy.builder()).trace(memory.trace());
        let said = add_through(chain, true).await;
        assert_eq!(said, r#"{"sum":5}"#, "{n} proxies");
        let every_hop: Vec<usize> = (0..=n + 1).collect();
        assert_eq!(
            hops_with_mcp_messages(&memory.lines(), n),
            every_hop,
            "{n} proxies: the client serves it, so every hop carries it"
        );
    }
}

#[tokio::test]
async fn a_proxys_server_is_reached_wherever_the_proxy_sits_and_goes_no_further() {
    for (n, serving) in [(1, 1), (3, 1), (3, 2), (3, 3)] {
        let memory = Memory::default();
        let mut chain = Chain::new(echo_agent()).trace(memory.trace());
        for k in 1..=n {
            chain = if k == serving {
                chain.proxy(tools_proxy())
            } else {
                chain.proxy(Proxy.builder())
            };
        }
        let said = add_through(chain, false).await;
        assert_eq!(said, r#"{"sum":5}"#, "{n} proxies, proxy {serving} serving");
        // Hop k joins proxy k to the conductor: from the agent's hop up to the serving
        // proxy's, and no further towards the client.
        let from_agent_to_server: Vec<usize> = (serving..=n + 1).collect();
        assert_eq!(
            hops_with_mcp_messages(&memory.lines(), n),
            from_agent_to_server,
            "{n} proxies, proxy {serving} serving"
        );
    }
}

#[tokio::test]
async fn two_proxies_serving_same_named_servers_are_kept_apart_by_server_id() {
    // Both proxies declare a server named `tools`. The agent calls the first it was given,
    // the outer proxy's (`session/new` reaches it first): the inner proxy, which serves
    // another `serverId`, passes the call on.
    let memory = Memory::default();
    let chain = chain_of(echo_agent(), 2, |_| tools_proxy()).trace(memory.trace());
    let said = add_through(chain, false).await;
    assert_eq!(said, r#"{"sum":5}"#);
    assert_eq!(hops_with_mcp_messages(&memory.lines(), 2), [1, 2, 3]);
}

/// A proxy that offers every new session a server whose tool `slow` reports progress twice.
fn progress_proxy() -> switchboard::Builder<Proxy, impl switchboard::Handler<Conductor> + 'static> {
    Proxy.builder().on_receive_request_from(
        Client,
        async |mut request: NewSessionRequest, responder, cx: ConnectionTo<Conductor>| {
            cx.clone().spawn(async move {
                let service = Service::new("slow", "1.0.0").tool(Tool::new(
                    "slow",
                    "Reports progress, then answers",
                    async |_: NoArguments, cx: RequestContext| {
                        cx.progress(1.0, Some(2.0), Some("half"))?;
                        cx.progress(2.0, Some(2.0), Some("done"))?;
                        Ok::<_, ToolError>("finished".to_owned())
                    },
                ));
                let served = offer_service(&cx, &mut request, "slow", &service).await?;
                cx.send_request_to(Agent, request)
                    .forward_response_to(responder);
                // Served until the chain ends.
                cx.input_ended().await;
                drop(served);
                Ok(())
            });
            Ok(())
        },
    )
}

/// An agent that, opening a session, calls the tool `slow` of its first `acp` server and
/// names the session after the progress it saw and the result: `half,done:finished`.
fn progress_agent() -> switchboard::Builder<Agent, impl switchboard::Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            let capabilities = advertise(AgentCapabilities::new());
            responder.respond(agent_response(&request).agent_capabilities(capabilities))
        })
        .on_receive_request(async |request: NewSessionRequest, responder, cx| {
            let server = acp_servers(&request.mcp_servers).next().cloned();
            cx.clone().spawn(async move {
                let server = server.ok_or_else(|| Error::invalid_params("no acp server"))?;
                let seen = Arc::new(Mutex::new(Vec::new()));
                let record = Arc::clone(&seen);
                let result = McpClient
                    .builder()
                    .connect_with(use_server(&cx, server.server_id), async move |mcp| {
                        mcp.initialize(client_info("progress-agent", "1.0.0"))
                            .await?;
                        mcp.call_tool_with_progress("slow", serde_json::json!({}), move |update| {
                            record.lock().unwrap().extend(update.message);
                        })
                        .await
                    })
                    .await?;
                let text = match result.content.first() {
                    Some(ContentBlock::TextContent(text)) => text.text.clone(),
                    other => format!("{other:?}"),
                };
                let seen = seen.lock().unwrap().join(",");
                responder.respond(NewSessionResponse::new(format!("{seen}:{text}")))
            });
            Ok(())
        })
}

#[tokio::test]
async fn a_proxys_server_reports_progress_to_the_agent_through_the_chain() {
    for others in [0, 2] {
        // The serving proxy first, then `others` transparent ones between it and the agent.
        let chain = (0..others).fold(
            Chain::new(progress_agent()).proxy(progress_proxy()),
            |chain, _| chain.proxy(Proxy.builder()),
        );
        let session = drive(chain, Client.builder(), async |cx| {
            cx.initialize(hello()).block_task().await?;
            let (session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            Ok(session.id().0.to_string())
        })
        .await;
        assert_eq!(
            session, "half,done:finished",
            "{others} proxies after the server's"
        );
    }
}
