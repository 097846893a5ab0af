//! A slow editor slows the agent, hop by hop, through every proxy: the conductor stops
//! reading from a hop while the next one's queue is full, so nothing is dropped and no queue
//! grows past its bound.

use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::channel::oneshot;
use switchboard::{Builder, ConnectionTo, Handler};
use switchboard_acp::schema::{
    ContentBlock, ContentChunk, InitializeRequest, NewSessionRequest, NewSessionResponse,
    PromptRequest, PromptResponse, ProtocolVersion, SessionNotification, SessionUpdate, StopReason,
};
use switchboard_acp::{Agent, Client, Proxy, initialize};
use switchboard_conductor::Chain;

/// Every hop's queue, and the agent's own: small, so that a few updates fill them.
const QUEUE_BYTES: usize = 4 * 1024;
/// Far more than every queue and channel between the agent and the editor holds.
const UPDATES: usize = 2_000;

/// Sends [`UPDATES`] numbered chunks for each prompt, waiting for room before each, and
/// reports (once) the first time it had to wait.
fn flooding_agent(stalled: oneshot::Sender<()>) -> Builder<Agent, impl Handler<Client> + 'static> {
    let stalled = Arc::new(Mutex::new(Some(stalled)));
    Agent
        .builder()
        .max_outgoing_bytes(QUEUE_BYTES)
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(initialize::agent_response(&request))
        })
        .on_receive_request(async |_: NewSessionRequest, responder, _cx| {
            responder.respond(NewSessionResponse::new("s-1"))
        })
        .on_receive_request(
            move |prompt: PromptRequest, responder, cx: ConnectionTo<Client>| {
                let stalled = Arc::clone(&stalled);
                cx.clone().spawn(async move {
                    for n in 0..UPDATES {
                        let mut room = pin!(cx.writable());
                        if futures::poll!(room.as_mut()).is_pending() {
                            if let Some(stalled) = stalled
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .take()
                            {
                                let _ = stalled.send(());
                            }
                            room.await;
                        }
                        let chunk = ContentChunk::new(ContentBlock::from(format!("{n:>200}")));
                        cx.send_notification(SessionNotification::new(
                            prompt.session_id.clone(),
                            SessionUpdate::AgentMessageChunk(chunk),
                        ))?;
                    }
                    responder.respond(PromptResponse::new(StopReason::EndTurn))
                });
                std::future::ready(Ok(()))
            },
        )
}

async fn flood_through(proxies: usize) {
    let (stalled, agent_stalled) = oneshot::channel();
    let mut chain = Chain::new(flooding_agent(stalled)).max_outgoing_bytes(QUEUE_BYTES);
    for _ in 0..proxies {
        chain = chain.proxy(Proxy.builder().max_outgoing_bytes(QUEUE_BYTES));
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&received);
    let mut agent_stalled = Some(agent_stalled);
    let client =
        Client
            .builder()
            .on_receive_notification(move |update: SessionNotification, _cx| {
                let gate = agent_stalled.take();
                let seen = Arc::clone(&seen);
                async move {
                    // The editor reads nothing more until the agent has had to wait for room:
                    // that only happens if every hop in between passed the pressure on.
                    if let Some(gate) = gate {
                        let _ = gate.await;
                    }
                    if let SessionUpdate::AgentMessageChunk(ContentChunk {
                        content: ContentBlock::Text(text),
                        ..
                    }) = update.update
                    {
                        seen.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(text.text);
                    }
                    Ok(())
                }
            });
    let answer = client.connect_with(chain, async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let session = cx
            .send_request(NewSessionRequest::new("/"))
            .block_task()
            .await?;
        let prompt = PromptRequest::new(session.session_id, vec![ContentBlock::from("go")]);
        cx.send_request(prompt).block_task().await
    });
    let answer = tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {proxies} proxies: the flood never got through (did the agent ever have to wait?)"))
        .expect("the prompt's answer");
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
    let received = received.lock().unwrap_or_else(PoisonError::into_inner);
    let expected: Vec<String> = (0..UPDATES).map(|n| format!("{n:>200}")).collect();
    assert_eq!(received.len(), UPDATES, "{proxies} proxies: updates lost");
    assert!(
        *received == expected,
        "{proxies} proxies: updates out of order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_editor_slows_the_agent_without_losing_anything() {
    for proxies in [0, 1, 3] {
        flood_through(proxies).await;
    }
}
