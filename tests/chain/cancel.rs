//! Cancelling across chains of 0, 1 and 3 proxies: `session/cancel` reaches the agent and
//! ends a held turn `cancelled`; `$/cancel_request` for the client's prompt request is
//! re-sent hop by hop, each time with the id the request had on that hop, until the agent
//! sees its responder cancelled.

use futures::StreamExt;
use serde_json::Value;
use switchboard_acp::schema::{NewSessionRequest, PromptRequest, StopReason};
use switchboard_acp::{AcpClient, Client, ClientSession, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::components::{PONG, cancel_watching_agent, ping, ping_proxy};
use crate::support::{
    Memory, PROXY_COUNTS, chain_of, chunk_text, drive, hello, on_hop, prompt_texts, requests, text,
    transparent,
};

/// The next agent text on `session`; fails on anything else.
async fn next_chunk(session: &mut ClientSession) -> String {
    match session.next().await {
        Some(SessionEvent::Update(update)) => {
            chunk_text(&update).unwrap_or_else(|| panic!("not a text chunk: {update:?}"))
        }
        other => panic!("expected a chunk, got {other:?}"),
    }
}

#[tokio::test]
async fn session_cancel_ends_a_held_turn_through_every_hop() {
    for n in PROXY_COUNTS {
        let (first, rest, answer) =
            drive(transparent(echo_agent(), n), Client.builder(), async |cx| {
                cx.initialize(hello()).block_task().await?;
                let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                session.send_prompt(vec![text("/hold a b c")])?;
                // The agent echoes one word, then holds the turn until it is cancelled.
                let first = next_chunk(&mut session).await;
                session.cancel()?;
                let mut rest = Vec::new();
                loop {
                    match session.next().await {
                        Some(SessionEvent::Update(update)) => rest.extend(chunk_text(&update)),
                        Some(SessionEvent::PromptFinished(answer)) => {
                            return Ok((first, rest, answer?));
                        }
                        None => panic!("the session ended before the prompt was answered"),
                    }
                }
            })
            .await;
        assert_eq!(first, "a ", "{n} proxies");
        assert!(
            rest.is_empty(),
            "{n} proxies: said after the cancel: {rest:?}"
        );
        assert_eq!(answer.stop_reason, StopReason::Cancelled, "{n} proxies");
    }
}

/// The `requestId`s of the `$/cancel_request`s among `messages`.
fn cancelled_ids<'a>(messages: impl Iterator<Item = &'a Value>) -> Vec<&'a Value> {
    messages
        .filter(|message| message["method"] == "$/cancel_request")
        .map(|message| &message["params"]["requestId"])
        .collect()
}

/// The text of the prompt that is held and cancelled.
const HELD: &str = "hold on";

/// The id of the one held `session/prompt` request among `messages`.
fn prompt_id<'a>(messages: impl Iterator<Item = &'a Value>, where_: &str) -> &'a Value {
    let prompts = requests(messages, "session/prompt");
    let held: Vec<_> = prompts
        .iter()
        .filter(|(_, params)| prompt_texts(params) == [HELD])
        .collect();
    match held.as_slice() {
        [(id, _)] => id,
        _ => panic!("{where_}: expected one held prompt, found {prompts:?}"),
    }
}

#[tokio::test]
async fn cancel_request_reaches_the_agent_hop_by_hop() {
    for n in PROXY_COUNTS {
        let memory = Memory::default();
        let chain = chain_of(cancel_watching_agent(), n, ping_proxy).trace(memory.trace());
        let said = drive(chain, Client.builder(), async move |cx| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            // One ping for each proxy, which answers it itself: the ids the request will have
            // on either side of each proxy differ.
            for k in 1..=n {
                let mut pong = Vec::new();
                session
                    .prompt(ping(k), |update| pong.extend(chunk_text(&update)))
                    .await?;
                assert_eq!(pong, [PONG], "proxy {k}");
            }
            let prompt = PromptRequest::new(session.id().clone(), vec![text(HELD)]);
            let prompt = cx.send_request(prompt);
            // Once the agent has the prompt, the client gives up on it: `$/cancel_request`.
            let mut said = vec![next_chunk(&mut session).await];
            prompt.cancel();
            said.push(next_chunk(&mut session).await);
            Ok(said)
        })
        .await;
        assert_eq!(said, ["started", "cancelled"], "{n} proxies");

        // Every hop carried one cancellation each way the request travelled, naming the
        // request by the id it had on that hop.
        let trace = memory.lines();
        let mut ids = Vec::new();
        let from_editor = prompt_id(on_hop(&trace, 0, "received"), "hop 0");
        assert_eq!(
            cancelled_ids(on_hop(&trace, 0, "received")),
            [from_editor],
            "{n} proxies, hop 0"
        );
        ids.push(from_editor);
        for hop in 1..=n + 1 {
            let where_ = format!("{n} proxies, hop {hop}");
            let sent = prompt_id(on_hop(&trace, hop, "sent"), &where_);
            assert_eq!(
                cancelled_ids(on_hop(&trace, hop, "sent")),
                [sent],
                "{where_}, sent"
            );
            ids.push(sent);
            if hop <= n {
                // The proxy forwarded the prompt as a request of its own, and cancelled that.
                let forwarded = prompt_id(on_hop(&trace, hop, "received"), &where_);
                assert_eq!(
                    cancelled_ids(on_hop(&trace, hop, "received")),
                    [forwarded],
                    "{where_}, received"
                );
                ids.push(forwarded);
            } else {
                let from_agent = cancelled_ids(on_hop(&trace, hop, "received"));
                assert!(from_agent.is_empty(), "{where_}: {from_agent:?}");
            }
        }
        // The ids really differ where a cancellation is re-sent (the editor's and the
        // conductor's on hop 1, the conductor's and the proxy's on each proxy's hop, the last
        // proxy's and the conductor's on the agent's hop), so a cancellation passed on
        // unchanged would have named the wrong request. Elsewhere the conductor's id
        // counters mirror the proxies' and may coincide.
        if n > 0 {
            assert_ne!(ids[0], ids[1], "{n} proxies: {ids:?}");
            for k in 1..=n {
                assert_ne!(ids[2 * k - 1], ids[2 * k], "{n} proxies, hop {k}: {ids:?}");
            }
            assert_ne!(ids[2 * n], ids[2 * n + 1], "{n} proxies: {ids:?}");
        }
    }
}
