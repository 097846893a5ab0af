//! A message as method plus raw params.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

use super::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, RawJson};
use crate::Error;

/// Any request or notification, as its method name and raw params.
///
/// Handlers that take `UntypedMessage` see every method; its params stay raw JSON until you
/// read them with [`UntypedMessage::parse_params`] or [`UntypedMessage::params_value`].
///
/// ```
/// use switchboard::UntypedMessage;
///
/// let message = UntypedMessage::new("add", serde_json::json!({"a": 1, "b": 2})).unwrap();
/// assert_eq!(message.method(), "add");
/// assert_eq!(message.params().unwrap().get(), r#"{"a":1,"b":2}"#);
/// ```
#[derive(Clone)]
pub struct UntypedMessage {
    method: Method,
    params: Option<RawJson>,
}

/// Where a message's method name is kept.
#[derive(Clone)]
enum Method {
    Owned(String),
    /// In the frame the params were read from (see [`RawJson::frame`]), at this range: a
    /// message read from the wire keeps its frame whole rather than copying its parts out.
    InFrame(Range<usize>),
}

impl UntypedMessage {
    /// A message with `params` serialized. Params that serialize to `null` are left out.
    pub fn new(method: impl Into<String>, params: impl Serialize) -> Result<Self, Error> {
        let params = RawJson::from_serialize(&params)?;
        let params = if params.is_null() { None } else { Some(params) };
        Ok(UntypedMessage::from_raw(method.into(), params))
    }

    /// A message from its parts, params already raw.
    pub fn from_raw(method: String, params: Option<RawJson>) -> Self {
        UntypedMessage {
            method: Method::Owned(method),
            params,
        }
    }

    /// A message read from a frame: `params` keeps the frame, and `method` is where the
    /// method name sits in it. The params come back when that is not a pair of character
    /// boundaries within the frame (never, for a range the reader found).
    pub(crate) fn in_frame(method: Range<usize>, params: RawJson) -> Result<Self, RawJson> {
        if params.frame().get(method.clone()).is_none() {
            return Err(params);
        }
        Ok(UntypedMessage {
            method: Method::InFrame(method),
            params: Some(params),
        })
    }

    /// The method name.
    pub fn method(&self) -> &str {
        match &self.method {
            Method::Owned(method) => method,
            Method::InFrame(range) => framed(&self.params, range.clone()),
        }
    }

    /// The raw params, if the message had any.
    pub fn params(&self) -> Option<&RawJson> {
        self.params.as_ref()
    }

    /// The raw params, taken out; the method is dropped.
    pub fn into_params(self) -> Option<RawJson> {
        self.params
    }

    /// Takes the message apart.
    pub fn into_parts(self) -> (String, Option<RawJson>) {
        let UntypedMessage { method, params } = self;
        let method = match method {
            Method::Owned(method) => method,
            Method::InFrame(range) => framed(&params, range).to_owned(),
        };
        (method, params)
    }

    /// Reads the params as `T` (absent params are read as `{}`).
    pub fn parse_params<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        super::__private::parse_serde(self)
    }

    /// The params as a `serde_json::Value` (`Null` when absent).
    pub fn params_value(&self) -> Result<serde_json::Value, Error> {
        match &self.params {
            Some(params) => params.to_value(),
            None => Ok(serde_json::Value::Null),
        }
    }
}

/// The text at `range` in the frame `params` were read from. A message whose method is in
/// its frame always has params (`in_frame` takes them), so the empty string is never seen.
fn framed(params: &Option<RawJson>, range: Range<usize>) -> &str {
    params
        .as_ref()
        .and_then(|params| params.frame().get(range))
        .unwrap_or_default()
}

impl fmt::Debug for UntypedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntypedMessage")
            .field("method", &self.method())
            .field("params", &self.params)
            .finish()
    }
}

impl PartialEq for UntypedMessage {
    fn eq(&self, other: &Self) -> bool {
        self.method() == other.method() && self.params == other.params
    }
}

impl<Cp> JsonRpcMessage<Cp> for UntypedMessage {
    fn matches_method(_method: &str) -> bool {
        true
    }

    fn method(&self) -> &str {
        UntypedMessage::method(self)
    }

    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match &self.params {
            Some(params) => params.write_to(out),
            None => out.extend_from_slice(b"null"),
        }
        Ok(())
    }

    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        Ok(message)
    }

    fn into_untyped(self) -> Result<UntypedMessage, Error> {
        Ok(self)
    }
}

impl<Cp> JsonRpcRequest<Cp> for UntypedMessage {
    type Response = serde_json::Value;
}

impl<Cp> JsonRpcNotification<Cp> for UntypedMessage {}

impl TryFrom<UntypedMessage> for jsonrpcmsg::Params {
    type Error = Error;

    /// `jsonrpcmsg` params are an array or an object; anything else cannot be converted.
    fn try_from(message: UntypedMessage) -> Result<Self, Error> {
        match message.params_value()? {
            serde_json::Value::Array(items) => Ok(jsonrpcmsg::Params::Array(items)),
            serde_json::Value::Object(map) => Ok(jsonrpcmsg::Params::Object(map)),
            other => Err(Error::invalid_params(format_args!(
                "params must be an array or an object, not {other}"
            ))),
        }
    }
}

impl UntypedMessage {
    /// This message as a `jsonrpcmsg` request (a notification when `id` is `None`).
    pub fn to_jsonrpcmsg(
        &self,
        id: Option<crate::RequestId>,
    ) -> Result<jsonrpcmsg::Request, Error> {
        let params = match self.params {
            Some(_) => Some(jsonrpcmsg::Params::try_from(self.clone())?),
            None => None,
        };
        let id = id.map(jsonrpcmsg::Id::try_from).transpose()?;
        Ok(jsonrpcmsg::Request::new_v2(
            self.method().to_owned(),
            params,
            id,
        ))
    }

    /// Reads a `jsonrpcmsg` request's method and params.
    pub fn from_jsonrpcmsg(request: &jsonrpcmsg::Request) -> Result<Self, Error> {
        UntypedMessage::new(request.method.clone(), &request.params)
    }
}
