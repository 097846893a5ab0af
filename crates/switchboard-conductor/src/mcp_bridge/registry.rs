//! [`Bridges`]: what one run of a chain knows about its MCP bridges. The token, made when
//! the agent's `initialize` answer turns bridging on; the listener, bound at the first
//! rewrite; and the bridged servers, each under the session that declared it, so that
//! closing the session closes them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use switchboard::{ConnectionTo, Error, RawJson, UntypedMessage};
use switchboard_acp::Agent;

use super::McpBridgeRelay;
use super::rewrite::{
    StdioRelay, acp_entries, claim_acp_capability, has_acp_capability, rewrite_as_stdio, session_id,
};
use crate::state::Flag;

/// The bridges of one run of a chain. Lives in the chain's shared state.
pub(crate) struct Bridges {
    /// What the agent is told to run; without it the conductor never bridges.
    relay: Option<McpBridgeRelay>,
    /// The secret a relay proves itself with: set once bridging is on, and only then.
    token: OnceLock<String>,
    /// The loopback listener, bound at the first rewrite.
    listener: Mutex<Listener>,
    /// Raised once the listener is bound, for the task that accepts on it.
    listening: Flag,
    /// The bridged servers by `serverId`: whom a relay may ask for.
    servers: Mutex<HashMap<String, Server>>,
    /// The conductor's end of the in-process connection that the bridges' `mcp/message`s
    /// travel on (see `listener`): where notifications for a bridged server are sent.
    hub: OnceLock<ConnectionTo<Agent>>,
}

/// The listener, as far as it got.
enum Listener {
    /// Not needed yet.
    Unbound,
    /// Bound at `address`; the socket until the accepting task takes it.
    Bound {
        address: String,
        socket: Option<TcpListener>,
    },
    /// Binding failed; every later rewrite fails with this.
    Failed(String),
}

/// One bridged server.
struct Server {
    /// The session that declared it; `None` until the answer to `session/new` names it.
    session: Option<String>,
    /// Raised when the session closes: its connections end.
    closed: Arc<Flag>,
}

impl Bridges {
    pub(crate) fn new(relay: Option<McpBridgeRelay>) -> Bridges {
        Bridges {
            relay,
            token: OnceLock::new(),
            listener: Mutex::new(Listener::Unbound),
            listening: Flag::new(),
            servers: Mutex::new(HashMap::new()),
            hub: OnceLock::new(),
        }
    }

    /// Whether a relay is configured, so that an `initialize` answer is worth looking at.
    pub(crate) fn may_bridge(&self) -> bool {
        self.relay.is_some()
    }

    /// Whether the agent lacked the capability and the conductor bridges for it.
    pub(crate) fn is_on(&self) -> bool {
        self.token.get().is_some()
    }

    /// The agent's answer to `initialize`, as the chain above it is to see it: claiming
    /// `mcpCapabilities.acp` (and turning bridging on) when the agent lacks it.
    pub(crate) fn initialize_answered(&self, answer: RawJson) -> Result<RawJson, Error> {
        if self.relay.is_none() {
            return Ok(answer);
        }
        let Ok(mut value) = answer.to_value() else {
            return Ok(answer);
        };
        if has_acp_capability(&value) || !claim_acp_capability(&mut value) {
            return Ok(answer);
        }
        if self.token.get().is_none() {
            match new_token() {
                Ok(token) => {
                    let _ = self.token.set(token);
                }
                Err(error) => {
                    tracing::warn!(%error, "no MCP bridge: the agent's ACP MCP servers stay off");
                    return Ok(answer);
                }
            }
        }
        RawJson::from_serialize(&value)
    }

    /// `request` (a `session/new`, `session/load` or `session/resume` on its way into the
    /// agent) with its `acp` servers as stdio entries that run the relay, and the `serverId`s
    /// it now bridges (none: `request` as it came).
    ///
    /// # Errors
    ///
    /// When the listener cannot be bound (then the session cannot have its servers), or
    /// the relay's program is not text.
    pub(crate) fn rewrite_session(
        &self,
        request: UntypedMessage,
    ) -> Result<(UntypedMessage, Vec<String>), Error> {
        let (Some(relay), Some(token)) = (&self.relay, self.token.get()) else {
            return Ok((request, Vec::new()));
        };
        let Ok(mut params) = request.params_value() else {
            return Ok((request, Vec::new()));
        };
        let entries = acp_entries(&params);
        if entries.is_empty() {
            return Ok((request, Vec::new()));
        }
        let address = self.address()?;
        let program = relay.program_text()?;
        let stdio = StdioRelay {
            program: &program,
            args: relay.args(),
            address: &address,
            token_env: super::TOKEN_ENV,
            token,
        };
        rewrite_as_stdio(&mut params, &entries, &stdio);
        let session = session_id(&params).map(str::to_owned);
        let ids: Vec<String> = entries.into_iter().map(|entry| entry.server_id).collect();
        {
            let mut servers = self.servers();
            for id in &ids {
                // Declared again (by another session, say): the latest declaration owns it;
                // connections already open keep going until their own session closes.
                servers.insert(
                    id.clone(),
                    Server {
                        session: session.clone(),
                        closed: Arc::new(Flag::new()),
                    },
                );
            }
        }
        let (method, _) = request.into_parts();
        Ok((UntypedMessage::new(method, params)?, ids))
    }

    /// The agent answered the session request that declared `ids`: they belong to the
    /// session it names (the answer to `session/new` is where its id first appears).
    pub(crate) fn session_answered(&self, ids: &[String], answer: &RawJson) {
        let Ok(answer) = answer.to_value() else {
            return;
        };
        let Some(session) = session_id(&answer) else {
            return;
        };
        let mut servers = self.servers();
        for id in ids {
            if let Some(server) = servers.get_mut(id) {
                server.session.get_or_insert_with(|| session.to_owned());
            }
        }
    }

    /// The session request that declared `ids` failed: nobody may reach them.
    pub(crate) fn session_failed(&self, ids: &[String]) {
        let mut servers = self.servers();
        for id in ids {
            if let Some(server) = servers.remove(id) {
                server.closed.raise();
            }
        }
    }

    /// `session/close` for `session` was answered: its servers' connections end, and they
    /// are refused from now on.
    pub(crate) fn session_closed(&self, session: &str) {
        self.servers().retain(|_, server| {
            let closing = server.session.as_deref() == Some(session);
            if closing {
                server.closed.raise();
            }
            !closing
        });
    }

    /// Whether `server_id` is a server this conductor bridges.
    pub(crate) fn is_bridged(&self, server_id: &str) -> bool {
        self.servers().contains_key(server_id)
    }

    /// Lets a relay in: its token must be ours, its `serverId` one we bridge. What it gets
    /// is the flag raised when that server's session closes.
    pub(crate) fn admit(&self, token: &str, server_id: &str) -> Result<Arc<Flag>, String> {
        let ours = self.token.get().map(String::as_bytes).unwrap_or_default();
        if ours.is_empty() || !same_secret(ours, token.as_bytes()) {
            return Err("wrong token".to_owned());
        }
        self.servers()
            .get(server_id)
            .map(|server| Arc::clone(&server.closed))
            .ok_or_else(|| format!("no bridged MCP server with serverId `{server_id}`"))
    }

    /// Resolves once the listener is bound, with its socket (to the one task that asks).
    pub(crate) async fn listener(&self) -> Option<TcpListener> {
        self.listening.raised().await;
        match &mut *self.listener.lock().unwrap_or_else(PoisonError::into_inner) {
            Listener::Bound { socket, .. } => socket.take(),
            _ => None,
        }
    }

    pub(crate) fn set_hub(&self, hub: ConnectionTo<Agent>) {
        let _ = self.hub.set(hub);
    }

    pub(crate) fn hub(&self) -> Option<&ConnectionTo<Agent>> {
        self.hub.get()
    }

    /// The listener's address, binding it first if this is the first rewrite.
    fn address(&self) -> Result<String, Error> {
        let mut listener = self.listener.lock().unwrap_or_else(PoisonError::into_inner);
        if let Listener::Unbound = *listener {
            *listener = match bind() {
                Ok((socket, address)) => {
                    self.listening.raise();
                    Listener::Bound {
                        address,
                        socket: Some(socket),
                    }
                }
                Err(error) => Listener::Failed(error),
            };
        }
        match &*listener {
            Listener::Bound { address, .. } => Ok(address.clone()),
            Listener::Failed(error) => Err(Error::internal_error(format!(
                "the conductor could not open the listener of its MCP bridge, so this \
                 session's ACP MCP servers cannot reach the agent: {error}"
            ))),
            Listener::Unbound => Err(Error::internal_error(
                "the MCP bridge's listener is unbound",
            )),
        }
    }

    fn servers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Server>> {
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A loopback listener on a port the system picks, ready for tokio (non-blocking).
fn bind() -> Result<(TcpListener, String), String> {
    let socket = TcpListener::bind(("127.0.0.1", 0)).map_err(|error| error.to_string())?;
    socket
        .set_nonblocking(true)
        .map_err(|error| error.to_string())?;
    let address = socket.local_addr().map_err(|error| error.to_string())?;
    Ok((socket, address.to_string()))
}

/// 32 random bytes from the operating system, as hex.
fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| {
        Error::internal_error(format!("no randomness for the MCP bridge's token: {error}"))
    })?;
    let mut token = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(token, "{byte:02x}");
    }
    Ok(token)
}

/// Compares two secrets in time that depends on their length only, not on where they differ.
fn same_secret(ours: &[u8], theirs: &[u8]) -> bool {
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(theirs)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }

    #[test]
    fn tokens_are_long_and_differ() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn nothing_is_admitted_before_bridging_is_on() {
        let bridges = Bridges::new(Some(McpBridgeRelay::new("/bin/relay")));
        assert!(bridges.admit("", "s-1").is_err());
    }

    #[test]
    fn a_closed_session_refuses_its_servers() {
        let bridges = Bridges::new(Some(McpBridgeRelay::new("/bin/relay")));
        let answer = RawJson::from_serialize(&serde_json::json!({"protocolVersion": 1})).unwrap();
        let claimed = bridges.initialize_answered(answer).unwrap();
        assert!(has_acp_capability(&claimed.to_value().unwrap()));
        let token = bridges.token.get().unwrap().clone();
        let request = UntypedMessage::new(
            "session/load",
            serde_json::json!({"sessionId": "a", "cwd": "/",
                "mcpServers": [{"type": "acp", "name": "docs", "serverId": "s-1"}]}),
        )
        .unwrap();
        let (rewritten, ids) = bridges.rewrite_session(request).unwrap();
        assert_eq!(ids, ["s-1"]);
        let params: serde_json::Value = rewritten.params_value().unwrap();
        assert_eq!(params["mcpServers"][0]["env"][0]["value"], token.as_str());
        let closed = bridges.admit(&token, "s-1").unwrap();
        assert!(bridges.admit("wrong", "s-1").is_err());
        bridges.session_closed("other");
        assert!(!closed.is_raised());
        bridges.session_closed("a");
        assert!(closed.is_raised());
        assert!(bridges.admit(&token, "s-1").is_err());
    }
}
