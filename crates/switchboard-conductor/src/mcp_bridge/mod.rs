//! The MCP bridge: servers that the editor or a proxy offers over ACP (`{"type": "acp"}` in a
//! session's `mcpServers`, see [`switchboard_acp::mcp_over_acp`]), for an agent that cannot
//! reach them itself because it did not advertise `agentCapabilities.mcpCapabilities.acp`.
//!
//! When the agent's answer to `initialize` lacks that capability and the chain has a
//! [`McpBridgeRelay`], the conductor:
//!
//! 1. sets `mcpCapabilities.acp: true` in that answer where it leaves the agent, so every
//!    proxy and the editor see the same chain that supports it;
//! 2. rewrites each `acp` entry of `mcpServers` in `session/new`, `session/load` and
//!    `session/resume` on their way into the agent as a **stdio** entry with the same name,
//!    whose command is the relay. Stdio, because every ACP agent must support stdio MCP
//!    servers, while http and sse are optional capabilities;
//! 3. opens, at the first rewrite, one loopback TCP listener (`127.0.0.1`, a port the system
//!    picks). The relay the agent spawns connects to it, proves it was started by this
//!    conductor with a per-conductor random token, names its `serverId`, and then copies its
//!    stdin and stdout to and from the connection;
//! 4. serves each admitted connection as an MCP server whose requests become `mcp/message`
//!    requests sent up the chain *from the agent's end*, exactly as if the agent had sent
//!    them: the last proxy sees them first, a proxy that offers that `serverId` answers, and
//!    otherwise they reach the editor. `mcp/message` notifications coming down for a bridged
//!    `serverId` go to its connection instead of the agent.
//!
//! The pieces, one file each:
//!
//! | file | what it holds |
//! |---|---|
//! | `relay.rs` | the relay process: handshake, then bytes both ways ([`run_relay`]) |
//! | `rewrite.rs` | the JSON changes: the capability, the `mcpServers` entries |
//! | `registry.rs` | the per-run state: token, listener, the bridged servers by session |
//! | `intercept.rs` | where messages into the agent are looked at and changed |
//! | `listener.rs` | accepting, admitting and serving the relays' connections |
//!
//! Bounds: at most [`MAX_BRIDGE_CONNECTIONS`] connections at a time (more are refused); a
//! handshake line of at most `MAX_HELLO_BYTES` that must arrive within `HELLO_TIMEOUT`, or
//! the connection is closed; every MCP connection is a core connection, with its bounded
//! queues, and the requests it sends up wait for room like the agent's own.
//!
//! Lifetimes: a session's bridges end when `session/close` for it is answered successfully
//! (its connections are closed, and its `serverId`s refused from then on); every bridge ends
//! with the chain. A relay exits as soon as its TCP connection or its stdin ends.
//!
//! The token travels to the relay in the environment variable [`TOKEN_ENV`] of the stdio
//! entry, not in its arguments: a process's arguments can be read by every local user, its
//! environment only by its owner. It does appear in the rewritten `session/new` that a
//! `--trace` file records.

mod intercept;
mod listener;
mod registry;
mod relay;
mod rewrite;

use std::ffi::OsString;
use std::path::PathBuf;

use switchboard::Error;

pub(crate) use intercept::to_agent;
pub(crate) use listener::serve_bridges;
pub(crate) use registry::Bridges;
pub use relay::{relay_if_asked, run_relay};

/// The hidden first argument that makes the `switchboard-conductor` program a relay:
/// `switchboard-conductor --mcp-bridge-relay ADDRESS SERVER_ID` (with the token in
/// [`TOKEN_ENV`]). A flag rather than a word, so that no agent program's name can be taken
/// for it.
pub const RELAY_FLAG: &str = "--mcp-bridge-relay";

/// The environment variable that carries the conductor's token to the relay.
pub const TOKEN_ENV: &str = "SWITCHBOARD_MCP_BRIDGE_TOKEN";

/// How many relay connections one conductor serves at a time. Each is one MCP server an agent
/// is using (agents start one process per server per session), so this is far above what a
/// working chain needs; a connection past it is closed at once, with an error line.
pub const MAX_BRIDGE_CONNECTIONS: usize = 64;

/// The command the agent is told to run for a bridged server: `program args...`, to which
/// the conductor appends the listener's address and the `serverId`, with the token in
/// [`TOKEN_ENV`]. Whatever it is, it must end up in [`run_relay`] (or speak its protocol).
///
/// The `switchboard-conductor` program uses [`this_program`](McpBridgeRelay::this_program).
/// A library user either points at an installed `switchboard-conductor`
/// (`McpBridgeRelay::new(path).arg(RELAY_FLAG)`), or calls [`relay_if_asked`] first thing in
/// their own `main` and uses `this_program()` too.
///
/// ```
/// use switchboard_conductor::mcp_bridge::{McpBridgeRelay, RELAY_FLAG};
///
/// let relay = McpBridgeRelay::new("/usr/local/bin/switchboard-conductor").arg(RELAY_FLAG);
/// assert_eq!(relay.program(), std::path::Path::new("/usr/local/bin/switchboard-conductor"));
/// assert_eq!(relay.args(), [RELAY_FLAG]);
/// ```
#[derive(Clone, Debug)]
pub struct McpBridgeRelay {
    /// What the agent runs (an absolute path: agents need not search `PATH`).
    program: PathBuf,
    /// The arguments before the address and the `serverId`.
    args: Vec<String>,
}

impl McpBridgeRelay {
    /// A relay run as `program`, with no arguments of its own yet.
    pub fn new(program: impl Into<PathBuf>) -> McpBridgeRelay {
        McpBridgeRelay {
            program: program.into(),
            args: Vec::new(),
        }
    }

    /// This program, with [`RELAY_FLAG`]: right for the `switchboard-conductor` program, and
    /// for a program that calls [`relay_if_asked`] at the start of its `main`.
    ///
    /// # Errors
    ///
    /// When the path of this program cannot be found.
    pub fn this_program() -> Result<McpBridgeRelay, Error> {
        let program = std::env::current_exe().map_err(|error| {
            Error::internal_error(format!(
                "the MCP bridge needs this program's path, and it cannot be found: {error}"
            ))
        })?;
        Ok(McpBridgeRelay::new(program).arg(RELAY_FLAG))
    }

    /// Adds an argument, after those already added.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> McpBridgeRelay {
        self.args.push(arg.into());
        self
    }

    /// The program.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// The arguments before the address and the `serverId`.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The program as the text a stdio entry carries.
    fn program_text(&self) -> Result<String, Error> {
        self.program.to_str().map(str::to_owned).ok_or_else(|| {
            Error::internal_error(format!(
                "the MCP bridge's relay program {:?} is not UTF-8, and a session can only name \
                 a program in text",
                OsString::from(self.program.as_os_str())
            ))
        })
    }
}
