//! Parsing one frame into what it carries.
//!
//! The frame is parsed exactly once. The envelope members (`jsonrpc`, `id`, `method`) are read;
//! `params`, `result` and `error` are only delimited and kept as raw JSON text, to be
//! deserialized later straight into the type a handler asks for.
//!
//! Every malformed input becomes an [`Incoming::Invalid`] carrying the answer JSON-RPC 2.0
//! prescribes (-32700 or -32600, with the request's id when it could be read, else `null`), or
//! an [`Incoming::Response`] carrying an error when a malformed answer can still be matched to
//! the request it answers. Nothing here panics or recurses without bound: serde_json stops at a
//! nesting depth of 128.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::Error;
use crate::message::{RawJson, RequestId, UntypedMessage};

/// One message read from a frame.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A request: to be dispatched and answered.
    Request {
        id: RequestId,
        message: UntypedMessage,
    },
    /// A notification: to be dispatched, never answered.
    Notification(UntypedMessage),
    /// An answer to one of our requests.
    Response {
        id: RequestId,
        result: Result<RawJson, Error>,
    },
    /// Not a valid message: answer `error` with `id` (`Null` when the id could not be read).
    Invalid { id: RequestId, error: Error },
    /// Not a valid message, and not one to answer (a malformed response): log and drop.
    Ignored { why: String },
}

/// What one frame held.
#[derive(Debug)]
pub(crate) enum Parsed {
    Single(Incoming),
    /// A JSON-RPC batch (a non-empty array), one entry per member.
    Batch(Vec<Incoming>),
}

/// Envelope members as raw slices of the frame. `Some` means the member was present, even
/// when its value is `null` (that difference matters for `id` and `result`).
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// Parses one frame.
pub(crate) fn parse_frame(frame: Vec<u8>) -> Parsed {
    let text = match String::from_utf8(frame) {
        Ok(text) => text,
        Err(error) => {
            return Parsed::Single(Incoming::Invalid {
                id: RequestId::Null,
                error: Error::parse_error(format_args!(
                    "the frame is not valid UTF-8 ({})",
                    error.utf8_error()
                )),
            });
        }
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => parse_batch(&text),
        _ => Parsed::Single(parse_value(text)),
    }
}

fn parse_batch(text: &str) -> Parsed {
    match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(members) if members.is_empty() => Parsed::Single(Incoming::Invalid {
            id: RequestId::Null,
            error: Error::invalid_request("empty batch"),
        }),
        Ok(members) => Parsed::Batch(
            members
                .into_iter()
                .map(|member| parse_value(member.get().to_owned()))
                .collect(),
        ),
        Err(error) => Parsed::Single(Incoming::Invalid {
            id: RequestId::Null,
            error: Error::parse_error(strip_position(&error)),
        }),
    }
}

/// Parses one JSON value that should be a request, notification or response object.
fn parse_value(text: String) -> Incoming {
    match super::fast_envelope::read(text) {
        Ok(incoming) => incoming,
        Err(text) => parse_value_in_full(&text),
    }
}

/// Reads any message, however unusual, and turns whatever is malformed into its answer.
pub(crate) fn parse_value_in_full(text: &str) -> Incoming {
    // serde's derive would also read a JSON array as the struct, member by member.
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => invalid(None, "a message must be a JSON object"),
            Err(error) => Incoming::Invalid {
                id: RequestId::Null,
                error: Error::parse_error(strip_position(&error)),
            },
        };
    }
    let envelope = match serde_json::from_str::<RawEnvelope<'_>>(text) {
        Ok(envelope) => envelope,
        Err(error) => return not_an_envelope(text, &error),
    };
    let id = match envelope.id.map(read_id) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return invalid(None, "the id must be an integer, a string or null");
        }
    };
    if envelope.method.is_some() {
        parse_call(envelope, id)
    } else if envelope.result.is_some() || envelope.error.is_some() {
        parse_response(envelope, id)
    } else {
        invalid(
            id,
            "a message needs a method (request, notification) or a result or error (response)",
        )
    }
}

/// The frame was JSON but did not fit an object with the envelope members, or was not JSON.
fn not_an_envelope(text: &str, error: &serde_json::Error) -> Incoming {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => Incoming::Invalid {
            id: RequestId::Null,
            error: Error::parse_error(strip_position(error)),
        },
        // Valid JSON of the wrong shape: a number, a string, duplicate members...
        Category::Data => {
            // ...but serde stops at the first problem it meets, so a repeated member is
            // reported even when the text goes on to be invalid JSON: a parse error all the same.
            if let Err(syntax) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Incoming::Invalid {
                    id: RequestId::Null,
                    error: Error::parse_error(strip_position(&syntax)),
                };
            }
            let what = match text.trim_start().as_bytes().first() {
                Some(b'{') => strip_position(error),
                _ => "a message must be a JSON object".to_owned(),
            };
            invalid(None, what)
        }
    }
}

/// A request or notification.
fn parse_call(envelope: RawEnvelope<'_>, id: Option<RequestId>) -> Incoming {
    if let Some(why) = check_version(envelope.jsonrpc) {
        return invalid(id, why);
    }
    let method = match envelope.method.map(read_str) {
        Some(Ok(method)) => method.into_owned(),
        _ => return invalid(id, "the method must be a string"),
    };
    if envelope.result.is_some() || envelope.error.is_some() {
        return invalid(id, "a request cannot carry a result or an error");
    }
    let params = match envelope.params {
        None => None,
        Some(raw) => match raw.get().as_bytes().first() {
            Some(b'{' | b'[') => Some(RawJson::from_boxed(raw.to_owned())),
            // `"params": null` is common in the wild and harmless: read it as absent.
            Some(b'n') => None,
            _ => return invalid(id, "params must be an object or an array"),
        },
    };
    let message = UntypedMessage::from_raw(method, params);
    match id {
        Some(id) => Incoming::Request { id, message },
        None => Incoming::Notification(message),
    }
}

/// A response. It can only be matched to a request by its id; a response with a usable id but
/// a broken body is still delivered (as an error) so that the request does not wait forever.
fn parse_response(envelope: RawEnvelope<'_>, id: Option<RequestId>) -> Incoming {
    let Some(id) = id else {
        return Incoming::Ignored {
            why: "a response without an id".to_owned(),
        };
    };
    if let Some(why) = check_version(envelope.jsonrpc) {
        return Incoming::Response {
            id,
            result: Err(Error::invalid_request(format_args!(
                "malformed response: {why}"
            ))),
        };
    }
    let result = match (envelope.result, envelope.error) {
        (Some(result), None) => Ok(RawJson::from_boxed(result.to_owned())),
        (None, Some(error)) => Err(match serde_json::from_str::<Error>(error.get()) {
            Ok(error) => error,
            Err(parse) => Error::internal_error(format_args!(
                "the peer answered with a malformed error object ({}): {}",
                strip_position(&parse),
                error.get()
            )),
        }),
        _ => Err(Error::invalid_request(
            "malformed response: it has both a result and an error",
        )),
    };
    Incoming::Response { id, result }
}

/// Reads an id. The usual one, a plain non-negative integer, is read directly; anything else
/// goes through `RequestId`'s own deserializer.
fn read_id(raw: &RawValue) -> Result<RequestId, serde_json::Error> {
    let text = raw.get();
    if !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && let Ok(n) = text.parse::<u64>()
    {
        return Ok(RequestId::from(n));
    }
    // `-0` is an integer in JSON's grammar, but serde_json reads it as the float -0.0 (to keep
    // its sign), which `RequestId` refuses. As an integer it is 0.
    if text == "-0" {
        return Ok(RequestId::Int(0));
    }
    serde_json::from_str(text)
}

/// Reads a JSON string. One without escapes is its own text between the quotes (the frame is
/// already known to be valid JSON), so only escaped strings are decoded.
fn read_str(raw: &RawValue) -> Result<Cow<'_, str>, serde_json::Error> {
    let text = raw.get();
    if let Some(inner) = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        && !inner.contains('\\')
        && !inner.contains('"')
    {
        return Ok(Cow::Borrowed(inner));
    }
    serde_json::from_str(text)
}

fn check_version(jsonrpc: Option<&RawValue>) -> Option<&'static str> {
    match jsonrpc.map(read_str) {
        Some(Ok(version)) if version == "2.0" => None,
        None => Some("the jsonrpc member is missing (it must be \"2.0\")"),
        _ => Some("the jsonrpc member must be \"2.0\""),
    }
}

fn invalid(id: Option<RequestId>, why: impl std::fmt::Display) -> Incoming {
    Incoming::Invalid {
        id: id.unwrap_or(RequestId::Null),
        error: Error::invalid_request(why),
    }
}

/// serde_json's "at line 1 column 5" is noise in a one-line frame; keep the column only.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} (at column {})", &text[..at], error.column()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(text: &str) -> Incoming {
        match parse_frame(text.as_bytes().to_vec()) {
            Parsed::Single(incoming) => incoming,
            Parsed::Batch(_) => panic!("{text} parsed as a batch"),
        }
    }

    fn invalid_code(text: &str) -> (RequestId, i32) {
        match single(text) {
            Incoming::Invalid { id, error } => (id, error.code()),
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    #[test]
    fn a_request_keeps_its_params_raw() {
        let Incoming::Request { id, message } =
            single(r#"{"jsonrpc":"2.0","id":"x","method":"m","params":{ "a" : [1, 2] }}"#)
        else {
            panic!()
        };
        assert_eq!(id, RequestId::Str("x".into()));
        assert_eq!(message.method(), "m");
        assert_eq!(message.params().unwrap().get(), r#"{ "a" : [1, 2] }"#);
    }

    #[test]
    fn notifications_and_responses_are_told_apart() {
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","method":"n"}"#),
            Incoming::Notification(_)
        ));
        let Incoming::Response { id, result } = single(r#"{"jsonrpc":"2.0","id":4,"result":null}"#)
        else {
            panic!()
        };
        assert_eq!(id, RequestId::Int(4));
        assert!(result.unwrap().is_null());
        let Incoming::Response { result, .. } =
            single(r#"{"jsonrpc":"2.0","id":4,"error":{"code":5,"message":"no"}}"#)
        else {
            panic!()
        };
        assert_eq!(result.unwrap_err(), Error::new(5, "no"));
    }

    #[test]
    fn an_array_is_not_a_message_even_one_that_lines_up_with_the_members() {
        let Parsed::Batch(members) = parse_frame(br#"[["2.0",1,"m"]]"#.to_vec()) else {
            panic!("a batch")
        };
        assert!(matches!(
            &members[..],
            [Incoming::Invalid { id: RequestId::Null, error }] if error.code() == -32600
        ));
    }

    #[test]
    fn ids_methods_and_versions_read_by_the_short_path_match_the_long_one() {
        for (text, id) in [
            ("0", RequestId::Int(0)),
            ("42", RequestId::Int(42)),
            ("18446744073709551615", RequestId::UInt(u64::MAX)),
            ("-7", RequestId::Int(-7)),
            (r#""x\"y""#, RequestId::Str("x\"y".into())),
        ] {
            let frame = format!(r#"{{"jsonrpc":"2.0","id":{text},"method":"m\u0031"}}"#);
            let Incoming::Request { id: read, message } = single(&frame) else {
                panic!("{frame}")
            };
            assert_eq!(read, id);
            assert_eq!(message.method(), "m1");
        }
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"m"}"#),
            (RequestId::Null, -32600)
        );
        assert!(matches!(
            single(r#"{"jsonrpc":"2.\u0030","method":"m"}"#),
            Incoming::Notification(_)
        ));
    }

    #[test]
    fn minus_zero_is_the_integer_id_zero() {
        // Both the full reader and a batch member: `-0` never takes the short path.
        let Incoming::Request { id, .. } = single(r#"{"jsonrpc":"2.0","id":-0,"method":"m"}"#)
        else {
            panic!("-0 refused")
        };
        assert_eq!(id, RequestId::Int(0));
        let Parsed::Batch(members) =
            parse_frame(br#"[{"jsonrpc":"2.0","id":-0,"result":1}]"#.to_vec())
        else {
            panic!("a batch")
        };
        assert!(matches!(
            &members[..],
            [Incoming::Response {
                id: RequestId::Int(0),
                ..
            }]
        ));
        // Still refused: a negative zero with a fraction or an exponent.
        for id in ["-0.0", "-0e0"] {
            assert_eq!(
                invalid_code(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"m"}}"#)),
                (RequestId::Null, -32600),
                "{id}"
            );
        }
    }

    #[test]
    fn malformed_messages_get_the_prescribed_codes() {
        assert_eq!(invalid_code("{"), (RequestId::Null, -32700));
        assert_eq!(invalid_code("1"), (RequestId::Null, -32600));
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#),
            (RequestId::Int(1), -32600)
        );
        assert_eq!(
            invalid_code(r#"{"id":1,"method":"m"}"#),
            (RequestId::Int(1), -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":1,"method":5}"#),
            (RequestId::Int(1), -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#),
            (RequestId::Null, -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":{},"method":"m"}"#),
            (RequestId::Null, -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":2,"method":"m","params":"s"}"#),
            (RequestId::Int(2), -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":2,"method":"m","id":3}"#),
            (RequestId::Null, -32600)
        );
        assert_eq!(
            invalid_code(r#"{"jsonrpc":"2.0","id":2}"#),
            (RequestId::Int(2), -32600)
        );
    }

    /// Found by the envelope property test: serde reports a repeated member as soon as it
    /// meets it, and that -32600 hid that the frame was not JSON at all.
    #[test]
    fn invalid_json_is_a_parse_error_even_after_a_repeated_member() {
        for text in [
            r#"{"id":1,"id":2,"jsonrpc":01}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2"#,
            r#"{"method":"a","method":"b",}"#,
        ] {
            assert_eq!(invalid_code(text), (RequestId::Null, -32700), "{text}");
        }
        assert_eq!(
            invalid_code(r#"{"method":"a","method":"b"}"#),
            (RequestId::Null, -32600)
        );
    }

    #[test]
    fn invalid_utf8_is_a_parse_error() {
        let Parsed::Single(Incoming::Invalid { error, .. }) = parse_frame(vec![b'{', 0xff, b'}'])
        else {
            panic!()
        };
        assert_eq!(error.code(), -32700);
    }

    #[test]
    fn a_response_with_both_members_reaches_its_request_as_an_error() {
        let Incoming::Response { id, result } =
            single(r#"{"jsonrpc":"2.0","id":9,"result":1,"error":{"code":1,"message":"x"}}"#)
        else {
            panic!()
        };
        assert_eq!(id, RequestId::Int(9));
        assert_eq!(result.unwrap_err().code(), -32600);
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        // A top-level array is a batch; its one member is not an object.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let Parsed::Batch(members) = parse_frame(deep.into_bytes()) else {
            panic!()
        };
        assert!(
            matches!(&members[..], [Incoming::Invalid { error, .. }] if error.code() == -32600)
        );
        // Deep params are only delimited here; reading them into a type hits serde_json's
        // depth limit later, as an error.
        let deep_params = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let Incoming::Request { message, .. } = single(&deep_params) else {
            panic!()
        };
        assert_eq!(
            message
                .parse_params::<serde_json::Value>()
                .unwrap_err()
                .code(),
            -32602
        );
        let deep_object = format!("{}{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        assert!(matches!(single(&deep_object), Incoming::Invalid { .. }));
    }

    #[test]
    fn batches_keep_member_order() {
        let Parsed::Batch(members) = parse_frame(
            br#"[{"jsonrpc":"2.0","method":"a"}, 1, {"jsonrpc":"2.0","id":1,"method":"b"}]"#
                .to_vec(),
        ) else {
            panic!()
        };
        assert!(matches!(&members[0], Incoming::Notification(m) if m.method() == "a"));
        assert!(matches!(&members[1], Incoming::Invalid { error, .. } if error.code() == -32600));
        assert!(matches!(&members[2], Incoming::Request { .. }));
        assert!(matches!(single("[]"), Incoming::Invalid { error, .. } if error.code() == -32600));
    }
}
