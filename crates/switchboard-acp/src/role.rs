//! The four ACP roles and how they pair up.
//!
//! | role | counterpart | peers reached through the counterpart |
//! |---|---|---|
//! | [`Client`] (an editor) | [`Agent`] | |
//! | [`Agent`] | [`Client`] | |
//! | [`Proxy`] (between the two) | [`Conductor`] | [`Client`] and [`Agent`] |
//! | [`Conductor`] (runs the chain) | [`Proxy`] | |
//!
//! A proxy talks to one conductor over its stdio, and through it to the client before it and
//! the agent after it. The conductor tells the two apart the way ACP's proxy-chain protocol
//! does: what goes to or comes from the agent side travels wrapped in `proxy/successor`
//! (`{"method": ..., "params": ...}`); the client side's messages travel as they are.

use switchboard::cancel::Cancellation;
use switchboard::handler::{Chain, NullHandler};
use switchboard::peer::HasPeer;
use switchboard::{Builder, ConnectionTo, Dispatch, Error, Role, UntypedMessage};

use crate::initialize::InitializeGate;
use crate::session::ParkSessionUpdates;

/// An ACP client: an editor or a command-line tool that drives an agent.
///
/// `Client.builder()` parks `session/update` notifications for a session this side does not
/// know yet, so that an update racing the `session/new` answer waits for its
/// [`ClientSession`](crate::ClientSession) instead of being dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Client;

/// An ACP agent: serves sessions and prompts for a client.
///
/// `Agent.builder()` starts with an [`InitializeGate`]: requests before `initialize` are
/// refused, as the protocol requires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Agent;

/// A proxy in a chain: talks to its [`Conductor`], and through it to the client before it and
/// the agent after it (its peers [`Client`] and [`Agent`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Proxy;

/// The conductor of a proxy chain, as its proxies see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Conductor;

impl Role for Client {
    type Counterpart = Agent;

    fn counterpart(&self) -> Agent {
        Agent
    }

    fn cancellation(&self) -> Cancellation {
        CANCELLATION
    }

    /// An `mcp/message` request no attached server claimed is answered
    /// [`unknown_server`](crate::mcp_over_acp::unknown_server), naming the `serverId`.
    #[cfg(feature = "unstable_mcp_over_acp")]
    async fn default_dispatch(
        &self,
        dispatch: Dispatch,
        _cx: ConnectionTo<Agent>,
    ) -> Result<(), Error> {
        use crate::mcp_over_acp::{is_mcp_message, server_id_of, unknown_server};
        match dispatch {
            Dispatch::Request(request, responder) if is_mcp_message(request.method()) => {
                match server_id_of(&request) {
                    Some(id) => responder.respond_with_error(unknown_server(&id)),
                    None => responder.respond_with_error(Error::invalid_params(
                        "`mcp/message` without a string `serverId`",
                    )),
                }
            }
            other => switchboard::role::unclaimed(other).await,
        }
    }
}

/// A request for a session that no session handler claimed is answered with ACP's
/// resource-not-found ([`session_not_found`]), not -32601: the method exists, the session
/// does not (any more). Everything else unclaimed gets the core's treatment.
impl Role for Agent {
    type Counterpart = Client;

    fn counterpart(&self) -> Client {
        Client
    }

    fn cancellation(&self) -> Cancellation {
        CANCELLATION
    }

    async fn default_dispatch(
        &self,
        dispatch: Dispatch,
        _cx: ConnectionTo<Client>,
    ) -> Result<(), Error> {
        match dispatch {
            Dispatch::Request(request, responder) => match session_of(&request) {
                Some(session) => responder.respond_with_error(session_not_found(&session)),
                None => switchboard::role::unclaimed(Dispatch::Request(request, responder)).await,
            },
            other => switchboard::role::unclaimed(other).await,
        }
    }
}

/// ACP's cancel convention, which every ACP role speaks: `$/cancel_request`
/// `{"requestId": id}`, and the cancelled request is still answered (-32800 unless its handler
/// finished first).
pub const CANCELLATION: Cancellation =
    Cancellation::notification(crate::schema::PROTOCOL_LEVEL_METHOD_NAMES.cancel_request);

/// ACP's error code for a resource that does not exist: a session, say.
pub const RESOURCE_NOT_FOUND: i32 = -32002;

/// The error for a request about session `id` that this agent does not have: -32002, with
/// `{"sessionId": id}` as data.
///
/// ```
/// let error = switchboard_acp::role::session_not_found("s-9");
/// assert_eq!(error.code(), -32002);
/// assert_eq!(error.data().unwrap()["sessionId"], "s-9");
/// ```
pub fn session_not_found(id: &str) -> Error {
    Error::new(RESOURCE_NOT_FOUND, format!("no session `{id}`"))
        .with_data(serde_json::json!({ "sessionId": id }))
}

/// The session a request of the protocol (not an extension) is about, if it names one.
fn session_of(request: &UntypedMessage) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct SessionScoped {
        #[serde(rename = "sessionId")]
        session_id: String,
    }
    let method = request.method();
    let known =
        <crate::schema::ClientRequest as switchboard::JsonRpcMessage<Client>>::matches_method(
            method,
        ) && !method.starts_with('_');
    if !known {
        return None;
    }
    request
        .parse_params::<SessionScoped>()
        .ok()
        .map(|scoped| scoped.session_id)
}

/// A proxy passes on, in order, whatever its handlers did not claim: see
/// [`proxy::forward_unclaimed`](crate::proxy::forward_unclaimed).
impl Role for Proxy {
    type Counterpart = Conductor;

    fn counterpart(&self) -> Conductor {
        Conductor
    }

    fn cancellation(&self) -> Cancellation {
        CANCELLATION
    }

    async fn default_dispatch(
        &self,
        dispatch: Dispatch,
        cx: ConnectionTo<Conductor>,
    ) -> Result<(), Error> {
        // Waits while the queue to the conductor is full, instead of dropping what comes:
        // the conductor is then read no further until it takes what is queued.
        cx.writable().await;
        crate::proxy::forward_unclaimed(dispatch, &cx)
    }
}

impl Role for Conductor {
    type Counterpart = Proxy;

    fn counterpart(&self) -> Proxy {
        Proxy
    }

    fn cancellation(&self) -> Cancellation {
        CANCELLATION
    }
}

impl Client {
    /// Starts building a client connection (see the type's docs for what it starts with).
    pub fn builder(self) -> Builder<Client, Chain<NullHandler, ParkSessionUpdates>> {
        Builder::new(self).with_handler(ParkSessionUpdates)
    }
}

impl Agent {
    /// Starts building an agent connection, gated on `initialize`.
    pub fn builder(self) -> Builder<Agent, Chain<NullHandler, InitializeGate>> {
        Builder::new(self).with_handler(InitializeGate::default())
    }
}

impl Proxy {
    /// Starts building a proxy's connection to its conductor.
    pub fn builder(self) -> Builder<Proxy> {
        Builder::new(self)
    }
}

impl Conductor {
    /// Starts building the conductor's side of a connection to one proxy.
    pub fn builder(self) -> Builder<Conductor> {
        Builder::new(self)
    }
}

/// The agent side of a proxy: its messages travel inside `proxy/successor`.
impl HasPeer<Agent> for Conductor {
    fn wrap_for_peer(
        &self,
        _peer: &Agent,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, Error> {
        crate::proxy::wrap_successor(message)
    }

    fn unwrap_from_peer(
        &self,
        _peer: &Agent,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, UntypedMessage> {
        crate::proxy::unwrap_successor(message)
    }
}

/// The client side of a proxy: its messages travel as they are, except that the chain opens
/// the proxy with `proxy/initialize`, which its handlers see as the client's `initialize`.
impl HasPeer<Client> for Conductor {
    fn wrap_for_peer(
        &self,
        _peer: &Client,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, Error> {
        Ok(message)
    }

    fn unwrap_from_peer(
        &self,
        _peer: &Client,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, UntypedMessage> {
        match message.method() {
            crate::proxy::SUCCESSOR_METHOD => Err(message),
            // How the chain opens a proxy; to the proxy's handlers, its client initializes.
            crate::proxy::PROXY_INITIALIZE_METHOD => Ok(crate::proxy::as_initialize(message)),
            _ => Ok(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_wrapping_round_trips_and_keeps_the_sides_apart() {
        let prompt =
            UntypedMessage::new("session/prompt", serde_json::json!({"sessionId": "s"})).unwrap();
        let wrapped = Conductor.wrap_for_peer(&Agent, prompt.clone()).unwrap();
        assert_eq!(wrapped.method(), "proxy/successor");
        assert_eq!(
            wrapped.params_value().unwrap(),
            serde_json::json!({"method": "session/prompt", "params": {"sessionId": "s"}})
        );
        assert!(
            Conductor
                .unwrap_from_peer(&Client, wrapped.clone())
                .is_err()
        );
        assert_eq!(Conductor.unwrap_from_peer(&Agent, wrapped).unwrap(), prompt);
        assert!(Conductor.unwrap_from_peer(&Agent, prompt.clone()).is_err());
        assert_eq!(
            Conductor.unwrap_from_peer(&Client, prompt.clone()).unwrap(),
            prompt
        );
    }

    #[test]
    fn the_client_side_sees_proxy_initialize_as_initialize() {
        let opening = UntypedMessage::new(
            "proxy/initialize",
            serde_json::json!({"protocolVersion": 1}),
        )
        .unwrap();
        let seen = Conductor.unwrap_from_peer(&Client, opening).unwrap();
        assert_eq!(seen.method(), "initialize");
        assert_eq!(
            seen.params_value().unwrap(),
            serde_json::json!({"protocolVersion": 1})
        );
    }

    #[test]
    fn a_successor_message_without_params_keeps_none() {
        let bare = UntypedMessage::from_raw("ping".into(), None);
        let wrapped = Conductor.wrap_for_peer(&Agent, bare.clone()).unwrap();
        assert_eq!(
            wrapped.params_value().unwrap(),
            serde_json::json!({"method": "ping"})
        );
        assert_eq!(Conductor.unwrap_from_peer(&Agent, wrapped).unwrap(), bare);
    }
}
