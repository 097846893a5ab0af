//! The one error type of Switchboard.
//!
//! Every failure, whether it came from the peer (an error response), from the wire (a frame
//! that is not JSON) or from this side (the connection closed while a request waited), is an
//! [`Error`] carrying a JSON-RPC code, a message and optional data. That way an error can always
//! be sent back to a peer unchanged, and a caller can always tell what happened by its code.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A JSON-RPC error: a code, a human-readable message and optional structured data.
///
/// Errors received from the peer keep their code, message and data exactly. Errors raised by
/// Switchboard itself use the JSON-RPC 2.0 codes where one fits and the codes in
/// [`codes`] otherwise, so they can be told apart with the `is_*` methods.
///
/// ```
/// use switchboard::Error;
///
/// let error = Error::invalid_params("missing field `text`").with_data(serde_json::json!({"field": "text"}));
/// assert_eq!(error.code(), -32602);
/// assert!(error.message().contains("missing field"));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub struct Error {
    code: i32,
    message: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
}

/// The error codes Switchboard uses.
///
/// The first five are JSON-RPC 2.0's own. `REQUEST_CANCELLED` is the code LSP and ACP use for a
/// cancelled request. The rest sit in the range JSON-RPC reserves for implementation-defined
/// errors (-32000 to -32099) and describe failures on this side of the connection.
pub mod codes {
    /// The frame is not valid JSON (or not valid UTF-8).
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON is not a valid JSON-RPC 2.0 message.
    pub const INVALID_REQUEST: i32 = -32600;
    /// No handler claimed the method.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// The params do not fit the method's type.
    pub const INVALID_PARAMS: i32 = -32602;
    /// The handler failed, panicked, or dropped the request without answering.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// The request was cancelled before it was answered.
    pub const REQUEST_CANCELLED: i32 = -32800;
    /// The connection closed before the answer arrived, or before the message could be sent.
    pub const CONNECTION_CLOSED: i32 = -32099;
    /// Reading from or writing to the transport failed.
    pub const TRANSPORT_ERROR: i32 = -32098;
    /// `SentRequest::block_task` was awaited inside the connection's own dispatch loop.
    pub const BLOCKED_DISPATCH_LOOP: i32 = -32097;
    /// The outgoing queue is full; wait with `ConnectionTo::writable` before sending more.
    pub const OUTGOING_QUEUE_FULL: i32 = -32096;
    /// A message could not be serialized, or a response could not be read as the expected type.
    pub const SERIALIZATION_ERROR: i32 = -32095;
    /// A task started with `spawn_critical` failed or panicked, which ends the connection.
    pub const TASK_FAILED: i32 = -32094;
    /// No answer came within the request's timeout; the request was cancelled.
    pub const TIMED_OUT: i32 = -32093;
    /// A command line could not be parsed into a program and its arguments.
    pub const INVALID_COMMAND: i32 = -32092;
    /// Starting, waiting for or killing a child process failed.
    pub const CHILD_PROCESS: i32 = -32091;
}

impl Error {
    /// An error with any code and message. Use this for application-defined errors.
    pub fn new(code: i32, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured data, replacing any data already there.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700: the frame is not valid JSON.
    pub fn parse_error(detail: impl fmt::Display) -> Self {
        Error::new(codes::PARSE_ERROR, format!("Parse error: {detail}"))
    }

    /// -32600: the JSON is not a valid JSON-RPC 2.0 message.
    pub fn invalid_request(detail: impl fmt::Display) -> Self {
        Error::new(codes::INVALID_REQUEST, format!("Invalid Request: {detail}"))
    }

    /// -32601: nothing handles this method.
    pub fn method_not_found(method: &str) -> Self {
        Error::new(
            codes::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
        .with_data(serde_json::json!({ "method": method }))
    }

    /// -32602: the params do not fit the method's type.
    pub fn invalid_params(detail: impl fmt::Display) -> Self {
        Error::new(codes::INVALID_PARAMS, format!("Invalid params: {detail}"))
    }

    /// -32603: something failed on the answering side.
    pub fn internal_error(detail: impl fmt::Display) -> Self {
        Error::new(codes::INTERNAL_ERROR, format!("Internal error: {detail}"))
    }

    /// -32800: the request was cancelled.
    pub fn request_cancelled() -> Self {
        Error::new(codes::REQUEST_CANCELLED, "Request cancelled")
    }

    /// No answer came within `after`; the request was cancelled.
    pub fn timed_out(after: std::time::Duration) -> Self {
        Error::new(
            codes::TIMED_OUT,
            format!("Timed out: no answer within {after:?}; the request was cancelled"),
        )
    }

    /// The connection closed; `why` says how (end of input, transport failure, ...).
    pub fn connection_closed(why: impl fmt::Display) -> Self {
        Error::new(
            codes::CONNECTION_CLOSED,
            format!("Connection closed: {why}"),
        )
    }

    /// Reading or writing the transport failed.
    pub fn transport(error: impl fmt::Display) -> Self {
        Error::new(codes::TRANSPORT_ERROR, format!("Transport error: {error}"))
    }

    /// A value could not be serialized or deserialized.
    pub fn serialization(error: impl fmt::Display) -> Self {
        Error::new(
            codes::SERIALIZATION_ERROR,
            format!("Serialization error: {error}"),
        )
    }

    /// A command line could not be parsed (an unterminated quote, nothing to run, ...);
    /// `detail` says what is wrong and where.
    pub fn invalid_command(detail: impl fmt::Display) -> Self {
        Error::new(codes::INVALID_COMMAND, format!("Invalid command: {detail}"))
    }

    /// Starting, waiting for or killing a child process failed; `detail` names the program.
    pub fn child_process(detail: impl fmt::Display) -> Self {
        Error::new(
            codes::CHILD_PROCESS,
            format!("Child process error: {detail}"),
        )
    }

    pub(crate) fn blocked_dispatch_loop() -> Self {
        Error::new(
            codes::BLOCKED_DISPATCH_LOOP,
            "block_task() was awaited inside a handler of the same connection. The answer can \
             only be read after the handler returns, so this would deadlock. Inside a handler, \
             use `on_receiving_result(..)`, `on_receiving_ok_result(..)` or \
             `forward_response_to(..)`, or move the waiting code into `cx.spawn(..)`.",
        )
    }

    pub(crate) fn outgoing_queue_full(limit: usize) -> Self {
        Error::new(
            codes::OUTGOING_QUEUE_FULL,
            format!(
                "Outgoing queue full ({limit} bytes waiting for the transport). The peer is not \
                 reading fast enough; await `cx.writable()` before sending more."
            ),
        )
    }

    /// The error's code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error's data, if any.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }

    /// True when the connection closed (or failed) before this operation could finish.
    pub fn is_connection_closed(&self) -> bool {
        matches!(self.code, codes::CONNECTION_CLOSED | codes::TRANSPORT_ERROR)
    }

    /// True for -32800, a cancelled request.
    pub fn is_cancelled(&self) -> bool {
        self.code == codes::REQUEST_CANCELLED
    }

    /// Whether this is [`codes::TIMED_OUT`]: no answer came in time.
    pub fn is_timeout(&self) -> bool {
        self.code == codes::TIMED_OUT
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(f, " data: {data}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::transport(error)
    }
}

impl From<jsonrpcmsg::Error> for Error {
    fn from(error: jsonrpcmsg::Error) -> Self {
        Error {
            code: error.code,
            message: error.message.into(),
            data: error.data,
        }
    }
}

impl From<Error> for jsonrpcmsg::Error {
    fn from(error: Error) -> Self {
        jsonrpcmsg::Error {
            code: error.code,
            message: error.message.into_owned(),
            data: error.data,
        }
    }
}

/// Shorthand for `Result<T, switchboard::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips_and_omits_missing_data() {
        let error = Error::method_not_found("nope");
        let text = serde_json::to_string(&error).unwrap();
        assert_eq!(
            text,
            r#"{"code":-32601,"message":"Method not found: nope","data":{"method":"nope"}}"#
        );
        let back: Error = serde_json::from_str(&text).unwrap();
        assert_eq!(back, error);

        let plain = serde_json::to_string(&Error::new(7, "x")).unwrap();
        assert_eq!(plain, r#"{"code":7,"message":"x"}"#);
    }

    #[test]
    fn jsonrpcmsg_conversion_keeps_everything() {
        let error = Error::new(-1, "app").with_data(serde_json::json!([1]));
        let other: jsonrpcmsg::Error = error.clone().into();
        assert_eq!(Error::from(other), error);
    }
}
