//! Cancelling a turn: `session/cancel` ends a held prompt with `cancelled`; at the JSON-RPC
//! level, `$/cancel_request` for a held prompt ends it too (the echo agent says so in the
//! session, then answers -32800), and for a prompt whose agent drops its responder answers
//! -32800.

use futures::StreamExt;
use serde_json::json;
use switchboard::ConnectionTo;
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    InitializeRequest, NewSessionRequest, NewSessionResponse, PromptRequest, SessionNotification,
    StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, ClientSession, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{chunk_text, error_message, hello, raw_peer, talk, text};

/// The text of the next agent message chunk on `session`, skipping other updates; fails on a
/// prompt answer or the end of the stream.
async fn next_chunk(session: &mut ClientSession) -> String {
    loop {
        match session.next().await {
            Some(SessionEvent::Update(update)) => {
                if let Some(text) = chunk_text(&update) {
                    return text;
                }
            }
            other => panic!("expected an agent message chunk, got {other:?}"),
        }
    }
}

/// The text of an `agent_message_chunk` in a raw `session/update` frame.
fn raw_chunk_text(frame: &serde_json::Value) -> Option<String> {
    if frame["method"] != "session/update" {
        return None;
    }
    let update: SessionNotification = serde_json::from_value(frame["params"].clone()).ok()?;
    chunk_text(&update)
}

#[tokio::test]
async fn session_cancel_ends_a_held_turn_with_cancelled() {
    let (first, rest, answer) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        session.send_prompt(vec![text("/hold a b c")])?;
        // The agent echoes one word, then holds the turn until it is cancelled.
        let first = match session.next().await {
            Some(SessionEvent::Update(update)) => chunk_text(&update),
            other => panic!("expected the first word, got {other:?}"),
        };
        session.cancel()?;
        let mut rest = Vec::new();
        loop {
            match session.next().await {
                Some(SessionEvent::Update(update)) => rest.extend(chunk_text(&update)),
                Some(SessionEvent::PromptFinished(answer)) => return Ok((first, rest, answer?)),
                None => panic!("the stream ended before the prompt was answered"),
            }
        }
    })
    .await;
    assert_eq!(first.as_deref(), Some("a "));
    assert!(rest.is_empty(), "nothing after the cancel: {rest:?}");
    assert_eq!(answer.stop_reason, StopReason::Cancelled);
}

#[tokio::test]
async fn the_session_serves_a_new_prompt_after_a_cancelled_one() {
    let (cancelled, next) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        // With `prompt`, the cancel goes out from the update callback, through a handle
        // on the same connection.
        let canceller = session.connection().clone();
        let id = session.id().clone();
        let cancelled = session
            .prompt("/hold x y", |_| {
                canceller
                    .send_notification(switchboard_acp::schema::CancelNotification::new(id.clone()))
                    .unwrap();
            })
            .await?;
        let mut next = Vec::new();
        let answer = session
            .prompt("after", |update| next.extend(chunk_text(&update)))
            .await?;
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        Ok((cancelled.stop_reason, next))
    })
    .await;
    assert_eq!(cancelled, StopReason::Cancelled);
    assert_eq!(next, ["after "]);
}

#[tokio::test]
async fn cancel_request_for_a_prompt_whose_responder_is_dropped_answers_32800() {
    let (seen_tx, seen) = futures::channel::oneshot::channel::<()>();
    let mut seen_tx = Some(seen_tx);
    let agent = Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request))
        })
        .on_receive_request(async |_: NewSessionRequest, responder, _cx| {
            responder.respond(NewSessionResponse::new("s"))
        })
        .on_receive_request(
            move |_: PromptRequest, responder, cx: ConnectionTo<Client>| {
                let seen_tx = seen_tx.take();
                // The turn runs until the client cancels the request; the responder is then
                // dropped unanswered, which answers -32800.
                cx.spawn(async move {
                    responder.cancelled().await;
                    if let Some(seen_tx) = seen_tx {
                        let _ = seen_tx.send(());
                    }
                    drop(responder);
                    Ok(())
                });
                std::future::ready(Ok(()))
            },
        );
    let (mut peer, task) = raw_peer(agent);
    peer.request(1, "initialize", json!({"protocolVersion": 1}))
        .await;
    peer.answer(1).await;
    peer.request(2, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    peer.answer(2).await;
    let prompt = json!({"sessionId": "s", "prompt": [{"type": "text", "text": "hi"}]});
    peer.request(3, "session/prompt", prompt).await;
    peer.notify("$/cancel_request", json!({"requestId": 3}))
        .await;
    let (answer, before) = peer.answer(3).await;
    assert!(before.is_empty(), "{before:?}");
    let message = error_message(&answer, -32800);
    assert!(!message.is_empty());
    seen.await.expect("the agent saw the cancellation");
    peer.hang_up(task).await;
}

#[tokio::test]
async fn cancelling_a_held_prompt_request_ends_the_turn_and_says_so() {
    let (first, said, next) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let prompt = PromptRequest::new(session.id().clone(), vec![text("/hold x")]);
        let held = cx.send_request(prompt);
        let first = next_chunk(&mut session).await;
        // Sends `$/cancel_request`; the answer, when it comes, is dropped.
        held.cancel();
        let said = next_chunk(&mut session).await;
        // The session is free again: the next prompt runs as usual.
        let mut next = Vec::new();
        let answer = session
            .prompt("after", |update| next.extend(chunk_text(&update)))
            .await?;
        assert_eq!(answer.stop_reason, StopReason::EndTurn);
        Ok((first, said, next))
    })
    .await;
    assert_eq!(first, "x ");
    assert_eq!(said, "(request cancelled) ");
    assert_eq!(next, ["after "]);
}

#[tokio::test]
async fn a_held_prompt_cancelled_by_request_is_answered_32800_after_its_last_update() {
    let (mut peer, task) = raw_peer(echo_agent());
    peer.request(1, "initialize", json!({"protocolVersion": 1}))
        .await;
    peer.answer(1).await;
    peer.request(2, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    let (opened, _) = peer.answer(2).await;
    let session = opened["result"]["sessionId"].clone();
    let prompt = json!({"sessionId": session, "prompt": [{"type": "text", "text": "/hold x"}]});
    peer.request(3, "session/prompt", prompt).await;
    // Cancel once the turn is held, after its one word.
    loop {
        let frame = peer.recv().await;
        if raw_chunk_text(&frame).as_deref() == Some("x ") {
            break;
        }
        assert!(frame.get("id").is_none(), "the prompt ended early: {frame}");
    }
    peer.notify("$/cancel_request", json!({"requestId": 3}))
        .await;
    let (answer, before) = peer.answer(3).await;
    let said: Vec<String> = before.iter().filter_map(raw_chunk_text).collect();
    assert_eq!(said, ["(request cancelled) "]);
    error_message(&answer, -32800);
    peer.hang_up(task).await;
}
