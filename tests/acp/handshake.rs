//! `initialize`: version negotiation on both sides, and the agent's gate (nothing before
//! `initialize`, no second `initialize`, early notifications dropped).

use std::sync::Arc;

use futures::channel::mpsc;
use serde_json::json;
use switchboard::error::codes::INVALID_REQUEST;
use switchboard::{ConnectionTo, Error};
use switchboard_acp::schema::{
    ExtNotification, InitializeRequest, InitializeResponse, NewSessionRequest, ProtocolVersion,
};
use switchboard_acp::{AcpClient, Agent, Client};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{error_message, hello, raw_peer, talk};

#[tokio::test]
async fn a_client_asking_for_version_1_gets_1_and_the_agents_capabilities() {
    let answer = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await
    })
    .await;
    assert_eq!(answer.protocol_version, ProtocolVersion::V1);
    assert!(answer.agent_capabilities.load_session);
    let info = answer.agent_info.expect("the echo agent names itself");
    assert_eq!(info.name, "acp_echo_agent");
}

#[tokio::test]
async fn a_client_asking_for_version_7_is_answered_with_1() {
    let (mut peer, agent) = raw_peer(echo_agent());
    peer.request(
        1,
        "initialize",
        json!({"protocolVersion": 7, "clientCapabilities": {}}),
    )
    .await;
    let (answer, _) = peer.answer(1).await;
    assert_eq!(answer["result"]["protocolVersion"], 1, "{answer}");
    peer.hang_up(agent).await;

    // The same through the typed API, bypassing the client's own version check.
    let answer = talk(echo_agent(), Client.builder(), async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::from(7)))
            .block_task()
            .await
    })
    .await;
    assert_eq!(answer.protocol_version, ProtocolVersion::V1);
}

#[tokio::test]
async fn our_client_refuses_an_agent_that_picks_a_version_it_does_not_speak() {
    let agent = Agent
        .builder()
        .on_receive_request(async |_: InitializeRequest, responder, _cx| {
            responder.respond(InitializeResponse::new(ProtocolVersion::from(9)))
        });
    let error = talk(agent, Client.builder(), async |cx| {
        Ok(cx.initialize(hello()).block_task().await)
    })
    .await
    .expect_err("version 9 is not spoken here");
    assert_eq!(error.code(), INVALID_REQUEST);
    assert!(error.message().contains("version 9"), "{}", error.message());
}

#[tokio::test]
async fn a_request_before_initialize_is_refused_and_says_initialize_comes_first() {
    let (before, after) = talk(echo_agent(), Client.builder(), async |cx| {
        let before = cx.new_session(NewSessionRequest::new("/")).await.err();
        cx.initialize(hello()).block_task().await?;
        let (session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        Ok((before, session.id().clone()))
    })
    .await;
    let error = before.expect("session/new before initialize must fail");
    assert_eq!(error.code(), INVALID_REQUEST);
    let message = error.message();
    assert!(
        message.contains("`initialize`") && message.contains("first"),
        "{message}"
    );
    assert_eq!(&*after.0, "echo-1");
}

#[tokio::test]
async fn on_the_wire_a_malformed_initialize_leaves_the_gate_closed() {
    let (mut peer, agent) = raw_peer(echo_agent());
    peer.request(1, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    let (answer, _) = peer.answer(1).await;
    let message = error_message(&answer, -32600);
    assert!(message.contains("session/new"), "{message}");

    peer.request(2, "initialize", json!({"protocolVersion": "one"}))
        .await;
    let (answer, _) = peer.answer(2).await;
    error_message(&answer, -32602);
    peer.request(3, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    let (answer, _) = peer.answer(3).await;
    error_message(&answer, -32600);

    peer.request(4, "initialize", json!({"protocolVersion": 1}))
        .await;
    let (answer, _) = peer.answer(4).await;
    assert_eq!(answer["result"]["protocolVersion"], 1, "{answer}");
    peer.request(5, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    let (answer, _) = peer.answer(5).await;
    assert_eq!(answer["result"]["sessionId"], "echo-1", "{answer}");
    peer.hang_up(agent).await;
}

#[tokio::test]
async fn a_second_initialize_is_refused() {
    let (first, second) = talk(echo_agent(), Client.builder(), async |cx| {
        let first = cx.initialize(hello()).block_task().await?;
        let second = cx.initialize(hello()).block_task().await;
        Ok((first, second))
    })
    .await;
    assert_eq!(first.protocol_version, ProtocolVersion::V1);
    let error = second.expect_err("a second initialize must fail");
    assert_eq!(error.code(), INVALID_REQUEST);
    assert!(error.message().contains("already"), "{}", error.message());
}

/// A notification for the test's own extension method carrying `{"n": N}`.
fn poke(n: u64) -> ExtNotification {
    let params = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
    ExtNotification::new("_test/poke", Arc::from(params))
}

#[tokio::test]
async fn a_notification_before_initialize_is_dropped_and_the_next_request_works() {
    let (seen_tx, mut seen) = mpsc::unbounded();
    let agent = echo_agent().on_receive_notification(
        move |poke: ExtNotification, _cx: ConnectionTo<Client>| {
            let n: serde_json::Value = serde_json::from_str(poke.params.get()).unwrap();
            let _ = seen_tx.unbounded_send(n["n"].clone());
            std::future::ready(Ok(()))
        },
    );
    talk(agent, Client.builder(), async |cx| {
        cx.send_notification(poke(1))?;
        cx.initialize(hello()).block_task().await?;
        cx.send_notification(poke(2))?;
        // Dispatch is in order and each handler finishes before the next message: once
        // this answer is in, the agent has handled both pokes (or dropped them).
        cx.new_session(NewSessionRequest::new("/")).await?;
        Ok::<_, Error>(())
    })
    .await;
    let mut pokes = Vec::new();
    while let Ok(n) = seen.try_recv() {
        pokes.push(n);
    }
    assert_eq!(
        pokes,
        vec![json!(2)],
        "only the poke after initialize counts"
    );
}
