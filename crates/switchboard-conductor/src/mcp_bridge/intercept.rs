//! Where the bridge looks at messages on their way into the agent. Called by `route` for
//! every message delivered to the agent; anything the bridge has no business with is sent
//! as it came (one method comparison).
//!
//! | message into the agent | when | what happens |
//! |---|---|---|
//! | `initialize` | a relay is configured | the answer claims `mcpCapabilities.acp` if the agent lacks it |
//! | `session/new`, `session/load`, `session/resume` | bridging is on | `acp` servers become stdio entries; the answer (or error) settles whose they are |
//! | `session/close` | bridging is on | a successful answer closes that session's bridges |
//! | `mcp/message` notification for a bridged `serverId` | bridging is on | goes to the bridge, not the agent |

use std::sync::Arc;

use switchboard::{ConnectionTo, Dispatch, Error, RawJson, Responder, UntypedMessage};
use switchboard_acp::Agent;

use crate::route::{Forwarded, send};
use crate::state::ChainState;

const INITIALIZE: &str = "initialize";
const SESSION_REQUESTS: [&str; 3] = ["session/new", "session/load", "session/resume"];
const SESSION_CLOSE: &str = "session/close";
const MCP_MESSAGE: &str = "mcp/message";

/// Sends `dispatch` to the agent, with what the bridge changes (see the table above).
pub(crate) fn to_agent(
    state: &Arc<ChainState>,
    agent: &ConnectionTo<Agent>,
    dispatch: Dispatch,
) -> Result<(), Error> {
    let bridges = &state.bridges;
    let method = dispatch.method().unwrap_or_default();
    match dispatch {
        Dispatch::Request(message, responder) if method == INITIALIZE && bridges.may_bridge() => {
            let answered = Arc::clone(state);
            forward(state, agent, message, responder, move |answer| {
                answered.bridges.initialize_answered(answer)
            });
            Ok(())
        }
        Dispatch::Request(message, responder)
            if bridges.is_on() && SESSION_REQUESTS.contains(&method) =>
        {
            let (message, ids) = match bridges.rewrite_session(message) {
                Ok(rewritten) => rewritten,
                Err(error) => {
                    // The session cannot have the servers it asked for: it is not opened.
                    responder.respond_with_error(error.clone())?;
                    return Ok(());
                }
            };
            if ids.is_empty() {
                return send(state, agent, Dispatch::Request(message, responder));
            }
            let answered = Arc::clone(state);
            let failed = Arc::clone(state);
            let failed_ids = ids.clone();
            let explained = Arc::clone(state);
            agent
                .send_request(Forwarded(message))
                .map(move |answer: RawJson| {
                    answered.bridges.session_answered(&ids, &answer);
                    Ok(answer)
                })
                .map_err(move |error| {
                    failed.bridges.session_failed(&failed_ids);
                    explained.explain(error)
                })
                .forward_response_to(responder.cast());
            Ok(())
        }
        Dispatch::Request(message, responder) if bridges.is_on() && method == SESSION_CLOSE => {
            let session = message
                .params_value()
                .ok()
                .and_then(|params| super::rewrite::session_id(&params).map(str::to_owned));
            let closed = Arc::clone(state);
            forward(state, agent, message, responder, move |answer| {
                if let Some(session) = session {
                    closed.bridges.session_closed(&session);
                }
                Ok(answer)
            });
            Ok(())
        }
        Dispatch::Notification(message) if bridges.is_on() && method == MCP_MESSAGE => {
            match (bridges.hub(), bridged_server(&message)) {
                (Some(hub), Some(id)) if bridges.is_bridged(&id) => hub.send_notification(message),
                _ => send(state, agent, Dispatch::Notification(message)),
            }
        }
        other => send(state, agent, other),
    }
}

/// Sends `message` to the agent; its successful answer goes back through `on_answer`.
fn forward(
    state: &Arc<ChainState>,
    agent: &ConnectionTo<Agent>,
    message: UntypedMessage,
    responder: Responder<serde_json::Value>,
    on_answer: impl FnOnce(RawJson) -> Result<RawJson, Error> + Send + 'static,
) {
    let explained = Arc::clone(state);
    agent
        .send_request(Forwarded(message))
        .map(on_answer)
        .map_err(move |error| explained.explain(error))
        .forward_response_to(responder.cast());
}

/// The `serverId` an `mcp/message` names, if it names one.
fn bridged_server(message: &UntypedMessage) -> Option<String> {
    message
        .params_value()
        .ok()?
        .get(switchboard_acp::mcp_over_acp::SERVER_ID_FIELD)?
        .as_str()
        .map(str::to_owned)
}
