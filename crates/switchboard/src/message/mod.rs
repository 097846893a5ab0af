//! Messages: the traits a type implements to travel over a connection, and the untyped forms.
//!
//! A message type knows its method name, how to write its params and how to read itself back
//! from an [`UntypedMessage`]. The derive macros ([`JsonRpcRequest`](macro@crate::JsonRpcRequest),
//! [`JsonRpcNotification`](macro@crate::JsonRpcNotification),
//! [`JsonRpcResponse`](macro@crate::JsonRpcResponse)) write these impls for structs and enums;
//! [`message_table!`](crate::message_table) writes them for another crate's types (see
//! [`table`]).

mod carried;
mod dispatch;
mod id;
mod raw;
pub mod table;
mod untyped;

pub use dispatch::{Dispatch, Typed};
pub use id::RequestId;
pub use raw::RawJson;
pub use untyped::UntypedMessage;

pub(crate) use raw::parse_json;

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// A message that can be sent or received: a request or a notification.
///
/// One type may stand for several methods: an enum whose variants each hold a message type
/// matches any of their methods. That is how a handler takes "any of these requests".
///
/// `Cp` is the counterpart role of the connections the message travels on. The derive
/// macros implement the traits for every `Cp`, so a derived type works with any role. The
/// parameter exists for protocol crates: Rust lets a crate implement a trait of ours for a type
/// of a third crate (say, the official ACP schema types) only when one of the trait's
/// parameters is the crate's own type, and a protocol's roles are exactly that.
pub trait JsonRpcMessage<Cp>: Send + Sized + 'static {
    /// True when a message with this method can be read as `Self`.
    fn matches_method(method: &str) -> bool;

    /// The method name of this value.
    fn method(&self) -> &str;

    /// Writes the params as JSON into `out`, on one line (compact JSON, as serde_json writes
    /// it). A message without params writes `null`, and the `params` member is then left out
    /// of the frame.
    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error>;

    /// Reads `Self` from an untyped message whose method matched. Params that do not fit give
    /// -32602 naming the field.
    fn from_untyped(message: UntypedMessage) -> Result<Self, Error>;

    /// Turns this message into its untyped form (method and raw params).
    fn into_untyped(self) -> Result<UntypedMessage, Error> {
        let mut params = Vec::new();
        self.write_params(&mut params)?;
        let text = String::from_utf8(params).map_err(Error::serialization)?;
        let params = RawJson::from_string(text)?;
        let params = if params.is_null() { None } else { Some(params) };
        Ok(UntypedMessage::from_raw(self.method().to_owned(), params))
    }
}

/// A request: a message that expects exactly one answer of type `Self::Response`.
pub trait JsonRpcRequest<Cp>: JsonRpcMessage<Cp> {
    /// The type of a successful answer.
    type Response: JsonRpcResponse;
}

/// A notification: a message that is never answered.
pub trait JsonRpcNotification<Cp>: JsonRpcMessage<Cp> {}

/// The result of a successful request: any `Serialize + DeserializeOwned` type.
///
/// Implemented for every such type, so the result types of other crates work as they are.
/// [`RawJson`] passes through untouched: it is written as it is and read without a parse.
/// The derive ([`JsonRpcResponse`](macro@crate::JsonRpcResponse)) only checks that a type
/// qualifies.
pub trait JsonRpcResponse: Serialize + DeserializeOwned + Send + 'static {
    /// Writes the result as JSON into `out`, on one line (compact JSON, as serde_json writes
    /// it).
    fn write_result(&self, out: &mut Vec<u8>) -> Result<(), Error>;

    /// Reads the result from the raw JSON of a response.
    fn from_result(result: RawJson) -> Result<Self, Error>;

    /// The answer as raw JSON (used to pass a typed answer on through a
    /// [`ResponseRouter`](crate::router::ResponseRouter)).
    fn into_raw(self) -> Result<RawJson, Error>;
}

impl<T: Serialize + DeserializeOwned + Send + 'static> JsonRpcResponse for T {
    fn write_result(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if let Some(raw) = (self as &dyn Any).downcast_ref::<RawJson>() {
            raw.write_to(out);
            return Ok(());
        }
        serde_json::to_writer(out, self).map_err(Error::serialization)
    }

    fn from_result(result: RawJson) -> Result<Self, Error> {
        // A forwarded answer is taken as it is: no parse, no copy.
        let mut slot = Some(result);
        if let Some(raw) = (&mut slot as &mut dyn Any)
            .downcast_mut::<Option<T>>()
            .and_then(Option::take)
        {
            return Ok(raw);
        }
        let Some(result) = slot else {
            return Err(Error::internal_error("the answer was taken"));
        };
        parse_json(result.get(), |detail| {
            Error::serialization(format_args!(
                "the response does not fit the expected type: {detail}"
            ))
        })
    }

    fn into_raw(self) -> Result<RawJson, Error> {
        let mut slot = Some(self);
        if let Some(raw) = (&mut slot as &mut dyn Any)
            .downcast_mut::<Option<RawJson>>()
            .and_then(Option::take)
        {
            return Ok(raw);
        }
        // `Some(value)` serializes as the value itself.
        RawJson::from_serialize(&slot)
    }
}

/// A message type with no values: matches no method.
///
/// Use it where a typed dispatch should take only requests (`Dispatch<MyRequests, NoMessage>`)
/// or only notifications (`Dispatch<NoMessage, MyNotifications>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMessage {}

impl<Cp> JsonRpcMessage<Cp> for NoMessage {
    fn matches_method(_method: &str) -> bool {
        false
    }

    fn method(&self) -> &str {
        match *self {}
    }

    fn write_params(&self, _out: &mut Vec<u8>) -> Result<(), Error> {
        match *self {}
    }

    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        Err(Error::method_not_found(message.method()))
    }
}

impl<Cp> JsonRpcRequest<Cp> for NoMessage {
    type Response = ();
}

impl<Cp> JsonRpcNotification<Cp> for NoMessage {}

/// Support code for the derive macros. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use serde_json;

    pub use super::table::{parse_serde, write_serde};

    /// The error an enum of messages returns when no variant takes the method.
    pub fn no_variant(method: &str) -> Error {
        Error::method_not_found(method)
    }
}
