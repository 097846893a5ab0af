//! [`handshake`]: the client's first two requests to a fresh agent, `initialize` and
//! `session/new`, each with a deadline.
//!
//! A spawned agent can hang before it says anything useful: it waits for a login prompt
//! nobody sees, or for a network that is not there. Without a deadline the client would
//! wait with it. Here each step gets [`Handshake::timeout`], and a step that runs out fails
//! with code [`TIMED_OUT`](switchboard::error::codes::TIMED_OUT) and a message naming it.

use std::path::PathBuf;
use std::time::Duration;

use switchboard::error::codes;
use switchboard::{ConnectionTo, Error};

use crate::role::Agent;
use crate::schema::{
    AGENT_METHOD_NAMES, Implementation, InitializeRequest, InitializeResponse, NewSessionRequest,
    NewSessionResponse, ProtocolVersion,
};
use crate::session::{AcpClient, ClientSession};

/// How long each step of the [`handshake`] may take unless told otherwise: 30 s, room for an
/// agent that starts a runtime or loads a model, not for one that hangs.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the [`handshake`] sends, and how long it waits for each answer.
///
/// [`Handshake::new`] fills in the usual: the latest protocol version, this crate as the
/// `clientInfo`, no client capabilities (so the agent will not ask to read files or run
/// terminals: set them with [`initialize`](Handshake::initialize) if you serve those), a
/// session in the given directory, and [`DEFAULT_HANDSHAKE_TIMEOUT`].
///
/// ```
/// use std::time::Duration;
/// use switchboard_acp::process::Handshake;
/// use switchboard_acp::schema::{
///     ClientCapabilities, FileSystemCapabilities, InitializeRequest, NewSessionRequest,
///     ProtocolVersion,
/// };
///
/// let handshake = Handshake::new("/work/project")
///     .timeout(Duration::from_secs(5))
///     .initialize(InitializeRequest::new(ProtocolVersion::LATEST).client_capabilities(
///         ClientCapabilities::new().fs(FileSystemCapabilities::new().read_text_file(true)),
///     ))
///     .new_session(NewSessionRequest::new("/work/other-project"));
/// assert_eq!(handshake.timeout, Duration::from_secs(5));
/// assert_eq!(handshake.new_session.cwd.to_str(), Some("/work/other-project"));
/// ```
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The `initialize` request.
    pub initialize: InitializeRequest,
    /// The `session/new` request.
    pub new_session: NewSessionRequest,
    /// How long each of the two requests may wait for its answer.
    pub timeout: Duration,
}

impl Handshake {
    /// The usual handshake for a session working in `cwd` (see the type's docs).
    ///
    /// ```
    /// use switchboard_acp::process::{DEFAULT_HANDSHAKE_TIMEOUT, Handshake};
    /// use switchboard_acp::schema::ProtocolVersion;
    ///
    /// let handshake = Handshake::new("/work/project");
    /// assert_eq!(handshake.initialize.protocol_version, ProtocolVersion::LATEST);
    /// let client = handshake.initialize.client_info.as_ref().map(|info| info.name.as_str());
    /// assert_eq!(client, Some("switchboard-acp"));
    /// assert_eq!(handshake.timeout, DEFAULT_HANDSHAKE_TIMEOUT);
    /// ```
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        let client = Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
        Handshake {
            initialize: InitializeRequest::new(ProtocolVersion::LATEST).client_info(client),
            new_session: NewSessionRequest::new(cwd),
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sends `request` as the `initialize` request instead.
    ///
    /// ```
    /// use switchboard_acp::process::Handshake;
    /// use switchboard_acp::schema::{Implementation, InitializeRequest, ProtocolVersion};
    ///
    /// let me = Implementation::new("gate4agent", "0.3.0");
    /// let handshake = Handshake::new("/work")
    ///     .initialize(InitializeRequest::new(ProtocolVersion::LATEST).client_info(me));
    /// ```
    #[must_use]
    pub fn initialize(mut self, request: InitializeRequest) -> Self {
        self.initialize = request;
        self
    }

    /// Sends `request` as the `session/new` request instead (to add MCP servers, say).
    ///
    /// ```
    /// use switchboard_acp::process::Handshake;
    /// use switchboard_acp::schema::NewSessionRequest;
    ///
    /// let handshake = Handshake::new("/work").new_session(NewSessionRequest::new("/elsewhere"));
    /// ```
    #[must_use]
    pub fn new_session(mut self, request: NewSessionRequest) -> Self {
        self.new_session = request;
        self
    }

    /// Gives each step `timeout` to be answered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard_acp::process::Handshake;
    ///
    /// let handshake = Handshake::new("/work").timeout(Duration::from_secs(120));
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// What a successful [`handshake`] leaves you with: the agent's `initialize` answer (its
/// protocol version, capabilities, auth methods) and an open session.
#[derive(Debug)]
pub struct Started {
    /// The agent's answer to `initialize`; its protocol version is one this crate speaks.
    pub initialize: InitializeResponse,
    /// The session `session/new` opened, ready for prompts.
    pub session: ClientSession,
    /// The agent's answer to `session/new` (the session's id, modes, options).
    pub new_session: NewSessionResponse,
}

/// Opens a connection to an agent: `initialize`, a check of the protocol version the agent
/// chose, then `session/new`. Each request gets [`Handshake::timeout`] to be answered.
///
/// Runs where [`SentRequest::block_task`](switchboard::SentRequest::block_task) may: in the
/// `connect_with` closure or a spawned task, inside a tokio runtime. An agent that needs
/// `authenticate` before `session/new` is not served by this function: send `initialize`,
/// `authenticate` and `session/new` yourself (see [`AcpClient`]).
///
/// # Errors
///
/// - A step that is not answered in time fails with code
///   [`TIMED_OUT`](codes::TIMED_OUT) and a message naming the step (`initialize` or
///   `session/new`) and the timeout. A late `initialize` is cancelled at the agent
///   (`$/cancel_request`); a late `session/new` answer is dropped when it comes.
/// - An agent that chooses a protocol version this crate does not speak: the error of
///   [`check_agent_version`](crate::initialize::check_agent_version).
/// - The agent's own error answers, unchanged, and connection-closed errors if the agent goes
///   away: pass those through [`AgentProcess::explain`](super::AgentProcess::explain) to learn
///   why it did.
///
/// ```no_run
/// use std::time::Duration;
/// use switchboard_acp::Client;
/// use switchboard_acp::process::{AgentProcess, Handshake, handshake};
///
/// # async fn run() -> Result<(), switchboard::Error> {
/// let mut agent = AgentProcess::spawn_line("my-agent --acp")?;
/// let session_id = Client
///     .builder()
///     .connect_with(agent.stdio()?, async |cx| {
///         let setup = Handshake::new("/work/project").timeout(Duration::from_secs(10));
///         let started = handshake(&cx, setup).await?;
///         println!("the agent speaks ACP {}", started.initialize.protocol_version);
///         Ok(started.session.id().clone())
///     })
///     .await;
/// # Ok(())
/// # }
/// ```
pub async fn handshake(cx: &ConnectionTo<Agent>, handshake: Handshake) -> Result<Started, Error> {
    let Handshake {
        initialize,
        new_session,
        timeout,
    } = handshake;
    // tokio's timer would panic outside a runtime; that is a mistake to report, not to die of.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::internal_error(
            "the ACP handshake must run inside a tokio runtime (it uses tokio's timer)",
        ));
    }

    let initialize = cx
        .initialize(initialize)
        .timeout(timeout)
        .block_task()
        .await
        .map_err(|error| {
            if error.is_timeout() {
                step_timed_out(AGENT_METHOD_NAMES.initialize, timeout)
            } else {
                error
            }
        })?;

    // `new_session` waits on a callback, not on a `SentRequest`, so its deadline is tokio's.
    let (session, new_session) = tokio::time::timeout(timeout, cx.new_session(new_session))
        .await
        .map_err(|_elapsed| step_timed_out(AGENT_METHOD_NAMES.session_new, timeout))??;

    Ok(Started {
        initialize,
        session,
        new_session,
    })
}

/// The error for a step of the handshake that the agent did not answer within `after`.
fn step_timed_out(method: &str, after: Duration) -> Error {
    let millis = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    Error::new(
        codes::TIMED_OUT,
        format!("Timed out: the agent did not answer `{method}` within {after:?}"),
    )
    .with_data(serde_json::json!({ "method": method, "timeoutMs": millis }))
}
