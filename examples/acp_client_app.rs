//! The client behind `cargo run --example acp_client` and `acp_demo`: it serves the agent's
//! file and permission requests, opens a session, sends one prompt and streams the reply.

use std::path::PathBuf;

use futures::StreamExt;
use switchboard::{Builder, ConnectionTo, Error, Handler, Responder};
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, FileSystemCapabilities, Implementation, InitializeRequest,
    NewSessionRequest, PermissionOptionKind, ProtocolVersion, ReadTextFileRequest,
    ReadTextFileResponse, RequestPermissionOutcome, RequestPermissionRequest,
    RequestPermissionResponse, SelectedPermissionOutcome, SessionNotification, SessionUpdate,
    StopReason, WriteTextFileRequest, WriteTextFileResponse,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};

/// What the user asked for on the command line.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Approve permission requests (`--yes`); otherwise they are rejected.
    pub yes: bool,
    /// The session's working directory (`--cwd`, default: the current directory).
    pub cwd: PathBuf,
    /// The prompt to send.
    pub prompt: String,
    /// Sends `session/cancel` this long after the prompt (`--cancel-after MS`).
    pub cancel_after: Option<std::time::Duration>,
}

/// The client's connection builder: it answers `fs/read_text_file`, `fs/write_text_file` and
/// `session/request_permission`.
pub fn client(options: &ClientOptions) -> Builder<Client, impl Handler<Agent> + 'static> {
    let yes = options.yes;
    Client
        .builder()
        .name("acp_client")
        .on_receive_request(async |request: ReadTextFileRequest, responder, cx| {
            // File work waits on the disk: a task, so the dispatch loop goes on meanwhile.
            cx.spawn(read_file(request, responder));
            Ok(())
        })
        .on_receive_request(async |request: WriteTextFileRequest, responder, cx| {
            cx.spawn(write_file(request, responder));
            Ok(())
        })
        .on_receive_request(move |request: RequestPermissionRequest, responder, _cx| {
            std::future::ready(responder.respond(decide(&request, yes)))
        })
}

async fn read_file(
    request: ReadTextFileRequest,
    responder: Responder<ReadTextFileResponse>,
) -> Result<(), Error> {
    let content = match tokio::fs::read_to_string(&request.path).await {
        Ok(content) => content,
        Err(error) => {
            let path = request.path.display();
            return responder.respond_with_error(Error::invalid_params(format_args!(
                "cannot read {path}: {error}"
            )));
        }
    };
    let content = match (request.line, request.limit) {
        (None, None) => content,
        // `line` is 1-based; `limit` caps the number of lines.
        (line, limit) => {
            let skip = line.map_or(0, |line| line.saturating_sub(1) as usize);
            let take = limit.map_or(usize::MAX, |limit| limit as usize);
            let selected: Vec<&str> = content.lines().skip(skip).take(take).collect();
            selected.join("\n")
        }
    };
    responder.respond(ReadTextFileResponse::new(content))
}

async fn write_file(
    request: WriteTextFileRequest,
    responder: Responder<WriteTextFileResponse>,
) -> Result<(), Error> {
    match tokio::fs::write(&request.path, request.content.as_bytes()).await {
        Ok(()) => responder.respond(WriteTextFileResponse::new()),
        Err(error) => {
            let path = request.path.display();
            responder.respond_with_error(Error::invalid_params(format_args!(
                "cannot write {path}: {error}"
            )))
        }
    }
}

/// With `--yes`, the first option that allows; otherwise the first that rejects. With no
/// such option, the request counts as cancelled.
fn decide(request: &RequestPermissionRequest, yes: bool) -> RequestPermissionResponse {
    let wanted: &[PermissionOptionKind] = if yes {
        &[
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::AllowAlways,
        ]
    } else {
        &[
            PermissionOptionKind::RejectOnce,
            PermissionOptionKind::RejectAlways,
        ]
    };
    let outcome = request
        .options
        .iter()
        .find(|option| wanted.contains(&option.kind))
        .map_or(RequestPermissionOutcome::Cancelled, |option| {
            RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(
                option.option_id.clone(),
            ))
        });
    RequestPermissionResponse::new(outcome)
}

/// Initializes, opens a session in `options.cwd`, sends the prompt and gives each piece of the
/// agent's reply to `print` as it arrives. Returns the stop reason.
pub async fn run(
    cx: &ConnectionTo<Agent>,
    options: &ClientOptions,
    mut print: impl FnMut(&str),
) -> Result<StopReason, Error> {
    let fs = FileSystemCapabilities::new()
        .read_text_file(true)
        .write_text_file(true);
    let hello = InitializeRequest::new(ProtocolVersion::LATEST)
        .client_capabilities(ClientCapabilities::new().fs(fs))
        .client_info(Implementation::new("acp_client", env!("CARGO_PKG_VERSION")));
    cx.initialize(hello).block_task().await?;
    let (mut session, _) = cx.new_session(NewSessionRequest::new(&options.cwd)).await?;
    session.send_prompt(vec![ContentBlock::from(options.prompt.clone())])?;
    // The turn's events until its answer; `session/cancel` once, when `cancel_after` is up.
    let mut cancel_at = options
        .cancel_after
        .map(|after| Box::pin(tokio::time::sleep(after)));
    loop {
        let cancel_due = async {
            match cancel_at.as_mut() {
                Some(sleep) => sleep.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = session.next() => match event {
                Some(SessionEvent::Update(update)) => {
                    if let Some(text) = agent_text(&update) {
                        print(text);
                    }
                }
                Some(SessionEvent::PromptFinished(answer)) => return Ok(answer?.stop_reason),
                None => return Err(Error::connection_closed("the session ended mid-turn")),
            },
            () = cancel_due => {
                cancel_at = None;
                session.cancel()?;
            }
        }
    }
}

/// The text of an `agent_message_chunk`, if that is what `update` is.
pub fn agent_text(update: &SessionNotification) -> Option<&str> {
    match &update.update {
        SessionUpdate::AgentMessageChunk(chunk) => match &chunk.content {
            ContentBlock::Text(text) => Some(&text.text),
            _ => None,
        },
        _ => None,
    }
}

/// A stop reason as the protocol spells it (`end_turn`, `cancelled`, ...).
pub fn stop_reason_name(reason: &StopReason) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{reason:?}"),
    }
}
