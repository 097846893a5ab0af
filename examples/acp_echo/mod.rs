//! The echo agent behind `cargo run --example acp_echo_agent`, as a builder the tests and
//! `acp_demo` can run in process.
//!
//! Each prompt is echoed back word by word as `agent_message_chunk` updates, then answered
//! `end_turn`. A few words in a prompt do more, to show the agent → client requests:
//!
//! - `@PATH` — when the client advertised `fs.readTextFile`, the agent reads the file
//!   (`fs/read_text_file`) and echoes its first line;
//! - `>PATH` — the agent asks permission (`session/request_permission`) to write the prompt
//!   to the file, and writes it with `fs/write_text_file` if allowed;
//! - `/hold` at the start of a text block — the words before it (a line a proxy put first,
//!   say) and the first word after it are echoed, then the turn stays open until the client
//!   cancels it. `session/cancel` ends it with the stop reason `cancelled`.
//!   Cancelling the prompt request itself (`$/cancel_request`, what dropping a
//!   `SentRequest` sends) ends it too: the agent says `(request cancelled) ` in the session,
//!   so that a client which no longer waits for the answer still sees it, then answers the
//!   request -32800.
//!
//! - `/tool SERVER TOOL JSON` at the start of a text block — the agent calls the tool `TOOL`
//!   of the session's MCP server named `SERVER` with the JSON arguments and echoes the result
//!   text (see `tools.rs`). A server the client or a proxy serves over ACP (`acp` in
//!   `mcpServers`, which this agent advertises it reaches: `mcpCapabilities.acp`) is called
//!   over `mcp/message`; a `stdio` one is started for the call. Built with
//!   [`echo_agent_with`] and `reaches_acp_servers: false`, the agent does not advertise it and
//!   refuses a session that declares an `acp` server (-32602), as a conforming agent must.
//!
//! It serves the whole session lifecycle (see `sessions.rs`): `session/load` opens a session
//! again and replays what was said, `session/resume` opens it without the replay,
//! `session/list` lists the sessions it keeps, a page at a time, `session/close` cancels a
//! session's turn and drops its handler (so a long connection serves only its open
//! sessions), and `session/delete` forgets one altogether. A prompt for a session that is not
//! open (never made, closed or deleted) is answered -32002 (resource not found) by the
//! `Agent` role itself: no catch-all of its own is needed.

mod sessions;
mod tools;

pub use sessions::LIST_PAGE;
pub use tools::TOOL_COMMAND;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::{Either, select};

use switchboard::dynamic::DynamicHandlerRegistration;
use switchboard::message::Typed;
use switchboard::{Builder, ConnectionTo, Dispatch, Error, Handled, Handler};
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::McpServer;
use switchboard_acp::schema::{
    AgentCapabilities, ClientCapabilities, CloseSessionRequest, ContentBlock, ContentChunk,
    DeleteSessionRequest, Implementation, InitializeRequest, ListSessionsRequest,
    LoadSessionRequest, NewSessionRequest, PermissionOption, PermissionOptionKind, PromptRequest,
    PromptResponse, ReadTextFileRequest, RequestPermissionOutcome, RequestPermissionRequest,
    ResumeSessionRequest, SessionCapabilities, SessionCloseCapabilities, SessionDeleteCapabilities,
    SessionId, SessionListCapabilities, SessionResumeCapabilities, SessionUpdate, StopReason,
    TextContent, ToolCallUpdate, ToolCallUpdateFields, WriteTextFileRequest,
};
use switchboard_acp::{Agent, AgentSession, Client, Turn, mcp_over_acp};
use tools::ToolCall;

/// How an echo agent is built.
#[derive(Clone, Copy, Debug)]
pub struct EchoOptions {
    /// Whether it advertises `mcpCapabilities.acp` and reaches `acp` MCP servers.
    pub reaches_acp_servers: bool,
}

impl Default for EchoOptions {
    fn default() -> Self {
        EchoOptions {
            reaches_acp_servers: true,
        }
    }
}

/// What the echo agent remembers across its connection.
#[derive(Default)]
struct EchoState {
    options: EchoOptions,
    client: ClientCapabilities,
    sessions: HashMap<SessionId, EchoSession>,
    created: u64,
}

/// One session: its handle, what was said (for `session/load`), where it works, and while it
/// is open the keyed handler that serves it.
struct EchoSession {
    /// Its place in the order sessions were made in (`session/list` follows it).
    number: u64,
    handle: AgentSession,
    transcript: Arc<Mutex<Vec<SessionUpdate>>>,
    cwd: PathBuf,
    /// The MCP servers it was opened (or last loaded, resumed) with.
    mcp_servers: Vec<McpServer>,
    serving: Option<DynamicHandlerRegistration>,
}

type Shared = Arc<Mutex<EchoState>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, EchoState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The echo agent's connection builder: give it a component with `.connect_to(..)`.
pub fn echo_agent() -> Builder<Agent, impl Handler<Client> + 'static> {
    echo_agent_with(EchoOptions::default())
}

/// [`echo_agent`], built as `options` say.
pub fn echo_agent_with(options: EchoOptions) -> Builder<Agent, impl Handler<Client> + 'static> {
    let state: Shared = Arc::new(Mutex::new(EchoState {
        options,
        ..EchoState::default()
    }));
    let for_new = Arc::clone(&state);
    let for_load = Arc::clone(&state);
    let for_close = Arc::clone(&state);
    let for_resume = Arc::clone(&state);
    let for_list = Arc::clone(&state);
    let for_delete = Arc::clone(&state);
    Agent
        .builder()
        .name("acp_echo_agent")
        .on_receive_request(move |request: InitializeRequest, responder, _cx| {
            let mut state = lock(&state);
            state.client = request.client_capabilities.clone();
            let capabilities = AgentCapabilities::new()
                .load_session(true)
                .session_capabilities(
                    SessionCapabilities::new()
                        .list(SessionListCapabilities::new())
                        .resume(SessionResumeCapabilities::new())
                        .close(SessionCloseCapabilities::new())
                        .delete(SessionDeleteCapabilities::new()),
                );
            let capabilities = if state.options.reaches_acp_servers {
                mcp_over_acp::advertise(capabilities)
            } else {
                capabilities
            };
            let answer = agent_response(&request)
                .agent_capabilities(capabilities)
                .agent_info(Implementation::new(
                    "acp_echo_agent",
                    env!("CARGO_PKG_VERSION"),
                ));
            std::future::ready(responder.respond(answer))
        })
        .on_receive_request(move |request: NewSessionRequest, responder, cx| {
            std::future::ready(sessions::new_session(&for_new, request, responder, &cx))
        })
        .on_receive_request(move |request: LoadSessionRequest, responder, cx| {
            std::future::ready(sessions::load_session(&for_load, &request, responder, &cx))
        })
        .on_receive_request(move |request: ResumeSessionRequest, responder, cx| {
            std::future::ready(sessions::resume_session(
                &for_resume,
                &request,
                responder,
                &cx,
            ))
        })
        .on_receive_request(move |request: ListSessionsRequest, responder, _cx| {
            std::future::ready(sessions::list_sessions(&for_list, &request, responder))
        })
        .on_receive_request(move |request: CloseSessionRequest, responder, _cx| {
            std::future::ready(sessions::close_session(&for_close, &request, responder))
        })
        .on_receive_request(move |request: DeleteSessionRequest, responder, _cx| {
            std::future::ready(sessions::delete_session(&for_delete, &request, responder))
        })
}

/// Serves one session's `session/prompt` and `session/cancel`.
struct SessionHandler {
    session: AgentSession,
    state: Shared,
    transcript: Arc<Mutex<Vec<SessionUpdate>>>,
    cwd: PathBuf,
    mcp_servers: Vec<McpServer>,
}

impl Handler<Client> for SessionHandler {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Client>,
    ) -> Result<Handled<Dispatch>, Error> {
        use switchboard_acp::schema::CancelNotification;
        match dispatch.into_typed::<PromptRequest, CancelNotification, Client>() {
            Typed::Matched(Dispatch::Request(prompt, responder)) => {
                let turn = self.session.begin_turn();
                let run = Prompt {
                    session: self.session.clone(),
                    client: lock(&self.state).client.clone(),
                    transcript: Arc::clone(&self.transcript),
                    cwd: self.cwd.clone(),
                    mcp_servers: self.mcp_servers.clone(),
                };
                let request_cancelled = responder.cancelled();
                cx.spawn(async move {
                    match run.answer(&prompt, &turn, request_cancelled).await? {
                        Ended::Stopped(reason) => responder.respond(PromptResponse::new(reason)),
                        Ended::RequestCancelled => {
                            run.say("(request cancelled) ").await?;
                            responder.respond_with_error(Error::request_cancelled())
                        }
                    }
                });
                Ok(Handled::Yes)
            }
            Typed::Matched(Dispatch::Notification(_cancel)) => {
                self.session.cancel();
                Ok(Handled::Yes)
            }
            Typed::Matched(Dispatch::Response(..)) | Typed::Rejected => Ok(Handled::Yes),
            Typed::Unmatched(message) => Ok(Handled::pass(message)),
        }
    }
}

/// One prompt being answered.
struct Prompt {
    session: AgentSession,
    client: ClientCapabilities,
    transcript: Arc<Mutex<Vec<SessionUpdate>>>,
    cwd: PathBuf,
    mcp_servers: Vec<McpServer>,
}

/// How a prompt's turn ended.
enum Ended {
    /// With this stop reason, the answer to give.
    Stopped(StopReason),
    /// The client cancelled the prompt request itself (`$/cancel_request`) while it was held.
    RequestCancelled,
}

impl Prompt {
    /// Echoes `prompt`. A held turn waits for `turn` to be cancelled (`session/cancel`) or for
    /// `request_cancelled` to resolve (`$/cancel_request` for the prompt), whichever is first.
    async fn answer(
        &self,
        prompt: &PromptRequest,
        turn: &Turn,
        request_cancelled: impl Future<Output = ()> + Send,
    ) -> Result<Ended, Error> {
        let text = prompt_text(prompt);
        self.remember(SessionUpdate::UserMessageChunk(chunk(&text)));
        if let Some(call) = prompt.prompt.iter().find_map(|block| match block {
            ContentBlock::Text(text) => ToolCall::parse(&text.text),
            _ => None,
        }) {
            let said = match call {
                Ok(call) => call.run(&self.mcp_servers, self.session.connection()).await,
                Err(why) => format!("[{why}]"),
            };
            self.say(&said).await?;
            return Ok(Ended::Stopped(turn.stop_reason()));
        }
        let hold = asks_for(prompt, "/hold");
        // `/hold` was passed: one more word is echoed, then the turn waits.
        let mut holding = false;
        let mut request_cancelled = std::pin::pin!(request_cancelled);
        for word in text.split_whitespace() {
            if turn.is_cancelled() {
                break;
            }
            if hold && !holding && word == "/hold" {
                holding = true;
                continue;
            }
            self.say(&format!("{word} ")).await?;
            if let Some(path) = word.strip_prefix('@').filter(|path| !path.is_empty()) {
                self.read_file(path).await?;
            }
            if let Some(path) = word.strip_prefix('>').filter(|path| !path.is_empty()) {
                self.write_file(path, &text).await?;
            }
            if holding {
                break;
            }
        }
        if hold && !turn.is_cancelled() {
            let turn_cancelled = std::pin::pin!(turn.cancelled());
            if let Either::Right(_) = select(turn_cancelled, request_cancelled.as_mut()).await {
                return Ok(Ended::RequestCancelled);
            }
        }
        Ok(Ended::Stopped(turn.stop_reason()))
    }

    async fn say(&self, text: &str) -> Result<(), Error> {
        let update = SessionUpdate::AgentMessageChunk(chunk(text));
        self.remember(update.clone());
        self.session.update(update).await
    }

    fn remember(&self, update: SessionUpdate) {
        self.transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(update);
    }

    fn absolute(&self, path: &str) -> PathBuf {
        // ACP paths are absolute; a relative one is taken from the session's cwd.
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.cwd.join(path)
        }
    }

    async fn read_file(&self, path: &str) -> Result<(), Error> {
        if !self.client.fs.read_text_file {
            return self.say("(the client cannot read files) ").await;
        }
        let request = ReadTextFileRequest::new(self.session.id().clone(), self.absolute(path));
        let cx = self.session.connection();
        match cx.send_request(request).block_task().await {
            Ok(read) => {
                let first = read.content.lines().next().unwrap_or("").to_owned();
                self.say(&format!("[{path}: {first}] ")).await
            }
            Err(error) => self.say(&format!("[{path}: {}] ", error.message())).await,
        }
    }

    async fn write_file(&self, path: &str, text: &str) -> Result<(), Error> {
        let cx = self.session.connection();
        let id = self.session.id().clone();
        let ask = RequestPermissionRequest::new(
            id.clone(),
            ToolCallUpdate::new(
                format!("write-{path}"),
                ToolCallUpdateFields::new().title(format!("Write {path}")),
            ),
            vec![
                PermissionOption::new("allow", "Allow", PermissionOptionKind::AllowOnce),
                PermissionOption::new("reject", "Reject", PermissionOptionKind::RejectOnce),
            ],
        );
        // A client may answer with an error, or with something that is not an answer to
        // this question: the turn goes on, and says so, instead of failing.
        let allowed = match cx.send_request(ask).block_task().await {
            Ok(answer) => matches!(
                answer.outcome,
                RequestPermissionOutcome::Selected(choice) if &*choice.option_id.0 == "allow"
            ),
            Err(error) => {
                let why = error.message();
                return self
                    .say(&format!(
                        "[no permission to write {path}: the answer was bad: {why}] "
                    ))
                    .await;
            }
        };
        if !allowed {
            return self.say(&format!("[not allowed to write {path}] ")).await;
        }
        if !self.client.fs.write_text_file {
            return self.say("(the client cannot write files) ").await;
        }
        let write = WriteTextFileRequest::new(id, self.absolute(path), text);
        match cx.send_request(write).block_task().await {
            Ok(_) => self.say(&format!("[wrote {path}] ")).await,
            Err(error) => self.say(&format!("[{path}: {}] ", error.message())).await,
        }
    }
}

fn chunk(text: &str) -> ContentChunk {
    ContentChunk::new(ContentBlock::Text(TextContent::new(text)))
}

/// Whether a text block of `prompt` starts with the word `command` (`/hold`, say). Not only
/// the first block: a proxy may have put a line of its own before the client's.
pub fn asks_for(prompt: &PromptRequest, command: &str) -> bool {
    prompt.prompt.iter().any(|block| match block {
        ContentBlock::Text(text) => text.text.split_whitespace().next() == Some(command),
        _ => false,
    })
}

/// The text of a prompt's text blocks, joined by spaces.
fn prompt_text(prompt: &PromptRequest) -> String {
    let texts: Vec<&str> = prompt
        .prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect();
    texts.join(" ")
}
