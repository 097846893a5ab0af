//! Proxies: components between a client and an agent that see, change, answer or add
//! messages in both directions.
//!
//! A proxy runs under a conductor, which starts the chain `client ⇄ proxy₁ ⇄ … ⇄ agent` and
//! shows the client one agent. Each proxy has one connection, to the conductor (role
//! [`Proxy`], counterpart [`Conductor`]), and on it two parties, its peers:
//!
//! - the **client side** ([`Client`]): what comes from it and goes to it travels as it is;
//! - the **agent side** ([`Agent`], the proxy's *successor*): what goes to it and comes from
//!   it travels inside a `proxy/successor` envelope, `{"method": ..., "params": ...}`, as
//!   the proxy-chain protocol of ACP (the schema's `unstable_proxy_chains`) defines.
//!
//! The conductor opens a proxy with `proxy/initialize` (the params and answer of
//! `initialize`), which the proxy passes on to its successor as `initialize`. Handlers for
//! the client side see it as the client's `initialize`, so a proxy that changes what the
//! chain says it can do handles [`InitializeRequest`](crate::schema::InitializeRequest)
//! from [`Client`] like any other request.
//!
//! Register handlers per side with
//! [`on_receive_request_from`](switchboard::Builder::on_receive_request_from) and friends, and
//! send per side with [`send_request_to`](switchboard::ConnectionTo::send_request_to). What no
//! handler claims is passed on by [`forward_unclaimed`], in the order it arrived: a proxy
//! with no handlers at all is transparent. A cancelled request (`$/cancel_request`) that was
//! forwarded, by default or with
//! [`forward_response_to`](switchboard::SentRequest::forward_response_to), cancels the request
//! it was forwarded as, so cancellation travels hop by hop.
//!
//! A proxy that adds a line to every prompt, tested against a conductor played by hand:
//!
//! ```
//! use switchboard::{Channel, UntypedMessage};
//! use switchboard_acp::schema::{ContentBlock, PromptRequest};
//! use switchboard_acp::{Agent, Client, Conductor, Proxy};
//!
//! # futures::executor::block_on(async {
//! let proxy = Proxy.builder().on_receive_request_from(
//!     Client,
//!     async |mut prompt: PromptRequest, responder, cx| {
//!         prompt.prompt.insert(0, ContentBlock::from("Answer briefly."));
//!         cx.send_request_to(Agent, prompt).forward_response_to(responder);
//!         Ok(())
//!     },
//! );
//! // The conductor's side: it sends a prompt from the client, and answers what the proxy
//! // sends on to its successor, with what it saw in the answer's `_meta`.
//! let (conductor_end, proxy_end) = Channel::duplex();
//! let conductor = Conductor.builder().on_receive_request(
//!     async |wrapped: UntypedMessage, responder, _cx| {
//!         let seen = wrapped.params_value()?;
//!         responder.respond(serde_json::json!({"stopReason": "end_turn", "_meta": {"seen": seen}}))
//!     },
//! );
//! let seen = conductor.connect_with(conductor_end, async |cx| {
//!     let prompt = PromptRequest::new("s-1", vec![ContentBlock::from("hello")]);
//!     let prompt = UntypedMessage::new("session/prompt", prompt)?;
//!     cx.send_request(prompt).block_task().await
//! });
//! let (seen, _) = futures::join!(seen, proxy.connect_to(proxy_end));
//! let seen = &seen.unwrap()["_meta"]["seen"];
//! assert_eq!(seen["method"], "session/prompt");
//! assert_eq!(seen["params"]["prompt"][0]["text"], "Answer briefly.");
//! assert_eq!(seen["params"]["prompt"][1]["text"], "hello");
//! # });
//! ```

use switchboard::{ConnectionTo, Dispatch, Error, UntypedMessage};

use crate::role::{Agent, Conductor};
#[cfg(doc)]
use crate::role::{Client, Proxy};

/// The method that carries a message to or from a proxy's successor.
pub const SUCCESSOR_METHOD: &str = "proxy/successor";

/// The method that opens a proxy: `initialize`, for a component with a successor.
pub const PROXY_INITIALIZE_METHOD: &str = "proxy/initialize";

/// The method that opens an agent.
pub const INITIALIZE_METHOD: &str = "initialize";

/// Puts `message` in a `proxy/successor` envelope.
///
/// ```
/// use switchboard::UntypedMessage;
/// use switchboard_acp::proxy::{unwrap_successor, wrap_successor};
///
/// let prompt = UntypedMessage::new("session/prompt", serde_json::json!({"sessionId": "s"})).unwrap();
/// let wrapped = wrap_successor(prompt.clone()).unwrap();
/// assert_eq!(wrapped.method(), "proxy/successor");
/// assert_eq!(
///     wrapped.params_value().unwrap(),
///     serde_json::json!({"method": "session/prompt", "params": {"sessionId": "s"}})
/// );
/// assert_eq!(unwrap_successor(wrapped).unwrap(), prompt);
/// ```
pub fn wrap_successor(message: UntypedMessage) -> Result<UntypedMessage, Error> {
    // The carried params are neither parsed nor rebuilt on the way through. The envelope's
    // own `_meta` is hop-local, so it is neither read nor written.
    let envelope = message.to_carried()?;
    Ok(UntypedMessage::from_raw(
        SUCCESSOR_METHOD.to_owned(),
        Some(envelope),
    ))
}

/// Takes the message out of a `proxy/successor` envelope. Anything else, including an
/// envelope without a string `method`, comes back unchanged as the error.
pub fn unwrap_successor(message: UntypedMessage) -> Result<UntypedMessage, UntypedMessage> {
    if message.method() != SUCCESSOR_METHOD {
        return Err(message);
    }
    // Given back as it was: the method is the envelope's.
    let unchanged = |envelope| UntypedMessage::from_raw(SUCCESSOR_METHOD.to_owned(), envelope);
    let Some(envelope) = message.into_params() else {
        return Err(unchanged(None));
    };
    // The carried message stays in the frame the envelope came in: nothing is copied.
    UntypedMessage::from_carried(envelope).map_err(|envelope| unchanged(Some(envelope)))
}

/// Renames `initialize` to `proxy/initialize`, as a conductor does for a component that has a
/// successor; any other message is returned as it is.
pub fn as_proxy_initialize(message: UntypedMessage) -> UntypedMessage {
    rename(message, INITIALIZE_METHOD, PROXY_INITIALIZE_METHOD)
}

/// Renames `proxy/initialize` back to `initialize`; any other message is returned as it is.
pub fn as_initialize(message: UntypedMessage) -> UntypedMessage {
    rename(message, PROXY_INITIALIZE_METHOD, INITIALIZE_METHOD)
}

fn rename(message: UntypedMessage, from: &str, to: &str) -> UntypedMessage {
    if message.method() != from {
        return message;
    }
    let (_, params) = message.into_parts();
    UntypedMessage::from_raw(to.to_owned(), params)
}

/// What a proxy does with a message none of its handlers claimed (the [`Proxy`] role's
/// default): passes it on, at once and so in arrival order.
///
/// - From the agent side (`proxy/successor`): unwrapped, and sent to the client side as it is.
/// - `proxy/initialize`: sent to the agent side as `initialize`; the answer comes back
///   unchanged.
/// - Anything else, from the client side: sent to the agent side.
///
/// A forwarded request's answer, result or error, comes back unchanged, and cancelling the
/// request cancels the forwarded one. A `proxy/successor` request that carries no message is
/// answered -32602.
pub fn forward_unclaimed(dispatch: Dispatch, cx: &ConnectionTo<Conductor>) -> Result<(), Error> {
    match dispatch.method() {
        None => cx.send_proxied_message(dispatch),
        Some(SUCCESSOR_METHOD) => {
            let unwrapped = dispatch.map(|message| {
                unwrap_successor(message).map_err(|_| {
                    Error::invalid_params(
                        "`proxy/successor` needs params {\"method\": string, \"params\"?: ...}",
                    )
                })
            })?;
            // The client side's messages travel as they are.
            cx.send_proxied_message(unwrapped)
        }
        Some(PROXY_INITIALIZE_METHOD) => {
            let renamed = dispatch
                .map(|message| Ok(rename(message, PROXY_INITIALIZE_METHOD, INITIALIZE_METHOD)))?;
            cx.send_proxied_message_to(Agent, renamed)
        }
        Some(_) => cx.send_proxied_message_to(Agent, dispatch),
    }
}
