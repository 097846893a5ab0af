//! Sessions against the echo agent: streamed updates in order before the prompt's answer,
//! updates that race the `session/new` answer, `session/load`, and routing by `sessionId`
//! with a thousand sessions on one connection.

use futures::StreamExt;
use switchboard::error::codes::INVALID_PARAMS;
use switchboard::{Builder, ConnectionTo, Error};
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    ContentBlock, ContentChunk, InitializeRequest, LoadSessionRequest, NewSessionRequest,
    NewSessionResponse, PromptRequest, PromptResponse, SessionId, SessionNotification,
    SessionUpdate, StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, ClientSession, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{chunk_text, hello, talk, text};

/// Reads `session`'s events until a prompt's answer: the texts of the agent's chunks, and
/// the answer.
async fn read_turn(session: &mut ClientSession) -> (Vec<String>, Result<PromptResponse, Error>) {
    let mut texts = Vec::new();
    while let Some(event) = session.next().await {
        match event {
            SessionEvent::Update(update) => {
                assert_eq!(&update.session_id, session.id(), "another session's update");
                texts.extend(chunk_text(&update));
            }
            SessionEvent::PromptFinished(answer) => return (texts, answer),
        }
    }
    panic!("the session's stream ended before the prompt was answered");
}

#[tokio::test]
async fn a_prompt_streams_its_words_in_order_then_ends_the_turn() {
    let words = "the quick brown fox jumps over the lazy dog";
    let (chunks, answer) = talk(echo_agent(), Client.builder(), async move |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let mut chunks = Vec::new();
        let answer = session
            .prompt(words, |update| chunks.extend(chunk_text(&update)))
            .await?;
        Ok((chunks, answer))
    })
    .await;
    let expected: Vec<String> = words.split(' ').map(|word| format!("{word} ")).collect();
    assert_eq!(chunks, expected, "one chunk per word, in order");
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn the_answer_comes_after_every_update_of_its_turn_on_the_stream() {
    let (first, second) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        session.send_prompt(vec![text("one two three")])?;
        let first = read_turn(&mut session).await;
        session.send_prompt(vec![text("four")])?;
        let second = read_turn(&mut session).await;
        Ok((first, second))
    })
    .await;
    assert_eq!(first.0, ["one ", "two ", "three "]);
    assert_eq!(first.1.unwrap().stop_reason, StopReason::EndTurn);
    // Nothing of the first turn leaked past its answer into the second.
    assert_eq!(second.0, ["four "]);
    assert_eq!(second.1.unwrap().stop_reason, StopReason::EndTurn);
}

fn say(session: &str, words: &str) -> SessionNotification {
    let chunk = ContentChunk::new(text(words));
    SessionNotification::new(session.to_owned(), SessionUpdate::AgentMessageChunk(chunk))
}

/// An agent whose `session/new` handler sends two updates for the new session before it
/// answers, and whose prompts answer with one update.
fn eager_agent() -> Builder<Agent, impl switchboard::Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request))
        })
        .on_receive_request(
            async |_: NewSessionRequest, responder, cx: ConnectionTo<Client>| {
                cx.send_notification(say("raced", "early 1"))?;
                cx.send_notification(say("raced", "early 2"))?;
                responder.respond(NewSessionResponse::new("raced"))
            },
        )
        .on_receive_request(
            async |prompt: PromptRequest, responder, cx: ConnectionTo<Client>| {
                cx.send_notification(say(&prompt.session_id.0, "late"))?;
                responder.respond(PromptResponse::new(StopReason::EndTurn))
            },
        )
}

#[tokio::test]
async fn updates_sent_before_the_session_new_answer_reach_the_session() {
    let texts = talk(eager_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let (texts, answer) = {
            session.send_prompt(vec![text("go")])?;
            read_turn(&mut session).await
        };
        answer?;
        Ok(texts)
    })
    .await;
    assert_eq!(texts, ["early 1", "early 2", "late"]);
}

/// The control for the test above: without the parking `Client.builder()` sets up, the
/// early updates really are lost, so that test does exercise the race.
#[tokio::test]
async fn without_parking_the_early_updates_would_be_lost() {
    let texts = talk(eager_agent(), Builder::new(Client), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        session.send_prompt(vec![text("go")])?;
        let (texts, answer) = read_turn(&mut session).await;
        answer?;
        Ok(texts)
    })
    .await;
    assert_eq!(texts, ["late"]);
}

/// What an update says, for comparing transcripts.
fn describe(update: &SessionNotification) -> String {
    let (who, content) = match &update.update {
        SessionUpdate::UserMessageChunk(chunk) => ("user", &chunk.content),
        SessionUpdate::AgentMessageChunk(chunk) => ("agent", &chunk.content),
        other => panic!("unexpected update {other:?}"),
    };
    match content {
        ContentBlock::Text(text) => format!("{who}: {}", text.text),
        other => panic!("unexpected content {other:?}"),
    }
}

#[tokio::test]
async fn loading_a_session_replays_its_transcript_and_it_goes_on() {
    let (replayed, after) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        session.prompt("hello there", |_| {}).await?;
        let id = session.id().clone();
        // One handle per session: the first one goes before the session is loaded again.
        drop(session);
        let mut replayed = Vec::new();
        let (mut loaded, _) = cx
            .load_session(LoadSessionRequest::new(id.clone(), "/"), |update| {
                assert_eq!(update.session_id, id);
                replayed.push(describe(&update));
            })
            .await?;
        let mut after = Vec::new();
        loaded
            .prompt("again", |update| after.extend(chunk_text(&update)))
            .await?;
        Ok((replayed, after))
    })
    .await;
    assert_eq!(
        replayed,
        ["user: hello there", "agent: hello ", "agent: there "]
    );
    assert_eq!(after, ["again "]);
}

#[tokio::test]
async fn loading_an_unknown_session_fails_with_invalid_params() {
    let error = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let request = LoadSessionRequest::new(SessionId::new("nobody"), "/");
        let mut updates = 0;
        let loaded = cx.load_session(request, |_| updates += 1).await;
        assert_eq!(updates, 0);
        Ok(loaded.map(|_| ()))
    })
    .await
    .expect_err("the echo agent never created `nobody`");
    assert_eq!(error.code(), INVALID_PARAMS);
    assert!(error.message().contains("nobody"), "{}", error.message());
}

#[tokio::test]
async fn a_thousand_sessions_on_one_connection_each_get_only_their_own_updates() {
    const SESSIONS: usize = 1_000;
    let turns = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let mut sessions = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            sessions.push(cx.new_session(NewSessionRequest::new("/")).await?.0);
        }
        // Every prompt is in flight before any answer is read.
        for (i, session) in sessions.iter_mut().enumerate() {
            session.send_prompt(vec![text(&format!("s{i} a{i} b{i}"))])?;
        }
        let mut turns = Vec::with_capacity(SESSIONS);
        for session in &mut sessions {
            let (texts, answer) = read_turn(session).await;
            assert_eq!(answer?.stop_reason, StopReason::EndTurn);
            turns.push((session.id().clone(), texts));
        }
        Ok(turns)
    })
    .await;
    let ids: std::collections::HashSet<&SessionId> = turns.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), SESSIONS, "every session has its own id");
    for (i, (_, texts)) in turns.iter().enumerate() {
        assert_eq!(
            texts,
            &[format!("s{i} "), format!("a{i} "), format!("b{i} ")]
        );
    }
}

#[tokio::test]
async fn a_prompt_for_a_session_the_agent_does_not_have_is_resource_not_found() {
    let (error, known) = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        // A session exists, so a keyed handler is in place, just not for this id.
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let stray = PromptRequest::new(SessionId::new("nobody"), vec![text("hello?")]);
        let error = cx.send_request(stray).block_task().await.err();
        let known = session.prompt("still here", |_| {}).await?;
        Ok((error, known))
    })
    .await;
    let error = error.expect("no session `nobody`");
    assert_eq!(error.code(), -32002, "{error}");
    assert!(error.message().contains("nobody"), "{}", error.message());
    assert_eq!(
        error.data(),
        Some(&serde_json::json!({"sessionId": "nobody"}))
    );
    assert_eq!(known.stop_reason, StopReason::EndTurn);
}

/// ACP requires a session's working directory to be absolute: a relative one is refused with
/// -32602 naming the field, and the connection serves on.
#[tokio::test]
async fn a_relative_cwd_is_refused_with_invalid_params() {
    use serde_json::json;
    let (mut peer, agent) = crate::support::raw_peer(switchboard_examples::acp_echo::echo_agent());
    peer.request(1, "initialize", json!({"protocolVersion": 1}))
        .await;
    peer.answer(1).await;
    peer.request(
        2,
        "session/new",
        json!({"cwd": "relative/dir", "mcpServers": []}),
    )
    .await;
    let (answer, _) = peer.answer(2).await;
    let message = crate::support::error_message(&answer, -32602);
    assert!(
        message.contains("`cwd` must be an absolute path"),
        "{message}"
    );
    peer.request(3, "session/new", json!({"cwd": "/", "mcpServers": []}))
        .await;
    let (answer, _) = peer.answer(3).await;
    assert!(answer["result"]["sessionId"].is_string(), "{answer}");
    peer.hang_up(agent).await;
}

/// `session/close` and `session/delete` free a session: after opening, closing and deleting
/// many, with a prompt in each, the agent holds exactly what it held before (one keyed
/// handler per open session, nothing else), and a deleted session's prompt is answered
/// -32002.
#[tokio::test]
async fn sessions_opened_and_closed_leave_nothing_behind() {
    use std::sync::{Arc, OnceLock};
    use switchboard_acp::schema::{NewSessionRequest, PromptRequest, StopReason};
    const SESSIONS: usize = 300;
    let agent_side = Arc::new(OnceLock::new());
    let agent = switchboard_examples::acp_echo::echo_agent().with_spawned({
        let agent_side = Arc::clone(&agent_side);
        move |cx| {
            let _ = agent_side.set(cx);
            std::future::ready(Ok(()))
        }
    });
    let held = Arc::clone(&agent_side);
    let (before, after, closed) = crate::support::talk(agent, Client.builder(), async move |cx| {
        use switchboard_acp::AcpClient;
        cx.initialize(crate::support::hello()).block_task().await?;
        let census = || held.get().expect("the agent runs").census();
        let before = census();
        let mut last = None;
        for n in 0..SESSIONS {
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            let reason = session.prompt(format!("turn {n}"), |_| {}).await?;
            assert_eq!(reason.stop_reason, StopReason::EndTurn);
            let id = session.id().clone();
            session.close().await?;
            cx.delete_session(id.clone()).block_task().await?;
            last = Some(id);
        }
        let after = census();
        let closed = cx
            .send_request(PromptRequest::new(
                last.expect("a session"),
                vec![crate::support::text("anyone?")],
            ))
            .block_task()
            .await;
        Ok((before, after, closed))
    })
    .await;
    assert_eq!(
        after.dynamic_handlers, before.dynamic_handlers,
        "{before:?} → {after:?}"
    );
    assert_eq!(after.cancellation_registrations, 0, "{after:?}");
    assert_eq!(after.awaiting_answers, 0, "{after:?}");
    assert_eq!(closed.expect_err("the session is closed").code(), -32002);
}

/// The `Agent` role answers a session request no handler claimed with -32002 naming the
/// session (the method exists; the session does not), without a catch-all of the agent's own;
/// an extension method or a request without a session is still -32601.
#[tokio::test]
async fn an_unclaimed_session_request_is_resource_not_found_from_the_role_itself() {
    use serde_json::json;
    let agent = Agent.builder().on_receive_request(
        async |request: switchboard_acp::schema::InitializeRequest, responder, _cx| {
            responder.respond(switchboard_acp::initialize::agent_response(&request))
        },
    );
    let (mut peer, served) = crate::support::raw_peer(agent);
    peer.request(1, "initialize", json!({"protocolVersion": 1}))
        .await;
    peer.answer(1).await;
    let prompt = json!({"sessionId": "gone", "prompt": []});
    peer.request(2, "session/prompt", prompt).await;
    let (answer, _) = peer.answer(2).await;
    crate::support::error_message(&answer, -32002);
    assert_eq!(answer["error"]["data"]["sessionId"], "gone", "{answer}");
    peer.request(
        3,
        "session/set_mode",
        json!({"sessionId": "gone", "modeId": "x"}),
    )
    .await;
    crate::support::error_message(&peer.answer(3).await.0, -32002);
    peer.request(4, "_vendor/thing", json!({"sessionId": "gone"}))
        .await;
    crate::support::error_message(&peer.answer(4).await.0, -32601);
    peer.request(5, "session/list", json!({})).await;
    crate::support::error_message(&peer.answer(5).await.0, -32601);
    peer.hang_up(served).await;
}

/// The whole lifecycle through the client's helpers against the echo agent: `session/list`
/// pages by cursor; a closed session is listed, refuses prompts (-32002) until resumed, and
/// then prompts like a new one; a deleted one is neither listed nor resumable.
#[tokio::test]
async fn sessions_are_listed_by_page_closed_resumed_and_deleted() {
    use switchboard_acp::schema::{ListSessionsRequest, NewSessionRequest, ResumeSessionRequest};
    use switchboard_examples::acp_echo::LIST_PAGE;
    let sessions = 2 * LIST_PAGE + 3;
    talk(echo_agent(), Client.builder(), async move |cx| {
        cx.initialize(hello()).block_task().await?;
        let mut ids = Vec::new();
        for n in 0..sessions {
            let cwd = if n % 2 == 0 { "/even" } else { "/odd" };
            let (session, _) = cx.new_session(NewSessionRequest::new(cwd)).await?;
            ids.push(session.id().clone());
        }
        let listed = cx.list_all_sessions(ListSessionsRequest::new()).await?;
        let listed: Vec<_> = listed.into_iter().map(|info| info.session_id).collect();
        assert_eq!(listed, ids, "every session, in order, across three pages");
        let odd = cx
            .list_all_sessions(ListSessionsRequest::new().cwd(std::path::PathBuf::from("/odd")))
            .await?;
        assert_eq!(odd.len(), sessions / 2);

        let (session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let id = session.id().clone();
        session.close().await?;
        let refused = cx
            .send_request(PromptRequest::new(id.clone(), vec![text("closed?")]))
            .block_task()
            .await;
        assert_eq!(refused.expect_err("closed").code(), -32002);
        let (mut resumed, _) = cx
            .resume_session(ResumeSessionRequest::new(id.clone(), "/"), |_| {})
            .await?;
        let mut said = String::new();
        resumed
            .prompt("back again", |update| said.extend(chunk_text(&update)))
            .await?;
        assert_eq!(said, "back again ");

        cx.delete_session(id.clone()).block_task().await?;
        let listed = cx.list_all_sessions(ListSessionsRequest::new()).await?;
        assert!(
            listed.iter().all(|info| info.session_id != id),
            "deleted, yet listed"
        );
        let gone = cx
            .resume_session(ResumeSessionRequest::new(id.clone(), "/"), |_| {})
            .await;
        assert_eq!(gone.expect_err("deleted").code(), -32002);
        let bad_cursor = cx
            .send_request(ListSessionsRequest::new().cursor("not-a-cursor".to_owned()))
            .block_task()
            .await;
        assert_eq!(bad_cursor.expect_err("a made-up cursor").code(), -32602);
        Ok(())
    })
    .await;
}

/// `fork_session` (feature `unstable_session_fork`) opens the forked session like a new one:
/// an update the agent sends for it before its answer is parked and reaches it.
#[tokio::test]
async fn a_forked_session_gets_the_updates_sent_before_its_answer() {
    use switchboard_acp::schema::{
        ContentChunk, ForkSessionRequest, ForkSessionResponse, SessionNotification, SessionUpdate,
    };
    let agent = Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request))
        })
        .on_receive_request(async |_: ForkSessionRequest, responder, cx| {
            let chunk = ContentChunk::new(text("picked up where it was"));
            let early = SessionNotification::new("fork-1", SessionUpdate::AgentMessageChunk(chunk));
            cx.send_notification(early)?;
            responder.respond(ForkSessionResponse::new("fork-1"))
        });
    let first = talk(agent, Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut fork, answer) = cx
            .fork_session(ForkSessionRequest::new("original", "/"))
            .await?;
        assert_eq!(answer.session_id.0.as_ref(), "fork-1");
        match fork.next().await {
            Some(SessionEvent::Update(update)) => Ok(chunk_text(&update)),
            other => panic!("expected the early update, got {other:?}"),
        }
    })
    .await;
    assert_eq!(first.as_deref(), Some("picked up where it was"));
}
