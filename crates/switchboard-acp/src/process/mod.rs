//! Agents run as child processes (feature `tokio`): what a program that drives coding agents
//! needs on top of the core's [`ChildProcess`].
//!
//! - this file: [`AgentProcess`], a running agent and its lifetime (spawn, kill, drop);
//! - `explain.rs`: [`AgentProcess::explain`], which turns a connection error into one that
//!   says what became of the agent: its exit status and the last lines of its stderr;
//! - `handshake.rs`: [`handshake`], the client's opening moves (`initialize`, then
//!   `session/new`), each bounded by a timeout.
//!
//! The usual shape of a driver:
//!
//! ```no_run
//! use switchboard::Error;
//! use switchboard_acp::Client;
//! use switchboard_acp::process::{AgentProcess, Handshake, handshake};
//!
//! # async fn drive() -> Result<(), Error> {
//! let mut agent = AgentProcess::spawn_line("my-agent --acp")?;
//! let answer = Client
//!     .builder()
//!     .connect_with(agent.stdio()?, async |cx| {
//!         let mut started = handshake(&cx, Handshake::new("/path/to/project")).await?;
//!         started.session.prompt("Say hello", |_update| {}).await
//!     })
//!     .await;
//! match answer {
//!     Ok(response) => println!("the agent stopped: {:?}", response.stop_reason),
//!     // "...: the agent `my-agent` exited with status 1; its stderr ends with: ..."
//!     Err(error) => return Err(agent.explain(error).await),
//! }
//! agent.kill().await
//! # }
//! ```

mod explain;
mod handshake;

use std::process::ExitStatus;

use switchboard::transport::ChildStdio;
use switchboard::{ChildCommand, ChildProcess, Error};

pub use explain::{EXIT_GRACE, EXPLAINED_STDERR_BYTES, EXPLAINED_STDERR_LINES};
pub use handshake::{DEFAULT_HANDSHAKE_TIMEOUT, Handshake, Started, handshake};

/// An agent running as a child process, spoken to over its stdin and stdout.
///
/// It is the core's [`ChildProcess`] with the agent's program name kept for messages, and
/// with [`explain`](AgentProcess::explain), which makes a failed connection say why it failed.
/// Give [`stdio`](AgentProcess::stdio) to `Client.builder().connect_with(..)` and run the
/// [`handshake`] in the closure.
///
/// The agent leads a process group of its own (on unix). [`kill`](AgentProcess::kill) kills
/// that group, and so does dropping the `AgentProcess`: the tools and shells the agent
/// started die with it instead of lingering. One exception, from the core: once the agent has
/// been reaped (by [`wait`](AgentProcess::wait), or by a `try_wait` or `explain` that saw it
/// exit), its group is no longer signalled, because the system may have handed its id to
/// another process; anything the agent left running is then yours to stop.
///
/// ```no_run
/// use switchboard::ChildCommand;
/// use switchboard_acp::process::AgentProcess;
///
/// # async fn run() -> Result<(), switchboard::Error> {
/// let command = ChildCommand::new("my-agent").arg("--acp").env("AGENT_LOG", "debug");
/// let agent = AgentProcess::spawn(command)?;
/// println!("started `{}` as process {:?}", agent.program(), agent.id());
/// drop(agent); // kills it, with everything it started
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AgentProcess {
    child: ChildProcess,
    /// The program as the user named it.
    program: String,
    /// Who it is in the messages `explain` writes: "the agent `program`" unless renamed.
    description: String,
}

impl AgentProcess {
    /// Starts the agent `command` describes, with its stdin and stdout piped to this process
    /// and its stderr kept in a bounded tail (see [`ChildCommand::stderr_tail_bytes`]).
    ///
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] naming the program if it cannot be started, or if there is
    /// no tokio runtime.
    ///
    /// ```no_run
    /// use switchboard::ChildCommand;
    /// use switchboard_acp::process::AgentProcess;
    ///
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let agent = AgentProcess::spawn(ChildCommand::new("npx").args(["-y", "some-acp-agent"]))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn(command: ChildCommand) -> Result<AgentProcess, Error> {
        let program = command.program().to_string_lossy().into_owned();
        let child = ChildProcess::spawn(command)?;
        let description = format!("the agent `{program}`");
        Ok(AgentProcess {
            child,
            program,
            description,
        })
    }

    /// Parses `line` the way a shell splits words (quotes, backslashes, leading `NAME=value`
    /// environment settings; nothing is expanded, see [`ChildCommand::parse`]) and starts it.
    /// Meant for an agent command taken from a configuration file or a flag.
    ///
    /// # Errors
    ///
    /// An [`Error::invalid_command`] if the line cannot be parsed; otherwise as
    /// [`spawn`](AgentProcess::spawn).
    ///
    /// ```no_run
    /// use switchboard_acp::process::AgentProcess;
    ///
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let agent = AgentProcess::spawn_line(r#"AGENT_MODEL="big one" my-agent --acp"#)?;
    /// assert_eq!(agent.program(), "my-agent");
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_line(line: &str) -> Result<AgentProcess, Error> {
        AgentProcess::spawn(ChildCommand::parse(line)?)
    }

    /// The agent's stdin and stdout as a component, for `Client.builder().connect_with(..)`
    /// or `connect_to(..)`.
    ///
    /// # Errors
    ///
    /// The pipes are handed out once: a second call fails, and so does a call after
    /// [`wait`](AgentProcess::wait) (which closes the agent's stdin).
    ///
    /// ```no_run
    /// use switchboard_acp::process::AgentProcess;
    /// use switchboard_acp::{AcpClient, Client};
    /// use switchboard_acp::schema::{InitializeRequest, ProtocolVersion};
    ///
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = AgentProcess::spawn_line("my-agent --acp")?;
    /// let answer = Client
    ///     .builder()
    ///     .connect_with(agent.stdio()?, async |cx| {
    ///         cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST)).block_task().await
    ///     })
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stdio(&mut self) -> Result<ChildStdio, Error> {
        self.child.stdio()
    }

    /// The program that was started, as it was named (for messages).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent --acp")?;
    /// assert_eq!(agent.program(), "my-agent");
    /// # Ok(())
    /// # }
    /// ```
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Names the process differently in what [`explain`](AgentProcess::explain) writes:
    /// a conductor that runs proxies as well as an agent says which one it was.
    ///
    /// ```no_run
    /// use switchboard_acp::process::AgentProcess;
    ///
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let proxy = AgentProcess::spawn_line("my-proxy")?.described_as("proxy 1 (`my-proxy`)");
    /// // proxy.explain(error) now says "...; proxy 1 (`my-proxy`) exited with status 1; ..."
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn described_as(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The agent's process id, or `None` once it has been seen to exit (by `wait`,
    /// `try_wait`, `kill` or `explain`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent")?;
    /// if let Some(pid) = agent.id() {
    ///     println!("the agent runs as process {pid}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last of what the agent wrote to stderr, as text: up to the command's
    /// [`stderr_tail_bytes`](ChildCommand::stderr_tail_bytes), starting at a whole line.
    /// Complete once [`wait`](AgentProcess::wait), [`kill`](AgentProcess::kill) or
    /// [`explain`](AgentProcess::explain) has seen the agent exit.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent")?;
    /// let status = agent.wait().await?;
    /// eprintln!("the agent exited ({status}) saying:\n{}", agent.stderr_tail());
    /// # Ok(())
    /// # }
    /// ```
    pub fn stderr_tail(&self) -> String {
        self.child.stderr_tail()
    }

    /// The exit status if the agent has exited, `None` while it runs; does not wait.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the system cannot report the agent's state.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent")?;
    /// if agent.try_wait()?.is_none() {
    ///     println!("still running");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.child.try_wait()
    }

    /// Waits for the agent to exit and returns its status. Closes the agent's stdin first if
    /// [`stdio`](AgentProcess::stdio) has not taken it, so an agent waiting for input ends.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the system cannot report the exit.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent")?;
    /// let status = agent.wait().await?;
    /// assert!(agent.id().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&mut self) -> Result<ExitStatus, Error> {
        self.child.wait().await
    }

    /// Kills the agent and (on unix) its process group, and waits until it is gone. An agent
    /// that has already exited is left alone, and this succeeds.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the agent or its group could not be signalled or waited
    /// for.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = switchboard_acp::process::AgentProcess::spawn_line("my-agent")?;
    /// agent.kill().await?;
    /// assert!(agent.try_wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn kill(&mut self) -> Result<(), Error> {
        self.child.kill().await
    }

    /// Ends the agent gently: closes its stdin (if its connection has not already), gives it
    /// its exit grace (see `ChildCommand::exit_grace`) to exit, then kills it with its
    /// process group, and reaps it. Returns whether it exited by itself. What dropping an
    /// `AgentProcess` does in the background; await this where the grace must be given
    /// before the program goes on (or exits).
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if waiting for it or killing it failed.
    pub async fn end(&mut self) -> Result<bool, Error> {
        self.child.end().await
    }
}
