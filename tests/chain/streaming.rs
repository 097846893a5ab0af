//! Prompts and their updates through chains of 0, 1 and 3 transparent proxies: every chunk
//! arrives, in order, before the prompt's answer; sessions stay apart.

use futures::StreamExt;
use switchboard_acp::schema::{InitializeRequest, NewSessionRequest, ProtocolVersion, StopReason};
use switchboard_acp::{AcpClient, Client, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{PROXY_COUNTS, chunk_text, drive, guard, hello, text, transparent};

/// Words enough that the chunks of one turn cross every hop in many batches.
const WORDS: usize = 300;

#[tokio::test]
async fn every_chunk_arrives_in_order_before_the_answer() {
    for n in PROXY_COUNTS {
        let words: Vec<String> = (0..WORDS).map(|i| format!("w{i}")).collect();
        let prompt = words.join(" ");
        let (init, chunks, answer) = drive(
            transparent(echo_agent(), n),
            Client.builder(),
            async move |cx| {
                let init = cx.initialize(hello()).block_task().await?;
                let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                let mut chunks = Vec::new();
                let answer = session
                    .prompt(prompt, |update| chunks.extend(chunk_text(&update)))
                    .await?;
                Ok((init, chunks, answer))
            },
        )
        .await;
        // The agent's own answer to `initialize` came back through every proxy.
        let agent = init.agent_info.map(|info| info.name);
        assert_eq!(agent.as_deref(), Some("acp_echo_agent"), "{n} proxies");
        let expected: Vec<String> = words.iter().map(|word| format!("{word} ")).collect();
        // `prompt` returns at the answer: a chunk that came after it would be missing here.
        assert_eq!(chunks, expected, "{n} proxies");
        assert_eq!(answer.stop_reason, StopReason::EndTurn, "{n} proxies");
    }
}

#[tokio::test]
async fn several_sessions_prompted_at_once_stay_apart() {
    const SESSIONS: usize = 4;
    const PER_SESSION: usize = 60;
    for n in PROXY_COUNTS {
        let turns = drive(transparent(echo_agent(), n), Client.builder(), async |cx| {
            cx.initialize(hello()).block_task().await?;
            let mut sessions = Vec::new();
            for _ in 0..SESSIONS {
                sessions.push(cx.new_session(NewSessionRequest::new("/")).await?.0);
            }
            // Every prompt is out before any update is read: the turns interleave.
            for (s, session) in sessions.iter_mut().enumerate() {
                let words: Vec<String> = (0..PER_SESSION).map(|i| format!("s{s}-{i}")).collect();
                session.send_prompt(vec![text(&words.join(" "))])?;
            }
            let mut turns = Vec::new();
            for session in &mut sessions {
                let mut chunks = Vec::new();
                let answer = loop {
                    match session.next().await {
                        Some(SessionEvent::Update(update)) => {
                            chunks.extend(chunk_text(&update));
                        }
                        Some(SessionEvent::PromptFinished(answer)) => break answer?,
                        None => panic!("the session ended before its answer"),
                    }
                };
                turns.push((session.id().to_string(), chunks, answer.stop_reason));
            }
            Ok(turns)
        })
        .await;
        let mut ids: Vec<&str> = turns.iter().map(|(id, ..)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), SESSIONS, "{n} proxies: {ids:?}");
        for (s, (_, chunks, reason)) in turns.iter().enumerate() {
            let expected: Vec<String> = (0..PER_SESSION).map(|i| format!("s{s}-{i} ")).collect();
            assert_eq!(chunks, &expected, "{n} proxies, session {s}");
            assert_eq!(*reason, StopReason::EndTurn, "{n} proxies, session {s}");
        }
    }
}

#[tokio::test]
async fn a_chain_is_an_agent_a_client_connects_to() {
    // The same prompt through `Chain`'s own `ConnectTo<Client>`, without `run`.
    for n in PROXY_COUNTS {
        let chunks = guard(
            "the client",
            Client
                .builder()
                .connect_with(transparent(echo_agent(), n), async |cx| {
                    cx.initialize(InitializeRequest::new(ProtocolVersion::V1))
                        .block_task()
                        .await?;
                    let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                    let mut first = Vec::new();
                    session
                        .prompt("one two", |update| first.extend(chunk_text(&update)))
                        .await?;
                    let mut second = Vec::new();
                    session
                        .prompt("three", |update| second.extend(chunk_text(&update)))
                        .await?;
                    Ok((first, second))
                }),
        )
        .await
        .unwrap_or_else(|error| panic!("{n} proxies: {error}"));
        assert_eq!(chunks.0, ["one ", "two "], "{n} proxies");
        assert_eq!(chunks.1, ["three "], "{n} proxies");
    }
}
