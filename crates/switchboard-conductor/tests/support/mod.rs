//! What the process tests share: the example programs a chain is made of (built once per test
//! binary), the shapes of the chains, starting the `switchboard-conductor` binary, an editor
//! that serves the agent's file and permission requests and reads a session's turns, and
//! temporary directories. `trace.rs` reads a trace.

pub(crate) mod listening;
pub(crate) mod piped;
#[cfg(target_os = "linux")]
pub(crate) mod procfs;
pub(crate) mod trace;

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use switchboard::{Builder, ChildCommand, ChildProcess, ConnectionTo, Error, Handler};
use switchboard_acp::schema::StopReason;
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, FileSystemCapabilities, InitializeRequest, NewSessionRequest,
    PermissionOptionKind, ProtocolVersion, ReadTextFileRequest, ReadTextFileResponse,
    RequestPermissionOutcome, RequestPermissionRequest, RequestPermissionResponse,
    SelectedPermissionOutcome, SessionNotification, SessionUpdate, TextContent,
    WriteTextFileRequest, WriteTextFileResponse,
};
use switchboard_acp::{AcpClient, Agent, Client, ClientSession, SessionEvent};

#[path = "../../../../tests/common/example_binaries.rs"]
mod example_binaries;
pub(crate) use example_binaries::build_examples;

/// How long any one await may take before the test is declared hung. It turns a hang into a
/// failure; nothing is asserted about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test if it takes longer than [`HANG_GUARD`].
pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// The example binaries the chains are made of.
pub(crate) struct Programs {
    pub(crate) echo_agent: PathBuf,
    pub(crate) prefix_proxy: PathBuf,
    pub(crate) logging_proxy: PathBuf,
}

/// The example binaries, built the first time a test asks for them.
///
/// `cargo test` does not build another package's examples, so this runs the cargo that is
/// building us, once per test binary and for all three in one invocation, into the target
/// directory this test binary runs from.
pub(crate) fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let built = build_examples(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
            &["acp_echo_agent", "acp_prefix_proxy", "acp_logging_proxy"],
        );
        let [echo_agent, prefix_proxy, logging_proxy] =
            <[PathBuf; 3]>::try_from(built).expect("three binaries for three names");
        Programs {
            echo_agent,
            prefix_proxy,
            logging_proxy,
        }
    })
}

/// The `switchboard-conductor` binary of this package.
pub(crate) fn conductor_binary() -> &'static str {
    env!("CARGO_BIN_EXE_switchboard-conductor")
}

/// `word` quoted for a command line that [`ChildCommand::parse`] splits: single quotes, with
/// any single quote in it written `'\''`.
pub(crate) fn quote(word: impl AsRef<Path>) -> String {
    let word = word.as_ref().to_string_lossy();
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// One proxy of a chain under test.
#[derive(Clone, Debug)]
pub(crate) struct Hop {
    /// Its command, as one `--proxy` argument.
    pub(crate) command: String,
    /// The line it puts first in every prompt, if it does.
    pub(crate) adds: Option<String>,
    /// The file name of its program: how the conductor names it.
    pub(crate) program: String,
}

/// `acp_prefix_proxy`, with `--prefix TEXT` if `text` is given.
pub(crate) fn prefix_proxy(text: Option<&str>) -> Hop {
    let mut command = quote(&programs().prefix_proxy);
    if let Some(text) = text {
        command.push_str(" --prefix ");
        command.push_str(&quote(text));
    }
    Hop {
        command,
        // The proxy's own default, as its documentation gives it.
        adds: Some(text.unwrap_or("(via acp_prefix_proxy)").to_owned()),
        program: "acp_prefix_proxy".to_owned(),
    }
}

/// `acp_logging_proxy`: passes everything on, logs every message to stderr.
pub(crate) fn logging_proxy() -> Hop {
    Hop {
        command: quote(&programs().logging_proxy),
        adds: None,
        program: "acp_logging_proxy".to_owned(),
    }
}

/// A "proxy" that is a shell script: `sh -c SCRIPT`.
pub(crate) fn shell_proxy(script: &str) -> Hop {
    Hop {
        command: format!("sh -c {}", quote(script)),
        adds: None,
        program: "sh".to_owned(),
    }
}

/// The chains every test runs through: no proxy, one, and three (two prefix proxies around
/// the logging one, the last with a prefix of its own).
pub(crate) fn shapes() -> [Vec<Hop>; 3] {
    [
        Vec::new(),
        vec![prefix_proxy(None)],
        vec![
            prefix_proxy(None),
            logging_proxy(),
            prefix_proxy(Some("third hop")),
        ],
    ]
}

/// The text of a prompt as the agent gets it through `proxies`: each prefix proxy inserts its
/// line first, so the last one's line comes first.
pub(crate) fn seen_by_agent(proxies: &[Hop], prompt: &str) -> String {
    let lines: Vec<&str> = proxies
        .iter()
        .rev()
        .filter_map(|hop| hop.adds.as_deref())
        .chain([prompt])
        .collect();
    lines.join(" ")
}

/// What the echo agent says for `text`: each word, followed by a space.
pub(crate) fn echo_of(text: &str) -> String {
    text.split_whitespace()
        .map(|word| format!("{word} "))
        .collect()
}

/// Starts `switchboard-conductor` with `proxies` in front of the agent `agent` (a program
/// and its arguments), tracing to `trace` if given.
pub(crate) fn spawn_conductor(
    proxies: &[Hop],
    trace: Option<&Path>,
    agent: &[OsString],
) -> ChildProcess {
    let mut command = ChildCommand::new(conductor_binary());
    if let Some(trace) = trace {
        command = command.arg("--trace").arg(trace);
    }
    for hop in proxies {
        command = command.arg("--proxy").arg(&hop.command);
    }
    command = command.arg("--").args(agent.iter().cloned());
    ChildProcess::spawn(command).expect("starting switchboard-conductor")
}

/// The echo agent, as the conductor's agent arguments.
pub(crate) fn echo_agent() -> Vec<OsString> {
    vec![programs().echo_agent.clone().into()]
}

/// Waits for the conductor to exit; returns its status and everything it wrote to stderr.
pub(crate) async fn finish(conductor: &mut ChildProcess) -> (ExitStatus, String) {
    let status = guard("the conductor's exit", conductor.wait())
        .await
        .expect("waiting for the conductor");
    (status, conductor.stderr_tail())
}

/// What the editor decides and saw, shared with its handlers.
#[derive(Clone, Default)]
pub(crate) struct EditorState {
    /// Whether a permission request is allowed (otherwise it is rejected).
    pub(crate) allow: Arc<AtomicBool>,
    /// The titles of the permission requests it got, in order.
    pub(crate) asked: Arc<Mutex<Vec<String>>>,
}

impl EditorState {
    pub(crate) fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The editor: it reads and writes files for the agent, and answers permission requests as
/// `state` says.
pub(crate) fn editor(state: &EditorState) -> Builder<Client, impl Handler<Agent> + 'static> {
    let state = state.clone();
    Client
        .builder()
        .name("test editor")
        .on_receive_request(async |request: ReadTextFileRequest, responder, _cx| {
            match std::fs::read_to_string(&request.path) {
                Ok(content) => responder.respond(ReadTextFileResponse::new(content)),
                Err(error) => responder.respond_with_error(Error::invalid_params(format!(
                    "cannot read {}: {error}",
                    request.path.display()
                ))),
            }
        })
        .on_receive_request(async |request: WriteTextFileRequest, responder, _cx| {
            match std::fs::write(&request.path, request.content.as_bytes()) {
                Ok(()) => responder.respond(WriteTextFileResponse::new()),
                Err(error) => responder.respond_with_error(Error::invalid_params(format!(
                    "cannot write {}: {error}",
                    request.path.display()
                ))),
            }
        })
        .on_receive_request(move |request: RequestPermissionRequest, responder, _cx| {
            let title = request.tool_call.fields.title.clone().unwrap_or_default();
            state
                .asked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(title);
            let wanted = if state.allow.load(Ordering::SeqCst) {
                PermissionOptionKind::AllowOnce
            } else {
                PermissionOptionKind::RejectOnce
            };
            let outcome = request
                .options
                .iter()
                .find(|option| option.kind == wanted)
                .map_or(RequestPermissionOutcome::Cancelled, |option| {
                    RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(
                        option.option_id.clone(),
                    ))
                });
            std::future::ready(responder.respond(RequestPermissionResponse::new(outcome)))
        })
}

/// `initialize` advertising file reading and writing, then a session in `cwd`.
pub(crate) async fn open_session(
    cx: &ConnectionTo<Agent>,
    cwd: &Path,
) -> Result<ClientSession, Error> {
    let fs = FileSystemCapabilities::new()
        .read_text_file(true)
        .write_text_file(true);
    let hello = InitializeRequest::new(ProtocolVersion::V1)
        .client_capabilities(ClientCapabilities::new().fs(fs));
    cx.initialize(hello).block_task().await?;
    let (session, _) = cx.new_session(NewSessionRequest::new(cwd)).await?;
    Ok(session)
}

/// Serves as the editor of `conductor`, with `main` as its main future: the conductor's stdin
/// closes when `main` returns. A failure shows what the conductor wrote to stderr.
pub(crate) async fn drive<T, F, Fut>(
    proxies: &[Hop],
    conductor: &mut ChildProcess,
    state: &EditorState,
    main: F,
) -> T
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Agent>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let stdio = conductor.stdio().expect("the conductor's stdio");
    let driven = editor(state).connect_with(stdio, main);
    match guard("the editor", driven).await {
        Ok(value) => value,
        Err(error) => panic!(
            "{} proxies: {error}\nthe conductor's stderr:\n{}",
            proxies.len(),
            conductor.stderr_tail()
        ),
    }
}

/// Reads `session`'s events until the answer to the prompt in flight; returns what the agent
/// said and the stop reason.
pub(crate) async fn read_turn(session: &mut ClientSession) -> Result<(String, StopReason), Error> {
    let mut said = String::new();
    while let Some(event) = session.next().await {
        match event {
            SessionEvent::Update(update) => said.extend(chunk_text(&update)),
            SessionEvent::PromptFinished(answer) => return Ok((said, answer?.stop_reason)),
        }
    }
    Err(Error::connection_closed("the session ended mid-turn"))
}

/// Reads `session`'s updates until the agent says `last`; returns everything said up to and
/// including it. The turn ending first is a failure.
pub(crate) async fn read_until(session: &mut ClientSession, last: &str) -> Result<String, Error> {
    let mut said = String::new();
    while let Some(event) = session.next().await {
        match event {
            SessionEvent::Update(update) => {
                let Some(chunk) = chunk_text(&update) else {
                    continue;
                };
                said.push_str(&chunk);
                if chunk == last {
                    return Ok(said);
                }
            }
            SessionEvent::PromptFinished(answer) => {
                panic!("the turn ended before `{last}` was said ({said:?}): {answer:?}")
            }
        }
    }
    Err(Error::connection_closed("the session ended"))
}

/// A text content block.
pub(crate) fn text(text: &str) -> ContentBlock {
    ContentBlock::Text(TextContent::new(text))
}

/// The text of an `agent_message_chunk` update.
pub(crate) fn chunk_text(update: &SessionNotification) -> Option<String> {
    match &update.update {
        SessionUpdate::AgentMessageChunk(chunk) => match &chunk.content {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A directory of its own for one test, removed with everything in it on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("switchboard-conductor-{}-{n}-{label}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
