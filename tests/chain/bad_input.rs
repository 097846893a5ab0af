//! Bad input at the conductor, from a proxy played by hand (a raw JSON-lines component):
//! a `proxy/successor` that carries no message is answered -32602 naming the proxy, or
//! dropped if it is a notification, and the chain serves on.

use serde_json::{Value, json};
use switchboard::error::codes::INVALID_PARAMS;
use switchboard_acp::{AcpClient, Client};
use switchboard_conductor::Chain;
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{RawEnd, guard, hello, raw_lines};

/// Checks that `answer` answers `id` with -32602, naming proxy 1 and the envelope.
#[track_caller]
fn assert_refused(answer: &Value, id: u64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(answer["error"]["code"], INVALID_PARAMS, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("proxy 1") && message.contains("proxy/successor"),
        "{answer}"
    );
}

/// A `proxy/successor` request from the proxy, with `envelope` as its params.
fn successor(id: u64, envelope: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "proxy/successor", "params": envelope})
}

/// The proxy's side: malformed envelopes first, then it opens the chain properly.
async fn play_the_proxy(mut proxy: RawEnd) {
    let opening = proxy.recv().await;
    assert_eq!(opening["method"], "proxy/initialize", "{opening}");

    // No `method` at all.
    proxy.send(successor(1, json!({"params": {}}))).await;
    assert_refused(&proxy.recv().await, 1);
    // A `method` that is not a string.
    proxy.send(successor(2, json!({"method": 42}))).await;
    assert_refused(&proxy.recv().await, 2);
    // No params.
    proxy
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "proxy/successor"}))
        .await;
    assert_refused(&proxy.recv().await, 3);
    // The same as a notification: nobody to answer, so nothing comes back (the next frame
    // the proxy reads is the answer to request 4).
    proxy
        .send(json!({"jsonrpc": "2.0", "method": "proxy/successor", "params": {}}))
        .await;

    // The chain serves on: `initialize` goes on to the agent, and its answer back to the
    // editor.
    let carried = json!({"method": "initialize", "params": opening["params"]});
    proxy.send(successor(4, carried)).await;
    let from_agent = proxy.recv().await;
    assert_eq!(from_agent["id"], 4, "{from_agent}");
    assert_eq!(from_agent["result"]["agentInfo"]["name"], "acp_echo_agent");
    proxy
        .send(json!({"jsonrpc": "2.0", "id": opening["id"], "result": from_agent["result"]}))
        .await;
    // Kept open until the editor hangs up; then the chain closes this side too.
    let last = guard("the proxy's end", proxy.closed()).await;
    assert!(last.is_empty(), "unexpected frames: {last:?}");
}

#[tokio::test]
async fn a_successor_envelope_without_a_message_is_refused_and_the_chain_serves_on() {
    let (proxy, component) = raw_lines();
    let chain = Chain::new(echo_agent()).proxy(component);
    let editor = Client
        .builder()
        .connect_with(chain, async |cx| cx.initialize(hello()).block_task().await);
    let (init, ()) = guard("the chain", async {
        tokio::join!(editor, play_the_proxy(proxy))
    })
    .await;
    let init = init.unwrap_or_else(|error| panic!("the editor failed: {error}"));
    let agent = init.agent_info.map(|info| info.name);
    assert_eq!(agent.as_deref(), Some("acp_echo_agent"));
}
