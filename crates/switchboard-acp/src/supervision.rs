//! An agent kept alive by a [`Supervisor`]: restarted when it crashes, its `initialize`
//! replayed and its sessions restored.
//!
//! [`supervised_agent`] is a component a client (or a conductor) connects to as to the
//! agent. Behind it, a crashed agent is started again; the new one gets the client's
//! `initialize`, then each open session back with `session/resume` when the agent
//! advertises `sessionCapabilities.resume`, else with `session/load` when it advertises
//! `loadSession` (the history it replays is held back: the client has seen it). A prompt in
//! flight when the agent crashed fails with a [`Fault`]; a session that could not be
//! restored is lost, and every later call for it fails with a fault that says so.
//!
//! ```no_run
//! use switchboard::ChildCommand;
//! use switchboard_acp::{AcpClient, Client};
//! use switchboard_acp::schema::{InitializeRequest, ProtocolVersion};
//! use switchboard_acp::supervision::supervised_agent;
//!
//! # async fn run() -> Result<(), switchboard::Error> {
//! let agent = supervised_agent(ChildCommand::new("my-agent"));
//! let health = agent.status();
//! Client
//!     .builder()
//!     .connect_with(agent, async move |cx| {
//!         cx.initialize(InitializeRequest::new(ProtocolVersion::V1)).block_task().await?;
//!         println!("agent generation {}", health.health().generation);
//!         Ok(())
//!     })
//!     .await
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard::{ChildCommand, ConnectionTo, RawJson, UntypedMessage, UntypedRole};
use switchboard_supervisor::{Fault, Handshake, Recovery, Replay, Stage, Supervisor};

use crate::role::CANCELLATION;
use crate::schema::AGENT_METHOD_NAMES;

/// ACP's handshake: `initialize`, whose `protocolVersion` every new agent must repeat.
pub fn handshake() -> Handshake {
    Handshake::default()
        .request(AGENT_METHOD_NAMES.initialize)
        .check("protocolVersion")
}

/// A supervisor of the agent `command`, set up for ACP: its handshake, its cancel
/// convention, [`AcpSessions`] restored, and the calls that open a session safe to send again
/// (the client never saw the lost generation's answer). Every other call lost with its
/// generation fails with a [`Fault`]. Change any of it with the [`Supervisor`]'s methods.
pub fn supervised_agent(command: ChildCommand) -> Supervisor {
    configure(Supervisor::command(command))
}

/// Sets `supervisor` up for ACP, as [`supervised_agent`] does: for an agent that is not a
/// child process ([`Supervisor::spawning`]).
pub fn configure(supervisor: Supervisor) -> Supervisor {
    supervisor
        .handshake(handshake())
        .cancellation(CANCELLATION)
        .contract(AGENT_METHOD_NAMES.session_new, Replay::Safe)
        .contract(AGENT_METHOD_NAMES.session_load, Replay::Safe)
        .contract(AGENT_METHOD_NAMES.session_resume, Replay::Safe)
        .recovery(AcpSessions::default())
}

/// The sessions an agent has open, learnt from the answers, restored into each new agent.
#[derive(Clone, Debug, Default)]
pub struct AcpSessions {
    state: Arc<Mutex<Sessions>>,
}

#[derive(Debug, Default)]
struct Sessions {
    can_resume: bool,
    can_load: bool,
    /// Each open session, with the params that reopen it (`cwd`, `mcpServers`).
    open: BTreeMap<String, Value>,
    /// Sessions that could not be restored, and why.
    lost: BTreeMap<String, String>,
}

impl AcpSessions {
    /// The sessions open now.
    pub fn open(&self) -> BTreeSet<String> {
        lock(&self.state).open.keys().cloned().collect()
    }

    /// The sessions lost with a generation, which later calls are refused for.
    pub fn lost(&self) -> BTreeSet<String> {
        lock(&self.state).lost.keys().cloned().collect()
    }
}

/// The params that reopen a session: its id, its directory and its MCP servers.
fn reopening(session: &str, params: &Value) -> Value {
    json!({
        "sessionId": session,
        "cwd": params.get("cwd").cloned().unwrap_or(Value::Null),
        "mcpServers": params.get("mcpServers").cloned().unwrap_or_else(|| json!([])),
    })
}

fn session_id(value: &Value) -> Option<String> {
    value.get("sessionId")?.as_str().map(str::to_owned)
}

impl Recovery for AcpSessions {
    fn answered(&self, method: &str, params: Option<&RawJson>, result: &RawJson) {
        let names = &AGENT_METHOD_NAMES;
        let watched = [
            names.initialize,
            names.session_new,
            names.session_load,
            names.session_resume,
            names.session_close,
        ];
        // A prompt's answer, the most frequent, is not read at all.
        if !watched.contains(&method) {
            return;
        }
        let read = |json: Option<&RawJson>| {
            json.and_then(|json| json.to_value().ok())
                .unwrap_or(Value::Null)
        };
        let params = read(params);
        let result = read(Some(result));
        let mut state = lock(&self.state);
        if method == names.initialize {
            let capabilities = &result["agentCapabilities"];
            state.can_load = capabilities["loadSession"].as_bool().unwrap_or(false);
            state.can_resume = capabilities["sessionCapabilities"]["resume"].is_object();
        } else if method == names.session_new {
            if let Some(session) = session_id(&result) {
                // A new agent may give out an id a lost session had: it is this one now.
                state.lost.remove(&session);
                let reopen = reopening(&session, &params);
                state.open.insert(session, reopen);
            }
        } else if method == names.session_load || method == names.session_resume {
            if let Some(session) = session_id(&params) {
                state.lost.remove(&session);
                let reopen = reopening(&session, &params);
                state.open.insert(session, reopen);
            }
        } else if method == names.session_close
            && let Some(session) = session_id(&params)
        {
            state.open.remove(&session);
        }
    }

    fn restore(
        &self,
        worker: ConnectionTo<UntypedRole>,
        generation: u64,
    ) -> BoxFuture<'static, Result<(), Fault>> {
        let sessions = self.clone();
        async move {
            let (method, open) = {
                let state = lock(&sessions.state);
                let method = if state.can_resume {
                    Some(AGENT_METHOD_NAMES.session_resume)
                } else if state.can_load {
                    Some(AGENT_METHOD_NAMES.session_load)
                } else {
                    None
                };
                (method, state.open.clone())
            };
            for (session, reopen) in open {
                let lost = match method {
                    None => Some(format!(
                        "the agent was restarted (generation {generation}) and can neither resume nor load sessions"
                    )),
                    Some(method) => match UntypedMessage::new(method, reopen) {
                        Ok(request) => match worker.send_request(request).block_task().await {
                            Ok(_) => None,
                            Err(error) => Some(format!(
                                "the agent was restarted (generation {generation}) and refused its {method}: {}",
                                error.message()
                            )),
                        },
                        Err(error) => Some(error.message().to_owned()),
                    },
                };
                if let Some(why) = lost {
                    tracing::warn!(session, %why, "a session was lost with its agent");
                    let mut state = lock(&sessions.state);
                    state.open.remove(&session);
                    state.lost.insert(session, why);
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn refuse(&self, method: &str, params: Option<&RawJson>) -> Option<Fault> {
        if !method.starts_with("session/")
            || method == AGENT_METHOD_NAMES.session_load
            || method == AGENT_METHOD_NAMES.session_resume
        {
            return None;
        }
        let params: Value = params?.parse().ok()?;
        let session = session_id(&params)?;
        let state = lock(&self.state);
        let why = state.lost.get(&session)?;
        Some(
            Fault::new(Stage::Process, format!("session {session} was lost: {why}"))
                .retryable(false),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
