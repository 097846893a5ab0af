//! A message as method plus raw params.

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
#[derive(Clone, Debug, PartialEq)]
pub struct UntypedMessage {
    method: String,
    params: Option<RawJson>,
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
        UntypedMessage { method, params }
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The raw params, if the message had any.
    pub fn params(&self) -> Option<&RawJson> {
        self.params.as_ref()
    }

    /// Takes the message apart.
    pub fn into_parts(self) -> (String, Option<RawJson>) {
        (self.method, self.params)
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

impl<Cp> JsonRpcMessage<Cp> for UntypedMessage {
    fn matches_method(_method: &str) -> bool {
        true
    }

    fn method(&self) -> &str {
        &self.method
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
        Ok(jsonrpcmsg::Request::new_v2(self.method.clone(), params, id))
    }

    /// Reads a `jsonrpcmsg` request's method and params.
    pub fn from_jsonrpcmsg(request: &jsonrpcmsg::Request) -> Result<Self, Error> {
        UntypedMessage::new(request.method.clone(), &request.params)
    }
}
