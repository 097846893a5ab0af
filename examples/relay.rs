//! A plain JSON-RPC relay for two peers, for tests and the book: an endpoint of role
//! [`Member`] reaches [`Left`] and [`Right`] through its counterpart, a [`Relay`], which tells
//! them apart by the method prefixes `"left/"` and `"right/"`. It exercises the core's peers
//! (`switchboard::peer`) without a real protocol; a protocol crate declares its own roles the
//! same way.

use switchboard::peer::HasPeer;
use switchboard::{Error, Role, UntypedMessage};

/// A plain JSON-RPC role that relays for two peers, [`Left`] and [`Right`]: a message for a
/// peer travels with the peer's name before its method (`"left/ping"`), and a message
/// without either prefix is the relay's own. Its counterpart is [`Member`].
///
/// It exists to exercise peers without a real protocol; a protocol crate declares its own
/// roles and conventions the same way.
///
/// ```
/// use switchboard::peer::HasPeer;
/// use switchboard_examples::relay::{Left, Relay, Right};
/// use switchboard::UntypedMessage;
///
/// let message = UntypedMessage::new("ping", ()).unwrap();
/// let wrapped = Relay.wrap_for_peer(&Left, message.clone()).unwrap();
/// assert_eq!(wrapped.method(), "left/ping");
/// assert!(Relay.unwrap_from_peer(&Right, wrapped.clone()).is_err());
/// assert_eq!(Relay.unwrap_from_peer(&Left, wrapped).unwrap(), message);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Relay;

/// The role of an endpoint whose counterpart is a [`Relay`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Member;

/// One of the two peers behind a [`Relay`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Left;

/// The other of the two peers behind a [`Relay`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Right;

impl Role for Relay {
    type Counterpart = Member;

    fn counterpart(&self) -> Member {
        Member
    }
}

impl Role for Member {
    type Counterpart = Relay;

    fn counterpart(&self) -> Relay {
        Relay
    }
}

impl HasPeer<Left> for Relay {
    fn wrap_for_peer(
        &self,
        _peer: &Left,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, Error> {
        Ok(add_prefix("left/", message))
    }

    fn unwrap_from_peer(
        &self,
        _peer: &Left,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, UntypedMessage> {
        strip_prefix("left/", message)
    }
}

impl HasPeer<Right> for Relay {
    fn wrap_for_peer(
        &self,
        _peer: &Right,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, Error> {
        Ok(add_prefix("right/", message))
    }

    fn unwrap_from_peer(
        &self,
        _peer: &Right,
        message: UntypedMessage,
    ) -> Result<UntypedMessage, UntypedMessage> {
        strip_prefix("right/", message)
    }
}

fn add_prefix(prefix: &str, message: UntypedMessage) -> UntypedMessage {
    let (method, params) = message.into_parts();
    UntypedMessage::from_raw(format!("{prefix}{method}"), params)
}

fn strip_prefix(prefix: &str, message: UntypedMessage) -> Result<UntypedMessage, UntypedMessage> {
    match message.method().strip_prefix(prefix) {
        Some(inner) => {
            let inner = inner.to_owned();
            let (_, params) = message.into_parts();
            Ok(UntypedMessage::from_raw(inner, params))
        }
        None => Err(message),
    }
}
