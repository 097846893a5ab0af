//! Peers: parties a connection reaches *through* its counterpart.
//!
//! Some roles talk to more than one party over one transport. A proxy in a chain, for one,
//! talks to the client before it and to the agent after it, both through the conductor at
//! the other end of its stdio. The counterpart relays; how it tells the parties apart on the
//! wire is its own convention, so the counterpart role implements [`HasPeer`] once per peer:
//! how to wrap a message for that peer, and how to recognise (and unwrap) one from it.
//!
//! With that, handlers can be registered per peer
//! ([`Builder::on_receive_request_from`](crate::Builder::on_receive_request_from) and
//! friends) and messages sent to one
//! ([`ConnectionTo::send_request_to`](crate::ConnectionTo::send_request_to),
//! [`ConnectionTo::send_notification_to`](crate::ConnectionTo::send_notification_to)).
//! Responses need no wrapping: a request keeps its id on the connection, so its answer comes
//! back as the answer to the wrapped request.
//!
//! A relay that tells its one peer apart by a method prefix:
//!
//! ```
//! use switchboard::peer::HasPeer;
//! use switchboard::{Channel, Error, Role, UntypedMessage};
//!
//! /// Relays for [`Far`]; its counterpart is [`Near`].
//! #[derive(Clone, Copy, Debug)]
//! struct Relay;
//! /// Talks to the relay, and through it to [`Far`].
//! #[derive(Clone, Copy, Debug)]
//! struct Near;
//! /// The party behind the relay.
//! #[derive(Clone, Copy, Debug)]
//! struct Far;
//!
//! impl Role for Relay {
//!     type Counterpart = Near;
//!     fn counterpart(&self) -> Near { Near }
//! }
//! impl Role for Near {
//!     type Counterpart = Relay;
//!     fn counterpart(&self) -> Relay { Relay }
//! }
//! impl HasPeer<Far> for Relay {
//!     fn wrap_for_peer(&self, _: &Far, message: UntypedMessage) -> Result<UntypedMessage, Error> {
//!         let (method, params) = message.into_parts();
//!         Ok(UntypedMessage::from_raw(format!("far/{method}"), params))
//!     }
//!     fn unwrap_from_peer(&self, _: &Far, message: UntypedMessage) -> Result<UntypedMessage, UntypedMessage> {
//!         match message.method().strip_prefix("far/").map(str::to_owned) {
//!             Some(method) => Ok(UntypedMessage::from_raw(method, message.into_parts().1)),
//!             None => Err(message),
//!         }
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let (near_end, relay_end) = Channel::duplex();
//! // This relay answers with the method it saw on the wire.
//! let relay = Relay.builder().on_receive_request(
//!     async |request: UntypedMessage, responder, _cx| responder.respond(request.method().into()),
//! );
//! let seen = Near.builder().connect_with(near_end, async |cx| {
//!     cx.send_request_to(Far, UntypedMessage::new("ping", ())?).block_task().await
//! });
//! let (seen, served) = futures::join!(seen, relay.connect_to(relay_end));
//! assert_eq!(seen.unwrap(), "far/ping");
//! served.unwrap();
//! # });
//! ```
//!
//! The examples crate has a relay for two peers (`switchboard_examples::relay`), which the
//! tests and the book use.

use std::fmt;
use std::sync::Arc;

use crate::handler::{Handled, Handler};
use crate::message::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, UntypedMessage};
use crate::{ConnectionTo, Dispatch, Error, Role, SentRequest};

/// A role that relays messages between its counterpart and the peer `P`.
///
/// Implemented by the *counterpart* role: `ConnectionTo<Cp>` can reach `P` when
/// `Cp: HasPeer<P>`. The two methods must be inverses: unwrapping what
/// [`wrap_for_peer`](HasPeer::wrap_for_peer) made gives the original message back.
pub trait HasPeer<P>: Role
where
    P: fmt::Debug + Send + Sync + 'static,
{
    /// Turns a message meant for `peer` into the message sent to this role.
    fn wrap_for_peer(&self, peer: &P, message: UntypedMessage) -> Result<UntypedMessage, Error>;

    /// If `message` (received from this role) comes from `peer`, returns what `peer` sent;
    /// otherwise returns `message` unchanged as the error.
    fn unwrap_from_peer(
        &self,
        peer: &P,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, UntypedMessage>;
}

/// Offers `inner` only the messages that come from `peer`, unwrapped. Made by
/// [`Builder::on_receive_request_from`](crate::Builder::on_receive_request_from) and friends;
/// usable as a dynamic handler too.
#[derive(Debug)]
pub struct FromPeer<P, H> {
    peer: P,
    inner: H,
}

impl<P, H> FromPeer<P, H> {
    /// Wraps `inner` so that it sees only what `peer` sends.
    pub fn new(peer: P, inner: H) -> Self {
        FromPeer { peer, inner }
    }
}

impl<Cp, P, H> Handler<Cp> for FromPeer<P, H>
where
    Cp: HasPeer<P>,
    P: fmt::Debug + Send + Sync + 'static,
    H: Handler<Cp>,
{
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        let counterpart = cx.counterpart().clone();
        let unwrapped = match dispatch {
            Dispatch::Request(message, responder) => {
                match counterpart.unwrap_from_peer(&self.peer, message) {
                    Ok(inner) => Dispatch::Request(inner, responder),
                    Err(message) => return pass(Dispatch::Request(message, responder)),
                }
            }
            Dispatch::Notification(message) => {
                match counterpart.unwrap_from_peer(&self.peer, message) {
                    Ok(inner) => Dispatch::Notification(inner),
                    Err(message) => return pass(Dispatch::Notification(message)),
                }
            }
            response @ Dispatch::Response(..) => return pass(response),
        };
        match self.inner.handle(unwrapped, cx).await? {
            Handled::Yes => Ok(Handled::Yes),
            // Not wanted after all: the next handler gets the message as it arrived.
            Handled::No { message, retry } => Ok(Handled::No {
                message: message.map(|inner| counterpart.wrap_for_peer(&self.peer, inner))?,
                retry,
            }),
        }
    }
}

fn pass(message: Dispatch) -> Result<Handled<Dispatch>, Error> {
    Ok(Handled::pass(message))
}

impl<Cp: Role> ConnectionTo<Cp> {
    /// Sends a request to `peer` through the counterpart, wrapped the counterpart's way (see
    /// the [module's example](self)).
    pub fn send_request_to<P, M>(&self, peer: P, request: M) -> SentRequest<M::Response>
    where
        Cp: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        M: JsonRpcRequest<P>,
    {
        match JsonRpcMessage::<P>::into_untyped(request)
            .and_then(|message| self.counterpart().wrap_for_peer(&peer, message))
        {
            Ok(wrapped) => self.send_request_expecting::<M::Response, UntypedMessage, P>(&wrapped),
            Err(error) => SentRequest::failed(error, Arc::clone(&self.shared)),
        }
    }

    /// Sends a notification to `peer` through the counterpart, wrapped the counterpart's way.
    pub fn send_notification_to<P, M>(&self, peer: P, notification: M) -> Result<(), Error>
    where
        Cp: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        M: JsonRpcNotification<P>,
    {
        let message = JsonRpcMessage::<P>::into_untyped(notification)?;
        let wrapped = self.counterpart().wrap_for_peer(&peer, message)?;
        self.send_notification_as::<UntypedMessage, P>(&wrapped)
    }
}
