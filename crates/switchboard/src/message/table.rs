//! Making another crate's types messages: the [`message_table!`](crate::message_table) macro
//! and the serde helpers it expands to.
//!
//! A protocol crate usually takes its types from a schema crate it does not own, so it cannot
//! derive our traits on them. Rust still lets it implement them, because [`JsonRpcMessage`](crate::JsonRpcMessage)
//! takes the counterpart role as a parameter and the protocol's roles are its own types. The
//! macro writes those impls from one table: each type with its method and, for requests, its
//! answer type. Params are written and read with serde; an optional check runs on every value
//! read, so a protocol can refuse params that parse but break its rules (-32602).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{UntypedMessage, parse_json};
use crate::Error;

/// Writes `params` as compact JSON into `out`.
pub fn write_serde<T: Serialize + ?Sized>(params: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    serde_json::to_writer(out, params).map_err(Error::serialization)
}

/// Reads `T` from the params of `message`: -32602 naming the field when they do not fit.
/// Absent params are read as `{}` (or as `null`, for types that want that, such as unit
/// structs).
pub fn parse_serde<T: DeserializeOwned>(message: &UntypedMessage) -> Result<T, Error> {
    match message.params() {
        Some(params) => params.parse(),
        None => match parse_json::<T>("{}", |detail| Error::invalid_params(detail)) {
            Ok(value) => Ok(value),
            Err(error) => serde_json::from_str("null").map_err(|_| error),
        },
    }
}

/// The check of a table that names none: every value that parses is accepted.
pub fn accept<T>(_value: &T) -> Result<(), Error> {
    Ok(())
}

/// Declares types of any crate as messages of some roles: requests with their method and
/// answer type, notifications with their method.
///
/// `roles` are the counterpart roles the messages travel to and from (a connection built for
/// role `R` sends and receives messages of `R::Counterpart`); list every role of the protocol
/// so each side can both send and handle them. A method is any `&'static str` expression, such
/// as a schema crate's constant. `check`, if given, is a function `fn(&T) -> Result<(), Error>`
/// (it may be generic) run on every value read: return
/// [`Error::invalid_params`](crate::Error::invalid_params) to refuse one. Attributes such as
/// `#[cfg(...)]` may precede an entry.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use switchboard::{Builder, Channel, ConnectionTo, Dispatch, Error, Role};
///
/// // Stand-ins for a schema crate's types, which this crate could not derive on.
/// mod schema {
///     use serde::{Deserialize, Serialize};
///     #[derive(Serialize, Deserialize)]
///     pub struct Ping { pub n: u32 }
///     #[derive(Serialize, Deserialize)]
///     pub struct Pong { pub n: u32 }
///     #[derive(Serialize, Deserialize)]
///     pub struct Log { pub line: String }
///     pub const PING: &str = "ping";
/// }
///
/// // The protocol's two roles.
/// #[derive(Clone, Copy, Debug)]
/// struct Asker;
/// #[derive(Clone, Copy, Debug)]
/// struct Answerer;
/// impl Role for Asker {
///     type Counterpart = Answerer;
///     fn counterpart(&self) -> Answerer { Answerer }
/// }
/// impl Role for Answerer {
///     type Counterpart = Asker;
///     fn counterpart(&self) -> Asker { Asker }
/// }
///
/// fn small(ping: &schema::Ping) -> Result<(), Error> {
///     if ping.n > 100 { Err(Error::invalid_params("n: at most 100")) } else { Ok(()) }
/// }
///
/// switchboard::message_table! {
///     roles: [Asker, Answerer],
///     requests: {
///         schema::Ping = schema::PING => schema::Pong,
///     },
///     notifications: {
///         schema::Log = "log",
///     },
/// }
/// # // A second table, with a check, for other types.
/// # mod checked {
/// #     #[derive(serde::Serialize, serde::Deserialize)]
/// #     pub struct Big { pub n: u32 }
/// #     pub fn small(big: &Big) -> Result<(), switchboard::Error> {
/// #         if big.n > 100 { Err(switchboard::Error::invalid_params("n")) } else { Ok(()) }
/// #     }
/// # }
/// # switchboard::message_table! {
/// #     roles: [Asker],
/// #     check: checked::small,
/// #     requests: { checked::Big = "big" => u32 },
/// #     notifications: {},
/// # }
/// # let _ = small;
///
/// # futures::executor::block_on(async {
/// let (asker_end, answerer_end) = Channel::duplex();
/// let answerer = Answerer.builder().on_receive_request(
///     async |ping: schema::Ping, responder, _cx| responder.respond(schema::Pong { n: ping.n + 1 }),
/// );
/// let asker = Asker.builder().connect_with(asker_end, async |cx: ConnectionTo<Answerer>| {
///     let pong = cx.send_request(schema::Ping { n: 41 }).block_task().await?;
///     Ok::<_, Error>(pong.n)
/// });
/// let (n, served) = futures::join!(asker, answerer.connect_to(answerer_end));
/// assert_eq!(n.unwrap(), 42);
/// served.unwrap();
/// # });
/// ```
#[macro_export]
macro_rules! message_table {
    (
        roles: [$($role:ty),+ $(,)?],
        check: $check:path,
        requests: $requests:tt,
        notifications: $notifications:tt $(,)?
    ) => {
        $( $crate::message_table!(@role $role, [$check], $requests, $notifications); )+
    };
    (
        roles: [$($role:ty),+ $(,)?],
        requests: $requests:tt,
        notifications: $notifications:tt $(,)?
    ) => {
        $(
            $crate::message_table!(
                @role $role, [$crate::message::table::accept], $requests, $notifications
            );
        )+
    };
    (@role $role:ty, [$check:path],
        { $( $(#[$request_attr:meta])* $request:ty = $request_method:expr => $response:ty ),* $(,)? },
        { $( $(#[$notification_attr:meta])* $notification:ty = $notification_method:expr ),* $(,)? }
    ) => {
        $(
            $(#[$request_attr])*
            $crate::message_table!(@message $role, [$check], $request, $request_method);
            $(#[$request_attr])*
            impl $crate::JsonRpcRequest<$role> for $request {
                type Response = $response;
            }
        )*
        $(
            $(#[$notification_attr])*
            $crate::message_table!(@message $role, [$check], $notification, $notification_method);
            $(#[$notification_attr])*
            impl $crate::JsonRpcNotification<$role> for $notification {}
        )*
    };
    (@message $role:ty, [$check:path], $ty:ty, $method:expr) => {
        impl $crate::JsonRpcMessage<$role> for $ty {
            fn matches_method(method: &str) -> bool {
                method == $method
            }

            fn method(&self) -> &str {
                $method
            }

            fn write_params(&self, out: &mut ::std::vec::Vec<u8>) -> ::std::result::Result<(), $crate::Error> {
                $crate::message::table::write_serde(self, out)
            }

            fn from_untyped(
                message: $crate::UntypedMessage,
            ) -> ::std::result::Result<Self, $crate::Error> {
                let value: Self = $crate::message::table::parse_serde(&message)?;
                $check(&value)?;
                ::std::result::Result::Ok(value)
            }
        }
    };
}
