//! MCP servers as child processes (feature `tokio`), spoken to over their stdio.
//!
//! ```no_run
//! use switchboard::{ChildCommand, Error};
//! use switchboard_mcp::McpClient;
//! use switchboard_mcp::client::{McpClientExt, client_info};
//! use switchboard_mcp::process::ServerProcess;
//!
//! # async fn run() -> Result<(), Error> {
//! let mut server = ServerProcess::spawn(ChildCommand::new("my-mcp-server"))?;
//! let answer = McpClient
//!     .builder()
//!     .connect_with(server.stdio()?, async |cx| {
//!         cx.initialize(client_info("my-host", "1.0.0")).await?;
//!         cx.call_tool("echo", serde_json::json!({"text": "hi"})).block_task().await
//!     })
//!     .await;
//! let answer = match answer {
//!     Ok(answer) => answer,
//!     // "...: the MCP server `my-mcp-server` exited with status 1; its stderr ends with: ..."
//!     Err(error) => return Err(server.explain(error).await),
//! };
//! server.end().await?; // closes its stdin, waits a grace, kills what is left, reaps
//! # drop(answer);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use switchboard::transport::ChildStdio;
use switchboard::{ChildCommand, ChildProcess, Error};

/// How long [`ServerProcess::explain`] waits for a server whose connection failed to exit,
/// to report how it exited.
pub const EXPLAIN_GRACE: Duration = Duration::from_millis(500);

/// At most this much of the server's stderr goes into an explained error.
pub const EXPLAINED_STDERR_BYTES: usize = 2048;

/// An MCP server running as a child process: the core's [`ChildProcess`] with the program's
/// name kept for messages, and [`explain`](ServerProcess::explain).
///
/// Dropping it kills the server with its process group (on unix); [`end`](ServerProcess::end)
/// lets it exit by itself first.
#[derive(Debug)]
pub struct ServerProcess {
    child: ChildProcess,
    program: String,
}

impl ServerProcess {
    /// Starts the server `command` describes. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] naming the program if it cannot be started.
    pub fn spawn(command: ChildCommand) -> Result<ServerProcess, Error> {
        let program = command.program().to_string_lossy().into_owned();
        let child = ChildProcess::spawn(command)?;
        Ok(ServerProcess { child, program })
    }

    /// The server's stdin and stdout, as a component for `McpClient.builder().connect_with`.
    ///
    /// # Errors
    ///
    /// When they were already taken.
    pub fn stdio(&mut self) -> Result<ChildStdio, Error> {
        self.child.stdio()
    }

    /// The program as it was named.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The child process itself.
    pub fn child(&mut self) -> &mut ChildProcess {
        &mut self.child
    }

    /// Ends the server (see [`ChildProcess::end`]); whether it exited by itself.
    ///
    /// # Errors
    ///
    /// When waiting for it or killing it failed.
    pub async fn end(&mut self) -> Result<bool, Error> {
        self.child.end().await
    }

    /// `error`, from the connection to this server, made to say what became of the server:
    /// its exit status and the end of its stderr, when it has exited (waiting up to
    /// [`EXPLAIN_GRACE`] for that). The code stays the error's own.
    pub async fn explain(&mut self, error: Error) -> Error {
        let exited = tokio::time::timeout(EXPLAIN_GRACE, self.child.wait()).await;
        let Ok(Ok(status)) = exited else {
            return error;
        };
        let stderr = self.child.stderr_tail();
        let tail = tail(&stderr, EXPLAINED_STDERR_BYTES);
        let mut message = format!(
            "{}: the MCP server `{}` ended ({status})",
            error.message(),
            self.program
        );
        if tail.trim().is_empty() {
            message.push_str(" and wrote nothing to stderr");
        } else {
            message.push_str("; its stderr ends with:\n");
            message.push_str(tail.trim_end());
        }
        Error::new(error.code(), message)
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
