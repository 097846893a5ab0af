//! Backpressure through a chain: a slow editor slows the agent through every proxy, nothing
//! dropped; traffic both ways at once through proxies that write back what they read never
//! freezes the chain (the conductor waits for room only where traffic enters, never on a
//! proxy); and a proxy that sends without end is stopped at the ceiling, named, instead of
//! growing the conductor.

use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::channel::oneshot;
use serde_json::json;
use switchboard::{Builder, ConnectionTo, Handler, SentRequest, UntypedMessage};
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

/// Adds the text of an agent message chunk to `seen`.
fn record_chunk(seen: &Mutex<Vec<String>>, update: SessionNotification) {
    if let SessionUpdate::AgentMessageChunk(ContentChunk {
        content: ContentBlock::Text(text),
        ..
    }) = update.update
    {
        seen.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text.text);
    }
}

/// Initializes, opens a session and sends it the prompt `go`, whose answer is returned to
/// wait for.
async fn start_prompt(
    cx: &ConnectionTo<Agent>,
) -> Result<SentRequest<PromptResponse>, switchboard::Error> {
    cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
        .block_task()
        .await?;
    let session = cx
        .send_request(NewSessionRequest::new("/"))
        .block_task()
        .await?;
    let prompt = PromptRequest::new(session.session_id, vec![ContentBlock::from("go")]);
    Ok(cx.send_request(prompt))
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
                    record_chunk(&seen, update);
                    Ok(())
                }
            });
    let answer = client.connect_with(chain, async |cx| {
        start_prompt(&cx).await?.block_task().await
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

/// Notifications the editor sends while the agent floods it: more than every queue holds.
const NOISE: usize = 3_000;

/// Floods both ways at once through `proxies` proxies: the agent streams [`UPDATES`] chunks
/// while the editor sends [`NOISE`] notifications, every queue [`QUEUE_BYTES`] small. Each
/// proxy then writes back to the conductor what the conductor writes to it, in both
/// directions, which froze chains whose every reader paused on its own backed-up queue.
async fn both_ways_through(proxies: usize) {
    let (stalled, _agent_stalled) = oneshot::channel();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let agent = flooding_agent(stalled).on_receive_notification({
        let heard = Arc::clone(&heard);
        move |noise: UntypedMessage, _cx| {
            let n = noise
                .params_value()
                .ok()
                .and_then(|params| params["n"].as_u64());
            heard.lock().unwrap_or_else(PoisonError::into_inner).push(n);
            std::future::ready(Ok(()))
        }
    });
    let mut chain = Chain::new(agent).max_outgoing_bytes(QUEUE_BYTES);
    for _ in 0..proxies {
        chain = chain.proxy(Proxy.builder().max_outgoing_bytes(QUEUE_BYTES));
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&received);
    let client =
        Client
            .builder()
            .on_receive_notification(move |update: SessionNotification, _cx| {
                record_chunk(&seen, update);
                std::future::ready(Ok(()))
            });
    let answer = client.connect_with(chain, async |cx| {
        let answer = start_prompt(&cx).await?.block_task();
        let noise = async {
            for n in 0..NOISE {
                cx.writable().await;
                cx.send_notification(UntypedMessage::new("_test/noise", json!({ "n": n }))?)?;
            }
            Ok::<_, switchboard::Error>(())
        };
        let (answer, noise) = futures::join!(answer, noise);
        noise?;
        // Answered after every notification before it reached the agent (arrival order).
        cx.send_request(NewSessionRequest::new("/"))
            .block_task()
            .await?;
        answer
    });
    let answer = tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {proxies} proxies: the chain froze"))
        .expect("the prompt's answer");
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
    let received = received.lock().unwrap_or_else(PoisonError::into_inner);
    let expected: Vec<String> = (0..UPDATES).map(|n| format!("{n:>200}")).collect();
    assert!(
        *received == expected,
        "{proxies} proxies: updates lost or out of order"
    );
    // The editor's notifications all crossed, in order, before the chain closed.
    let heard = heard.lock().unwrap_or_else(PoisonError::into_inner);
    let sent: Vec<Option<u64>> = (0..NOISE as u64).map(Some).collect();
    assert!(
        *heard == sent,
        "{proxies} proxies: {} of {NOISE} notifications, or out of order",
        heard.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_both_ways_at_once_never_freezes_a_chain() {
    for proxies in [1, 3] {
        both_ways_through(proxies).await;
    }
}

/// A proxy that, once prompted, sends the editor notifications of its own for as long as it
/// is let: it waits for room on its own queue, which the conductor always drains.
fn flooding_proxy() -> Builder<Proxy, impl Handler<switchboard_acp::Conductor> + 'static> {
    Proxy
        .builder()
        .max_outgoing_bytes(QUEUE_BYTES)
        .on_receive_request_from(
            Client,
            async |prompt: PromptRequest,
                   responder,
                   cx: ConnectionTo<switchboard_acp::Conductor>| {
                let flood = cx.clone();
                cx.spawn(async move {
                    loop {
                        flood.writable().await;
                        let chunk = ContentChunk::new(ContentBlock::from("x".repeat(200)));
                        flood.send_notification_to(
                            Client,
                            SessionNotification::new(
                                prompt.session_id.clone(),
                                SessionUpdate::AgentMessageChunk(chunk),
                            ),
                        )?;
                    }
                });
                drop(responder);
                Ok(())
            },
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_sends_without_end_to_an_editor_that_reads_nothing_ends_the_chain_named() {
    let (stalled, _agent_stalled) = oneshot::channel();
    let chain = Chain::new(flooding_agent(stalled))
        .max_outgoing_bytes(QUEUE_BYTES)
        .proxy(flooding_proxy());
    let (editor_end, chain_end) = switchboard::Channel::duplex();
    let (release, released) = oneshot::channel::<()>();
    let mut released = Some(released);
    // The editor stops reading at the first update, until the chain has ended.
    let editor = Client
        .builder()
        .on_receive_notification(move |_: SessionNotification, _cx| {
            let gate = released.take();
            async move {
                if let Some(gate) = gate {
                    let _ = gate.await;
                }
                Ok(())
            }
        })
        .connect_with(editor_end, async |cx| {
            Ok(start_prompt(&cx).await?.block_task().await)
        });
    let editor = tokio::spawn(editor);
    let ended = tokio::time::timeout(Duration::from_secs(60), chain.run(chain_end))
        .await
        .expect("hang guard: the chain never ended");
    let cause = ended.expect_err("a proxy flooding past the ceiling ends the chain");
    assert!(
        cause.message().contains("proxy 1") && cause.message().contains("the editor"),
        "{cause}"
    );
    let _ = release.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), editor).await;
}
