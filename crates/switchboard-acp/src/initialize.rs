//! Initialization: the `initialize` handshake, the gate that enforces it, and version
//! negotiation.
//!
//! ACP requires the client to call `initialize` before anything else. The agent answers with
//! the protocol version it will speak: the client's, when the agent supports it, or else the
//! latest the agent supports. A client that does not support the agent's choice should close
//! the connection; [`AcpClient::initialize`](crate::AcpClient::initialize) does that check.

use switchboard::{ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcMessage};

use crate::role::Client;
use crate::schema::{self, InitializeRequest, InitializeResponse, ProtocolVersion};

/// The protocol versions this crate speaks, newest first.
pub const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[ProtocolVersion::V1];

/// The version an agent answers to a client that asked for `requested`: the same version
/// when it is supported, otherwise the latest supported one.
///
/// ```
/// use switchboard_acp::initialize::negotiate;
/// use switchboard_acp::schema::ProtocolVersion;
///
/// assert_eq!(negotiate(ProtocolVersion::V1), ProtocolVersion::V1);
/// assert_eq!(negotiate(ProtocolVersion::from(7)), ProtocolVersion::V1);
/// assert_eq!(negotiate(ProtocolVersion::V0), ProtocolVersion::V1);
/// ```
pub fn negotiate(requested: ProtocolVersion) -> ProtocolVersion {
    if SUPPORTED_VERSIONS.contains(&requested) {
        requested
    } else {
        SUPPORTED_VERSIONS[0]
    }
}

/// The start of an agent's answer to `request`: the negotiated version, with no capabilities
/// yet (add them with the schema type's builder methods).
pub fn agent_response(request: &InitializeRequest) -> InitializeResponse {
    InitializeResponse::new(negotiate(request.protocol_version))
}

/// Checks the agent's answer on the client side: an error when the agent chose a version
/// this crate does not speak.
pub fn check_agent_version(response: InitializeResponse) -> Result<InitializeResponse, Error> {
    if SUPPORTED_VERSIONS.contains(&response.protocol_version) {
        Ok(response)
    } else {
        Err(Error::invalid_request(format_args!(
            "the agent chose ACP protocol version {}, which this client does not speak \
             (supported: {:?}); close the connection",
            response.protocol_version,
            SUPPORTED_VERSIONS
                .iter()
                .map(|version| version.as_u16())
                .collect::<Vec<_>>(),
        )))
    }
}

/// The first handler of every [`Agent`](crate::Agent) connection: it refuses requests that
/// come before `initialize` (-32600, saying why) and a second `initialize`, and drops
/// notifications that come before it.
///
/// The connection counts as initialized once an `initialize` request with well-formed params
/// has come in; the agent's own handler answers it.
#[derive(Debug, Default)]
pub struct InitializeGate {
    initialized: bool,
}

impl Handler<Client> for InitializeGate {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Client>,
    ) -> Result<Handled<Dispatch>, Error> {
        let initialize = schema::AGENT_METHOD_NAMES.initialize;
        match dispatch {
            Dispatch::Request(request, responder) if request.method() == initialize => {
                if self.initialized {
                    responder.respond_with_error(Error::invalid_request(
                        "`initialize` was already called on this connection",
                    ))?;
                    return Ok(Handled::Yes);
                }
                // Malformed params leave the gate closed; the handler answers -32602.
                self.initialized =
                    <InitializeRequest as JsonRpcMessage<Client>>::from_untyped(request.clone())
                        .is_ok();
                pass(Dispatch::Request(request, responder))
            }
            Dispatch::Request(request, responder) if !self.initialized => {
                responder.respond_with_error(Error::invalid_request(format_args!(
                    "`{}` before `initialize`: the client must call `initialize` first",
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

fn pass(message: Dispatch) -> Result<Handled<Dispatch>, Error> {
    Ok(Handled::pass(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_refuses_a_version_it_does_not_speak() {
        let fine = InitializeResponse::new(ProtocolVersion::V1);
        assert!(check_agent_version(fine).is_ok());
        let error = check_agent_version(InitializeResponse::new(ProtocolVersion::from(9)))
            .expect_err("version 9 is not spoken");
        assert_eq!(error.code(), switchboard::error::codes::INVALID_REQUEST);
        assert!(error.message().contains("version 9"), "{}", error.message());
    }

    #[test]
    fn the_agent_answers_the_latest_it_supports_for_an_unknown_version() {
        let request = InitializeRequest::new(ProtocolVersion::from(3));
        assert_eq!(
            agent_response(&request).protocol_version,
            ProtocolVersion::V1
        );
    }
}
