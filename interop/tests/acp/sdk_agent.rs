//! Our client against an agent built on the official SDK (`agent-client-protocol` 5.2.0),
//! over an in-memory byte pipe: the handshake, streamed updates, cancellation, and the SDK
//! agent's requests to our client (permission, reading and writing files).
//!
//! The SDK agent here is written for these tests. It echoes each prompt word by word; with
//! `/hold` first it echoes one word and waits for `session/cancel`; for `@PATH` it asks our
//! client to read the file, and for `>PATH` it asks permission, then asks our client to
//! write the prompt there.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use agent_client_protocol as sdk;
use futures::StreamExt;
use futures::channel::oneshot;
use sdk::v1::ConnectionTo as SdkConnection;
use switchboard::{Builder, ByteStreams, ConnectionTo, Error, Handler};
use switchboard_acp::schema::{
    AgentCapabilities, CancelNotification, CloseSessionRequest, CloseSessionResponse, ContentBlock,
    ContentChunk, DeleteSessionRequest, DeleteSessionResponse, Implementation, InitializeRequest,
    InitializeResponse, ListSessionsRequest, ListSessionsResponse, NewSessionRequest,
    NewSessionResponse, PermissionOption, PermissionOptionKind, PromptRequest, PromptResponse,
    ProtocolVersion, ReadTextFileRequest, RequestPermissionOutcome, RequestPermissionRequest,
    ResumeSessionRequest, ResumeSessionResponse, SessionId, SessionInfo, SessionNotification,
    SessionUpdate, StopReason, TextContent, ToolCallUpdate, ToolCallUpdateFields,
    WriteTextFileRequest,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};
use switchboard_examples::acp_client_app::{ClientOptions, client, run};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::support::{TempFile, byte_pipes, chunk_text, guard, hello, text};

/// Held turns, by session: `session/cancel` fires the sender.
type Holds = Arc<Mutex<HashMap<SessionId, oneshot::Sender<()>>>>;

/// The agent's connection builder, on the SDK.
pub(crate) fn sdk_agent() -> sdk::v1::Builder<sdk::Agent, impl sdk::HandleDispatchFrom<sdk::Client>>
{
    let holds: Holds = Arc::default();
    let for_cancel = Arc::clone(&holds);
    let mut opened = 0_u32;
    // The sessions it keeps, in the order they were made (for list, resume and delete).
    let kept: Arc<Mutex<Vec<SessionId>>> = Arc::default();
    let for_new = Arc::clone(&kept);
    let for_list = Arc::clone(&kept);
    let for_resume = Arc::clone(&kept);
    let for_delete = Arc::clone(&kept);
    sdk::Agent
        .v1()
        .name("sdk-agent")
        .on_receive_request(
            async |_: InitializeRequest, responder, _cx| {
                // This agent speaks version 1 only, whatever the client asked for.
                responder.respond(
                    InitializeResponse::new(ProtocolVersion::V1)
                        .agent_capabilities(AgentCapabilities::new())
                        .agent_info(Implementation::new("sdk-agent", "5.2.0")),
                )
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |_: NewSessionRequest, responder, _cx| {
                opened += 1;
                let id = SessionId::new(format!("sdk-{opened}"));
                for_new.lock().unwrap().push(id.clone());
                responder.respond(NewSessionResponse::new(id))
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |list: ListSessionsRequest, responder, _cx| {
                // Two a page; the cursor is the position of the page's first session.
                let kept = for_list.lock().unwrap().clone();
                let start: usize = list.cursor.as_deref().map_or(0, |c| c.parse().unwrap());
                let end = (start + 2).min(kept.len());
                let sessions = kept[start..end]
                    .iter()
                    .map(|id| SessionInfo::new(id.clone(), "/"))
                    .collect();
                let next = (end < kept.len()).then(|| end.to_string());
                responder.respond(ListSessionsResponse::new(sessions).next_cursor(next))
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |resume: ResumeSessionRequest, responder, _cx| {
                if for_resume.lock().unwrap().contains(&resume.session_id) {
                    responder.respond(ResumeSessionResponse::new())
                } else {
                    responder.respond_with_error(sdk::Error::new(
                        sdk::ErrorCode::RESOURCE_NOT_FOUND,
                        "no such session",
                    ))
                }
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |_: CloseSessionRequest, responder, _cx| {
                responder.respond(CloseSessionResponse::new())
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |delete: DeleteSessionRequest, responder, _cx| {
                for_delete
                    .lock()
                    .unwrap()
                    .retain(|id| *id != delete.session_id);
                responder.respond(DeleteSessionResponse::new())
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |prompt: PromptRequest, responder, cx: SdkConnection<sdk::Client>| {
                let holds = Arc::clone(&holds);
                let turn_cx = cx.clone();
                // The turn waits on the client: it runs as a task, off the dispatch loop.
                cx.spawn(async move {
                    let reason = turn(&turn_cx, &holds, prompt).await?;
                    responder.respond(PromptResponse::new(reason))
                })
            },
            sdk::on_receive_request!(),
        )
        .on_receive_notification(
            async move |cancel: CancelNotification, _cx| {
                let held = for_cancel.lock().unwrap().remove(&cancel.session_id);
                if let Some(held) = held {
                    let _ = held.send(());
                }
                Ok(())
            },
            sdk::on_receive_notification!(),
        )
}

/// One prompt, on the SDK agent.
async fn turn(
    cx: &SdkConnection<sdk::Client>,
    holds: &Holds,
    prompt: PromptRequest,
) -> Result<StopReason, sdk::Error> {
    let id = prompt.session_id.clone();
    let say = |words: String| {
        let chunk = ContentChunk::new(ContentBlock::Text(TextContent::new(words)));
        let update = SessionNotification::new(id.clone(), SessionUpdate::AgentMessageChunk(chunk));
        cx.send_notification(update)
    };
    let all: Vec<String> = prompt
        .prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        })
        .collect();
    let all = all.join(" ");
    let mut words = all.split_whitespace().peekable();
    if words.next_if_eq(&"/hold").is_some() {
        // Registered before the first word goes out, so a cancel cannot come too early.
        let (held, cancelled) = oneshot::channel();
        holds.lock().unwrap().insert(id.clone(), held);
        if let Some(word) = words.next() {
            say(format!("{word} "))?;
        }
        let _ = cancelled.await;
        return Ok(StopReason::Cancelled);
    }
    for word in words {
        say(format!("{word} "))?;
        if let Some(path) = word.strip_prefix('@') {
            let read = ReadTextFileRequest::new(id.clone(), path);
            match cx.send_request(read).block_task().await {
                Ok(read) => say(format!(
                    "[{path}: {}] ",
                    read.content.lines().next().unwrap_or("")
                ))?,
                Err(error) => say(format!("[{path}: error {}] ", error.message))?,
            }
        }
        if let Some(path) = word.strip_prefix('>') {
            let ask = RequestPermissionRequest::new(
                id.clone(),
                ToolCallUpdate::new(
                    format!("write-{path}"),
                    ToolCallUpdateFields::new().title(format!("Write {path}")),
                ),
                vec![
                    PermissionOption::new("yes", "Yes", PermissionOptionKind::AllowOnce),
                    PermissionOption::new("no", "No", PermissionOptionKind::RejectOnce),
                ],
            );
            let allowed = match cx.send_request(ask).block_task().await?.outcome {
                RequestPermissionOutcome::Selected(choice) => &*choice.option_id.0 == "yes",
                _ => false,
            };
            if allowed {
                let write = WriteTextFileRequest::new(id.clone(), path, all.clone());
                cx.send_request(write).block_task().await?;
                say(format!("[wrote {path}] "))?;
            } else {
                say(format!("[refused {path}] "))?;
            }
        }
    }
    Ok(StopReason::EndTurn)
}

/// Runs `client` with `main` against the SDK agent over a byte pipe; returns what `main`
/// returned, after checking that both ends finished cleanly.
async fn against_sdk_agent<H, T, F, Fut>(client: Builder<Client, H>, main: F) -> T
where
    H: Handler<Agent> + 'static,
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Agent>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (ours_out, ours_in, theirs_out, theirs_in) = byte_pipes();
    let agent = sdk_agent().connect_to(sdk::ByteStreams::new(
        theirs_out.compat_write(),
        theirs_in.compat(),
    ));
    let client = client.connect_with(ByteStreams::tokio(ours_out, ours_in), main);
    let (answer, agent) = guard("our client and the SDK agent", async {
        tokio::join!(client, agent)
    })
    .await;
    agent.unwrap_or_else(|error| panic!("the SDK agent failed: {error:?}"));
    answer.unwrap_or_else(|error| panic!("our client failed: {error}"))
}

#[tokio::test]
async fn our_client_initializes_an_sdk_agent_and_streams_a_prompt() {
    let (init, chunks, answer) = against_sdk_agent(Client.builder(), async |cx| {
        let init = cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let mut chunks = Vec::new();
        let answer = session
            .prompt("hello from switchboard", |update| {
                chunks.extend(chunk_text(&update));
            })
            .await?;
        Ok((init, chunks, answer))
    })
    .await;
    assert_eq!(init.protocol_version, ProtocolVersion::V1);
    assert_eq!(
        init.agent_info.map(|info| info.name).as_deref(),
        Some("sdk-agent")
    );
    assert_eq!(chunks, ["hello ", "from ", "switchboard "]);
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn our_client_keeps_several_sdk_sessions_apart() {
    let turns = against_sdk_agent(Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let mut sessions = Vec::new();
        for _ in 0..20 {
            sessions.push(cx.new_session(NewSessionRequest::new("/")).await?.0);
        }
        for (i, session) in sessions.iter_mut().enumerate() {
            session.send_prompt(vec![text(&format!("n{i} m{i}"))])?;
        }
        let mut turns = Vec::new();
        for session in &mut sessions {
            let mut chunks = Vec::new();
            while let Some(event) = session.next().await {
                match event {
                    SessionEvent::Update(update) => chunks.extend(chunk_text(&update)),
                    SessionEvent::PromptFinished(answer) => {
                        answer?;
                        break;
                    }
                }
            }
            turns.push(chunks);
        }
        Ok(turns)
    })
    .await;
    for (i, chunks) in turns.iter().enumerate() {
        assert_eq!(chunks, &[format!("n{i} "), format!("m{i} ")]);
    }
}

#[tokio::test]
async fn our_client_cancels_a_turn_the_sdk_agent_holds() {
    let (first, answer) = against_sdk_agent(Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        session.send_prompt(vec![text("/hold wait here")])?;
        let first = match session.next().await {
            Some(SessionEvent::Update(update)) => chunk_text(&update),
            other => panic!("expected the first word, got {other:?}"),
        };
        session.cancel()?;
        match session.next().await {
            Some(SessionEvent::PromptFinished(answer)) => Ok((first, answer?)),
            other => panic!("expected the answer, got {other:?}"),
        }
    })
    .await;
    assert_eq!(first.as_deref(), Some("wait "));
    assert_eq!(answer.stop_reason, StopReason::Cancelled);
}

/// Runs the example client's `run` with `prompt` against the SDK agent.
async fn ask_sdk_agent(prompt: String, yes: bool) -> (String, StopReason) {
    let options = ClientOptions {
        yes,
        cwd: std::env::temp_dir(),
        prompt,
        cancel_after: None,
    };
    against_sdk_agent(client(&options), async move |cx| {
        let mut said = String::new();
        let reason = run(&cx, &options, |text| said.push_str(text)).await?;
        Ok((said, reason))
    })
    .await
}

#[tokio::test]
async fn the_sdk_agent_reads_a_file_through_our_client() {
    let file = TempFile::with("sdk-read", "line one\nline two\n");
    let path = file.display();
    let (said, reason) = ask_sdk_agent(format!("see @{path}"), false).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(said, format!("see @{path} [{path}: line one] "));
}

#[tokio::test]
async fn the_sdk_agent_asks_our_client_and_writes_when_allowed() {
    let file = TempFile::new("sdk-write");
    let path = file.display();
    let prompt = format!("store >{path}");
    let (said, reason) = ask_sdk_agent(prompt.clone(), true).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(said, format!("store >{path} [wrote {path}] "));
    assert_eq!(std::fs::read_to_string(file.path()).unwrap(), prompt);
}

#[tokio::test]
async fn the_sdk_agent_asks_our_client_and_does_not_write_when_refused() {
    let file = TempFile::new("sdk-refused");
    let path = file.display();
    let (said, reason) = ask_sdk_agent(format!("store >{path}"), false).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(said, format!("store >{path} [refused {path}] "));
    assert!(!file.path().exists());
}

/// Our client's session helpers against the SDK agent: `list_all_sessions` follows its
/// cursors across pages, `ClientSession::close`, `resume_session` (and a prompt after it),
/// and `delete_session`.
#[tokio::test]
async fn our_client_lists_closes_resumes_and_deletes_sdk_sessions() {
    let (listed, said, after_delete) = against_sdk_agent(Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let mut made = Vec::new();
        for _ in 0..5 {
            let (session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            made.push(session.id().clone());
        }
        let listed: Vec<SessionId> = cx
            .list_all_sessions(ListSessionsRequest::new())
            .await?
            .into_iter()
            .map(|info| info.session_id)
            .collect();
        assert_eq!(listed, made, "five sessions over three pages");
        let (session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let id = session.id().clone();
        session.close().await?;
        let (mut resumed, _) = cx
            .resume_session(ResumeSessionRequest::new(id.clone(), "/"), |_| {})
            .await?;
        let mut said = String::new();
        resumed
            .prompt("once more", |update| said.extend(chunk_text(&update)))
            .await?;
        cx.delete_session(id.clone()).block_task().await?;
        let after_delete = cx
            .list_all_sessions(ListSessionsRequest::new())
            .await?
            .iter()
            .any(|info| info.session_id == id);
        Ok((listed.len(), said, after_delete))
    })
    .await;
    assert_eq!(listed, 5);
    assert_eq!(said, "once more ");
    assert!(!after_delete);
}
