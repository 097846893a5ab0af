//! Messages: the traits a type implements to travel over a connection, and the untyped forms.
//!
//! A message type knows its method name, how to write its params and how to read itself back
//! from an [`UntypedMessage`]. The derive macros ([`JsonRpcRequest`](macro@crate::JsonRpcRequest),
//! [`JsonRpcNotification`](macro@crate::JsonRpcNotification),
//! [`JsonRpcResponse`](macro@crate::JsonRpcResponse)) write these impls for structs and enums.

mod dispatch;
mod id;
mod raw;
mod untyped;

pub use dispatch::{Dispatch, Typed};
pub use id::RequestId;
pub use raw::RawJson;
pub use untyped::UntypedMessage;

pub(crate) use raw::parse_json;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// A message that can be sent or received: a request or a notification.
///
/// One type may stand for several methods: an enum whose variants each hold a message type
/// matches any of their methods. That is how a handler takes "any of these requests".
pub trait JsonRpcMessage: Send + Sized + 'static {
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
pub trait JsonRpcRequest: JsonRpcMessage {
    /// The type of a successful answer.
    type Response: JsonRpcResponse;
}

/// A notification: a message that is never answered.
pub trait JsonRpcNotification: JsonRpcMessage {}

/// The result of a successful request.
///
/// Any `Serialize + DeserializeOwned` type can be a response; the derive
/// ([`JsonRpcResponse`](macro@crate::JsonRpcResponse)) marks it so.
pub trait JsonRpcResponse: Serialize + DeserializeOwned + Send + 'static {
    /// Writes the result as JSON into `out`, on one line (compact JSON, as serde_json writes
    /// it).
    fn write_result(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        serde_json::to_writer(out, self).map_err(Error::serialization)
    }

    /// Reads the result from the raw JSON of a response.
    fn from_result(result: &RawJson) -> Result<Self, Error> {
        parse_json(result.get(), |detail| {
            Error::serialization(format_args!(
                "the response does not fit the expected type: {detail}"
            ))
        })
    }

    /// The answer as raw JSON (used to pass a typed answer on through a
    /// [`ResponseRouter`](crate::ResponseRouter)).
    fn into_raw(self) -> Result<RawJson, Error> {
        RawJson::from_serialize(&self)
    }
}

impl JsonRpcResponse for serde_json::Value {}
impl JsonRpcResponse for () {}
impl JsonRpcResponse for String {}
impl JsonRpcResponse for bool {}
impl JsonRpcResponse for i64 {}
impl JsonRpcResponse for u64 {}
impl<T: JsonRpcResponse> JsonRpcResponse for Vec<T> {}
impl<T: JsonRpcResponse> JsonRpcResponse for Option<T> {}

impl JsonRpcResponse for RawJson {
    fn write_result(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.write_one_line(out);
        Ok(())
    }

    fn from_result(result: &RawJson) -> Result<Self, Error> {
        Ok(result.clone())
    }

    fn into_raw(self) -> Result<RawJson, Error> {
        Ok(self)
    }
}

/// A message type with no values: matches no method.
///
/// Use it where a typed dispatch should take only requests (`Dispatch<MyRequests, NoMessage>`)
/// or only notifications (`Dispatch<NoMessage, MyNotifications>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMessage {}

impl JsonRpcMessage for NoMessage {
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

impl JsonRpcRequest for NoMessage {
    type Response = ();
}

impl JsonRpcNotification for NoMessage {}

/// Support code for the derive macros. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use serde_json;

    /// Writes `params` with serde.
    pub fn write_serde<T: Serialize + ?Sized>(params: &T, out: &mut Vec<u8>) -> Result<(), Error> {
        serde_json::to_writer(out, params).map_err(Error::serialization)
    }

    /// Reads `T` from the params of `message`. Absent params are read as `{}` (or as `null`
    /// for types that want that, such as unit structs).
    pub fn parse_serde<T: DeserializeOwned>(message: &UntypedMessage) -> Result<T, Error> {
        match message.params() {
            Some(params) => params.parse(),
            None => match parse_json::<T>("{}", |detail| Error::invalid_params(detail)) {
                Ok(value) => Ok(value),
                Err(error) => serde_json::from_str("null").map_err(|_| error),
            },
        }
    }

    /// The error an enum of messages returns when no variant takes the method.
    pub fn no_variant(method: &str) -> Error {
        Error::method_not_found(method)
    }
}
