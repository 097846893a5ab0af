//! Cancelling a turn: `session/cancel` ends a held prompt with `cancelled`; and at the
//! JSON-RPC level, `$/cancel_request` for a prompt whose agent drops its responder answers
//! -32800.

use futures::StreamExt;
use serde_json::json;
use switchboard::ConnectionTo;
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    InitializeRequest, NewSessionRequest, NewSessionResponse, PromptRequest, StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{chunk_text, error_message, hello, raw_peer, talk, text};

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
