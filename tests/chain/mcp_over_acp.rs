//! MCP servers over ACP through chains: `mcp/message` crosses proxies unchanged, up to the
//! component that serves the `serverId` (the client, or a proxy that claims it), with 0, 1
//! and 3 proxies.

use serde_json::Value;
use switchboard_acp::mcp_over_acp::offer_service;
use switchboard_acp::schema::NewSessionRequest;
use switchboard_acp::{AcpClient, Client, Proxy};
use switchboard_conductor::Chain;
use switchboard_examples::acp_echo::echo_agent;
use switchboard_examples::acp_tools::{tools_proxy, tools_service};

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
