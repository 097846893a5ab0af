//! The official SDK's client (`agent-client-protocol` 5.2.0) against our echo agent, over an
//! in-memory byte pipe: the handshake, a prompt with its updates (through the SDK's own
//! session API), cancelling a held turn, `session/load`, and our agent's requests to the
//! SDK client (reading a file, asking permission, writing).

use agent_client_protocol as sdk;
use futures::channel::mpsc;
use sdk::v1::{SessionMessage, SessionSetup};
use switchboard::ByteStreams;
use switchboard_acp::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, FileSystemCapabilities,
    InitializeRequest, NewSessionRequest, PermissionOptionKind, PromptRequest, ProtocolVersion,
    ReadTextFileRequest, ReadTextFileResponse, RequestPermissionOutcome, RequestPermissionRequest,
    RequestPermissionResponse, SelectedPermissionOutcome, SessionNotification, SessionUpdate,
    StopReason, TextContent, WriteTextFileRequest, WriteTextFileResponse,
};
use switchboard_examples::acp_echo::echo_agent;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::support::{TempFile, byte_pipes, chunk_text, guard};

/// Runs an SDK client `builder` with `main` against our echo agent over a byte pipe; returns
/// what `main` returned, after checking that both ends finished cleanly.
async fn against_echo_agent<H, T>(
    builder: sdk::v1::Builder<sdk::Client, H>,
    main: impl AsyncFnOnce(sdk::v1::ConnectionTo<sdk::Agent>) -> Result<T, sdk::Error>,
) -> T
where
    H: sdk::HandleDispatchFrom<sdk::Agent> + 'static,
{
    let (ours_out, ours_in, theirs_out, theirs_in) = byte_pipes();
    let agent = echo_agent().connect_to(ByteStreams::tokio(ours_out, ours_in));
    let client = builder.connect_with(
        sdk::ByteStreams::new(theirs_out.compat_write(), theirs_in.compat()),
        main,
    );
    let (answer, agent) = guard("the SDK client and our agent", async {
        tokio::join!(client, agent)
    })
    .await;
    agent.unwrap_or_else(|error| panic!("our agent failed: {error}"));
    answer.unwrap_or_else(|error| panic!("the SDK client failed: {error:?}"))
}

fn session_text(notification: &SessionNotification) -> Option<String> {
    chunk_text(notification)
}

/// The text of an agent message chunk the SDK's session stream yielded.
fn message_text(message: SessionMessage) -> Option<String> {
    match message {
        SessionMessage::Message(dispatch) => {
            let (method, params) = match dispatch.into_raw() {
                sdk::Dispatch::Notification(notification) => (
                    notification.method().to_owned(),
                    notification.params().clone(),
                ),
                other => panic!("expected a notification, got {other:?}"),
            };
            assert_eq!(method, "session/update");
            let update: SessionNotification = serde_json::from_value(params).unwrap();
            session_text(&update)
        }
        SessionMessage::PromptResponse(answer) => panic!("expected an update, got {answer:?}"),
        other => panic!("unexpected session message {other:?}"),
    }
}

#[tokio::test]
async fn the_sdk_client_initializes_and_reads_a_prompts_reply() {
    let (init, reply) = against_echo_agent(sdk::Client.v1(), async |cx| {
        let init = cx
            .send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let reply = cx
            .build_session("/")
            .block_task()
            .run_until(async |SessionSetup { mut session, .. }| {
                session.send_prompt("hello from the sdk")?;
                session.read_to_string().await
            })
            .await?;
        Ok((init, reply))
    })
    .await;
    assert_eq!(init.protocol_version, ProtocolVersion::V1);
    assert!(init.agent_capabilities.load_session);
    assert_eq!(
        init.agent_info.map(|info| info.name).as_deref(),
        Some("acp_echo_agent")
    );
    assert_eq!(reply, "hello from the sdk ");
}

#[tokio::test]
async fn the_sdk_client_reads_our_unknown_session_error_as_resource_not_found() {
    let error = against_echo_agent(sdk::Client.v1(), async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let stray = PromptRequest::new("nobody", vec!["hello?".into()]);
        Ok(cx.send_request(stray).block_task().await)
    })
    .await
    .expect_err("the echo agent has no session `nobody`");
    assert_eq!(error.code, sdk::ErrorCode::RESOURCE_NOT_FOUND);
    assert_eq!(error.data, Some(serde_json::json!({"sessionId": "nobody"})));
}

#[tokio::test]
async fn the_sdk_client_cancels_a_held_turn() {
    let (first, answer) = against_echo_agent(sdk::Client.v1(), async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let SessionSetup { mut session, .. } =
            cx.build_session("/").block_task().start_session().await?;
        session.send_prompt("/hold one two")?;
        let first = message_text(session.read_update().await?);
        let cancel = CancelNotification::new(session.session_id().clone());
        session.connection().send_notification(cancel)?;
        match session.read_update().await? {
            SessionMessage::PromptResponse(answer) => Ok((first, answer?)),
            other => panic!("expected the prompt's answer, got {other:?}"),
        }
    })
    .await;
    assert_eq!(first.as_deref(), Some("one "));
    assert_eq!(answer.stop_reason, StopReason::Cancelled);
}

#[tokio::test]
async fn the_sdk_client_loads_a_session_and_gets_its_history() {
    let (history, more) = against_echo_agent(sdk::Client.v1(), async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let SessionSetup { mut session, .. } =
            cx.build_session("/").block_task().start_session().await?;
        session.send_prompt("first words")?;
        session.read_to_string().await?;
        let id = session.session_id().clone();
        drop(session);
        let SessionSetup { mut session, .. } = cx
            .load_session(id, "/")
            .block_task()
            .start_session()
            .await?;
        // The history was sent before the load's answer, and waits on the session: the
        // user's prompt, then the two words.
        let mut history = Vec::new();
        for _ in 0..3 {
            match session.read_update().await? {
                SessionMessage::Message(dispatch) => {
                    let sdk::Dispatch::Notification(notification) = dispatch.into_raw() else {
                        panic!("expected a notification");
                    };
                    let update: SessionNotification =
                        serde_json::from_value(notification.params().clone()).unwrap();
                    history.push(update.update);
                }
                other => panic!("expected history, got {other:?}"),
            }
        }
        session.send_prompt("more")?;
        let more = session.read_to_string().await?;
        Ok((history, more))
    })
    .await;
    let texts: Vec<(bool, String)> = history
        .into_iter()
        .map(|update| match update {
            SessionUpdate::UserMessageChunk(chunk) => (true, content_text(chunk.content)),
            SessionUpdate::AgentMessageChunk(chunk) => (false, content_text(chunk.content)),
            other => panic!("unexpected update {other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        [
            (true, "first words".to_owned()),
            (false, "first ".to_owned()),
            (false, "words ".to_owned())
        ]
    );
    assert_eq!(more, "more ");
}

fn content_text(content: ContentBlock) -> String {
    match content {
        ContentBlock::Text(TextContent { text, .. }) => text,
        other => panic!("unexpected content {other:?}"),
    }
}

/// What the SDK client saw of a prompt: the agent's text, and the permission requests.
struct Seen {
    said: String,
    asked: Vec<RequestPermissionRequest>,
    stop: StopReason,
}

/// An SDK client that serves files and answers permission requests (allowing when `yes`),
/// sends `prompt` to our echo agent, and reports what it saw.
async fn sdk_prompt(prompt: String, yes: bool) -> Seen {
    let (said_tx, mut said_rx) = mpsc::unbounded::<String>();
    let (asked_tx, mut asked_rx) = mpsc::unbounded::<RequestPermissionRequest>();
    let client = sdk::Client
        .v1()
        .on_receive_notification(
            async move |update: SessionNotification, _cx| {
                if let Some(text) = session_text(&update) {
                    let _ = said_tx.unbounded_send(text);
                }
                Ok(())
            },
            sdk::on_receive_notification!(),
        )
        .on_receive_request(
            async |request: ReadTextFileRequest, responder, _cx| match std::fs::read_to_string(
                &request.path,
            ) {
                Ok(content) => responder.respond(ReadTextFileResponse::new(content)),
                Err(error) => responder
                    .respond_with_error(sdk::Error::invalid_params().data(error.to_string())),
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async |request: WriteTextFileRequest, responder, _cx| {
                std::fs::write(&request.path, &request.content).unwrap();
                responder.respond(WriteTextFileResponse::new())
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: RequestPermissionRequest, responder, _cx| {
                let wanted = if yes {
                    PermissionOptionKind::AllowOnce
                } else {
                    PermissionOptionKind::RejectOnce
                };
                let choice = request
                    .options
                    .iter()
                    .find(|option| option.kind == wanted)
                    .expect("the echo agent offers both")
                    .option_id
                    .clone();
                let _ = asked_tx.unbounded_send(request);
                responder.respond(RequestPermissionResponse::new(
                    RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(choice)),
                ))
            },
            sdk::on_receive_request!(),
        );
    let stop = against_echo_agent(client, async move |cx| {
        let fs = FileSystemCapabilities::new()
            .read_text_file(true)
            .write_text_file(true);
        let hello = InitializeRequest::new(ProtocolVersion::V1)
            .client_capabilities(ClientCapabilities::new().fs(fs));
        cx.send_request(hello).block_task().await?;
        let opened = cx
            .send_request(NewSessionRequest::new(std::env::temp_dir()))
            .block_task()
            .await?;
        let prompt = PromptRequest::new(opened.session_id, vec![prompt.as_str().into()]);
        let answer = cx.send_request(prompt).block_task().await?;
        Ok(answer.stop_reason)
    })
    .await;
    let mut said = String::new();
    while let Ok(text) = said_rx.try_recv() {
        said.push_str(&text);
    }
    let mut asked = Vec::new();
    while let Ok(request) = asked_rx.try_recv() {
        asked.push(request);
    }
    Seen { said, asked, stop }
}

#[tokio::test]
async fn our_agent_reads_a_file_from_the_sdk_client() {
    let file = TempFile::with("from-sdk", "sdk line\nnot this one\n");
    let path = file.display();
    let seen = sdk_prompt(format!("read @{path}"), false).await;
    assert_eq!(seen.stop, StopReason::EndTurn);
    assert_eq!(seen.said, format!("read @{path} [{path}: sdk line] "));
    assert!(seen.asked.is_empty());
}

#[tokio::test]
async fn our_agent_asks_the_sdk_client_before_writing_and_writes_when_allowed() {
    let file = TempFile::new("sdk-allowed");
    let path = file.display();
    let prompt = format!("write >{path}");
    let seen = sdk_prompt(prompt.clone(), true).await;
    assert_eq!(seen.stop, StopReason::EndTurn);
    assert_eq!(seen.said, format!("write >{path} [wrote {path}] "));
    assert_eq!(seen.asked.len(), 1);
    let asked = &seen.asked[0];
    assert_eq!(
        asked.tool_call.fields.title.as_deref(),
        Some(format!("Write {path}").as_str())
    );
    assert_eq!(std::fs::read_to_string(file.path()).unwrap(), prompt);
}

#[tokio::test]
async fn our_agent_does_not_write_when_the_sdk_client_refuses() {
    let file = TempFile::new("sdk-refuses");
    let path = file.display();
    let seen = sdk_prompt(format!("write >{path}"), false).await;
    assert_eq!(seen.stop, StopReason::EndTurn);
    assert_eq!(
        seen.said,
        format!("write >{path} [not allowed to write {path}] ")
    );
    assert_eq!(seen.asked.len(), 1);
    assert!(!file.path().exists());
}

#[tokio::test]
async fn a_prompt_the_sdk_client_drops_does_not_upset_our_agent() {
    let (said_tx, mut said_rx) = mpsc::unbounded::<String>();
    let client = sdk::Client.v1().on_receive_notification(
        async move |update: SessionNotification, _cx| {
            if let Some(text) = session_text(&update) {
                let _ = said_tx.unbounded_send(text);
            }
            Ok(())
        },
        sdk::on_receive_notification!(),
    );
    let (first, after, said_after) = against_echo_agent(client, async move |cx| {
        use futures::StreamExt;
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let opened = cx
            .send_request(NewSessionRequest::new("/"))
            .block_task()
            .await?;
        let id = opened.session_id;
        let held = cx.send_request(PromptRequest::new(id.clone(), vec!["/hold x y".into()]));
        let first = said_rx.next().await;
        // Dropping the SDK's request handle sends `$/cancel_request`; the echo agent ends
        // prompts on `session/cancel`, so the turn stays held until the next prompt
        // replaces it.
        drop(held);
        let after = cx
            .send_request(PromptRequest::new(id, vec!["after".into()]))
            .block_task()
            .await?;
        let said_after = said_rx.next().await;
        Ok((first, after, said_after))
    })
    .await;
    assert_eq!(first.as_deref(), Some("x "));
    assert_eq!(after.stop_reason, StopReason::EndTurn);
    assert_eq!(said_after.as_deref(), Some("after "));
}

/// The official SDK's client drives the echo agent's session lifecycle with the schema's own
/// requests: list (paged), close, resume, delete.
#[tokio::test]
async fn the_sdk_client_lists_closes_resumes_and_deletes_our_sessions() {
    use switchboard_acp::schema::{
        CloseSessionRequest, DeleteSessionRequest, ListSessionsRequest, NewSessionRequest,
        ResumeSessionRequest,
    };
    let (listed, pages, refused, resumed, after_delete) =
        against_echo_agent(sdk::Client.v1(), async |cx| {
            cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
                .block_task()
                .await?;
            let mut made = Vec::new();
            for _ in 0..switchboard_examples::acp_echo::LIST_PAGE + 1 {
                let session = cx
                    .send_request(NewSessionRequest::new("/"))
                    .block_task()
                    .await?;
                made.push(session.session_id);
            }
            let first = cx
                .send_request(ListSessionsRequest::new())
                .block_task()
                .await?;
            let cursor = first.next_cursor.clone().expect("a second page");
            let second = cx
                .send_request(ListSessionsRequest::new().cursor(cursor))
                .block_task()
                .await?;
            let mut listed: Vec<_> = first.sessions.into_iter().map(|s| s.session_id).collect();
            listed.extend(second.sessions.into_iter().map(|s| s.session_id));
            let pages = (listed == made, second.next_cursor.is_none());
            let id = made[0].clone();
            cx.send_request(CloseSessionRequest::new(id.clone()))
                .block_task()
                .await?;
            let refused = cx
                .send_request(PromptRequest::new(id.clone(), vec!["closed?".into()]))
                .block_task()
                .await
                .err()
                .map(|error| error.code);
            let resumed = cx
                .send_request(ResumeSessionRequest::new(id.clone(), "/"))
                .block_task()
                .await
                .is_ok();
            cx.send_request(DeleteSessionRequest::new(id.clone()))
                .block_task()
                .await?;
            let after_delete = cx
                .send_request(ListSessionsRequest::new())
                .block_task()
                .await?
                .sessions
                .iter()
                .any(|session| session.session_id == id);
            Ok((listed.len(), pages, refused, resumed, after_delete))
        })
        .await;
    assert_eq!(listed, switchboard_examples::acp_echo::LIST_PAGE + 1);
    assert_eq!(pages, (true, true), "every session, in order, on two pages");
    assert_eq!(refused, Some(sdk::ErrorCode::RESOURCE_NOT_FOUND));
    assert!(resumed);
    assert!(!after_delete, "a deleted session is not listed");
}
