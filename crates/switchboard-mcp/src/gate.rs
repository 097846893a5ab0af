//! The gate every server connection starts with: nothing before `initialize`.
//!
//! MCP's handshake versions require the client to call `initialize` first, and allow only
//! `ping` before the server has answered it. Two things get through the closed gate all the
//! same, for the stateless 2026-07-28 protocol: `server/discover`, and requests that carry
//! their version in `_meta` (see [`STATELESS_VERSION_KEY`]); one that names a version this
//! server does not speak statelessly is refused with -32022 and the versions it does. Methods MCP does not define
//! get through too, to be answered -32601 like any unknown method.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard::{
    ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage, UntypedMessage,
};

use crate::messages::CLIENT_REQUEST_METHODS;
use crate::role::McpClient;
use crate::schema::{self, InitializeRequestParams};
use crate::version::{STATELESS_VERSION_KEY, STATELESS_VERSIONS, unsupported_version};

/// The first handler of every [`McpServer`](crate::McpServer) connection.
///
/// It refuses (-32600, saying why) the protocol's requests that come before `initialize`,
/// except `ping` and the stateless ones (see the module docs), refuses a second
/// `initialize`, and drops notifications that come before it. The connection counts as
/// initialized once an `initialize` with well-formed params has come in; the server's own
/// handler answers it.
#[derive(Debug, Default)]
pub struct InitializeGate {
    initialized: bool,
}

impl Handler<McpClient> for InitializeGate {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<McpClient>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Request(request, responder)
                if request.method() == schema::InitializeRequest::method_value() =>
            {
                if self.initialized {
                    responder.respond_with_error(Error::invalid_request(
                        "`initialize` was already called on this connection",
                    ))?;
                    return Ok(Handled::Yes);
                }
                // Malformed params leave the gate closed; the handler answers -32602.
                self.initialized =
                    <InitializeRequestParams as JsonRpcMessage<McpClient>>::from_untyped(
                        request.clone(),
                    )
                    .is_ok();
                pass(Dispatch::Request(request, responder))
            }
            Dispatch::Request(request, responder)
                if stateless_version(&request)
                    .is_some_and(|version| !STATELESS_VERSIONS.contains(&version.as_str())) =>
            {
                let version = stateless_version(&request).unwrap_or_default();
                responder.respond_with_error(unsupported_version(&version))?;
                Ok(Handled::Yes)
            }
            Dispatch::Request(request, responder) if !self.initialized && held_back(&request) => {
                responder.respond_with_error(Error::invalid_request(format_args!(
                    "`{}` before `initialize`: the client must call `initialize` first \
                     (or, in MCP 2026-07-28, name its version in `_meta`)",
                    request.method()
                )))?;
                Ok(Handled::Yes)
            }
            Dispatch::Notification(notification) if !self.initialized => {
                tracing::warn!(
                    method = notification.method(),
                    "notification before `initialize`; dropped"
                );
                Ok(Handled::Yes)
            }
            other => pass(other),
        }
    }
}

/// Whether an uninitialized connection refuses `request`: a method of the protocol other
/// than `ping` and `server/discover`, without a stateless version in its `_meta`.
fn held_back(request: &UntypedMessage) -> bool {
    let method = request.method();
    let always_open =
        method == schema::PingRequest::method_value() || method == crate::discover::DISCOVER_METHOD;
    CLIENT_REQUEST_METHODS.contains(&method) && !always_open && stateless_version(request).is_none()
}

/// The version a stateless (2026-07-28) request names in its `_meta`, if it names one.
pub fn stateless_version(request: &UntypedMessage) -> Option<String> {
    #[derive(Deserialize)]
    struct WithMeta {
        #[serde(rename = "_meta")]
        meta: Option<Map<String, Value>>,
    }
    // Most requests do not name a version: a scan for the key (memchr-fast) spares them
    // the parse.
    if !request.params()?.get().contains(STATELESS_VERSION_KEY) {
        return None;
    }
    let with_meta: WithMeta = request.parse_params().ok()?;
    match with_meta.meta?.remove(STATELESS_VERSION_KEY)? {
        Value::String(version) => Some(version),
        _ => None,
    }
}

fn pass(message: Dispatch) -> Result<Handled<Dispatch>, Error> {
    Ok(Handled::pass(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, params: Value) -> UntypedMessage {
        UntypedMessage::new(method, params).unwrap()
    }

    #[test]
    fn only_protocol_methods_without_a_stateless_version_are_held_back() {
        assert!(held_back(&request("tools/list", serde_json::json!({}))));
        assert!(!held_back(&request("ping", serde_json::json!({}))));
        assert!(!held_back(&request(
            "server/discover",
            serde_json::json!({})
        )));
        assert!(!held_back(&request(
            "no/such/method",
            serde_json::json!({})
        )));
        let stateless = serde_json::json!({"_meta": {STATELESS_VERSION_KEY: "2026-07-28"}});
        assert!(!held_back(&request("tools/list", stateless.clone())));
        assert_eq!(
            stateless_version(&request("tools/list", stateless)).as_deref(),
            Some("2026-07-28")
        );
    }
}
