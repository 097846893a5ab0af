//! A message carried inside another message's params as `{"method": ..., "params": ...}`:
//! how a hop that wraps messages (a proxy chain's successor envelope, for one) passes them on.
//!
//! Unwrapping is on the path of every wrapped message, so it is read by hand, in place: the
//! carried method and params stay where they are in the frame the envelope arrived in, and
//! nothing is copied or checked twice (the envelope is a `RawJson`, valid JSON already, so the
//! carried params are only skipped to find their end). Anything unusual (an escaped key or
//! method, a repeated member) is left to serde, which decides exactly as it would for the
//! whole object.

use std::ops::Range;

use serde::Deserialize;

use super::{RawJson, UntypedMessage};
use crate::Error;
use crate::wire::encode::write_json_str;
use crate::wire::fast_envelope::member_key;
use crate::wire::json_scan::{plain_string, valid_value_end, whitespace_end};

/// The carried message as serde reads it: the slow path, and the definition of what is
/// accepted.
#[derive(Deserialize)]
struct Carried {
    method: String,
    #[serde(default)]
    params: Option<RawJson>,
}

/// Where the carried method and params sit in the envelope's text.
struct Members {
    method: Range<usize>,
    /// `None` when absent or `null`.
    params: Option<Range<usize>>,
}

impl UntypedMessage {
    /// Reads the message carried in `raw`, a JSON object `{"method": string, "params"?:
    /// any}`: other members are ignored, and `"params": null` is read as no params. The
    /// method and params stay in `raw`'s text, which is not copied. `raw` comes back when it
    /// is not such an object.
    ///
    /// ```
    /// use switchboard::{RawJson, UntypedMessage};
    ///
    /// let raw = RawJson::from_string(r#"{"method": "add", "params": [1, 2]}"#.into()).unwrap();
    /// let message = UntypedMessage::from_carried(raw).unwrap();
    /// assert_eq!(message.method(), "add");
    /// assert_eq!(message.params().unwrap().get(), "[1, 2]");
    /// assert_eq!(message.to_carried().unwrap().get(), r#"{"method":"add","params":[1, 2]}"#);
    ///
    /// let not_a_message = RawJson::from_string(r#"{"params": 1}"#.into()).unwrap();
    /// assert!(UntypedMessage::from_carried(not_a_message).is_err());
    /// ```
    pub fn from_carried(raw: RawJson) -> Result<UntypedMessage, RawJson> {
        let Some(Members { method, params }) = members(raw.get().as_bytes()) else {
            return match raw.parse::<Carried>() {
                Ok(Carried { method, params }) => Ok(UntypedMessage::from_raw(method, params)),
                Err(_) => Err(raw),
            };
        };
        let Some(params) = params else {
            let method = raw.get()[method].to_owned();
            return Ok(UntypedMessage::from_raw(method, None));
        };
        let method = raw.offset_in_frame() + method.start..raw.offset_in_frame() + method.end;
        let params = raw.narrowed(params)?;
        UntypedMessage::in_frame(method, params)
    }

    /// This message written to be carried in another's params: `{"method": ..., "params":
    /// ...}`, the params left out when there are none. [`from_carried`] reads it back.
    ///
    /// [`from_carried`]: UntypedMessage::from_carried
    pub fn to_carried(&self) -> Result<RawJson, Error> {
        let params = self.params();
        let mut out = Vec::with_capacity(
            32 + self.method().len() + params.map_or(0, |params| params.get().len()),
        );
        out.extend_from_slice(b"{\"method\":");
        write_json_str(&mut out, self.method());
        if let Some(params) = params {
            out.extend_from_slice(b",\"params\":");
            params.write_to(&mut out);
        }
        out.push(b'}');
        // A JSON string and JSON text between ASCII punctuation: UTF-8 throughout.
        let text = String::from_utf8(out).map_err(Error::serialization)?;
        Ok(RawJson::written(text))
    }
}

/// The `method` and `params` members of the object `bytes`, read by hand; `None` for
/// anything the hand reader does not take (serde then reads it).
fn members(bytes: &[u8]) -> Option<Members> {
    let mut at = whitespace_end(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut method = None;
    let mut params = None;
    // `{}` has no method: the first key's absence sends it to serde, which refuses it.
    loop {
        let (key, after_colon) = member_key(bytes, at)?;
        at = whitespace_end(bytes, after_colon);
        match key {
            b"method" if method.is_none() => {
                let (text, after) = plain_string(bytes, at)?;
                method = Some(text);
                at = after;
            }
            b"params" if params.is_none() => {
                let end = valid_value_end(bytes, at)?;
                params = Some(at..end);
                at = end;
            }
            // A repeated member: serde decides.
            b"method" | b"params" => return None,
            _ => at = valid_value_end(bytes, at)?,
        }
        at = whitespace_end(bytes, at);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    if whitespace_end(bytes, at + 1) != bytes.len() {
        return None;
    }
    Some(Members {
        method: method?,
        params: params.filter(|params| &bytes[params.clone()] != b"null"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde alone makes of `text`, as (method, params text).
    fn by_serde(text: &str) -> Option<(String, Option<String>)> {
        let carried: Carried = serde_json::from_str(text).ok()?;
        Some((carried.method, carried.params.map(|p| p.get().to_owned())))
    }

    fn by_hand(text: &str) -> Option<(String, Option<String>)> {
        let raw = RawJson::from_string(text.to_owned()).ok()?;
        let message = UntypedMessage::from_carried(raw).ok()?;
        Some((
            message.method().to_owned(),
            message.params().map(|p| p.get().to_owned()),
        ))
    }

    #[test]
    fn reads_every_envelope_as_serde_does() {
        let cases = [
            r#"{"method":"m","params":{"a":[1,2,{"b":null}]}}"#,
            r#" { "params" : [1] , "method" : "m" } "#,
            r#"{"method":"m"}"#,
            r#"{"method":"m","params":null}"#,
            r#"{"method":"m","params":"text","_meta":{"k":1},"other":[true]}"#,
            r#"{"method":"m\u0041","params":1}"#,
            r#"{"meth\u006fd":"m","params":1}"#,
            r#"{"method":"m","method":"n"}"#,
            r#"{"method":"m","params":1,"params":2}"#,
            r#"{"method":1}"#,
            r#"{"params":1}"#,
            r#"{}"#,
            r#"[]"#,
            r#""method""#,
            r#"{"method":"é","params":{"ü":"ß"}}"#,
        ];
        for text in cases {
            assert_eq!(by_hand(text), by_serde(text), "{text}");
        }
    }

    #[test]
    fn the_carried_message_stays_in_the_envelopes_text() {
        let frame =
            r#"{"jsonrpc":"2.0","method":"wrap","params":{"method":"inner","params":{"x":1}}}"#;
        let start = frame.find(r#"{"method":"inner""#).unwrap();
        let envelope = RawJson::in_frame(frame.into(), start..frame.len() - 1).unwrap();
        let inner = UntypedMessage::from_carried(envelope).unwrap();
        assert_eq!(inner.method(), "inner");
        assert_eq!(inner.params().unwrap().get(), r#"{"x":1}"#);
        // Kept in the same frame: the params are a range of it, not a copy.
        assert_eq!(inner.params().unwrap().frame(), frame);
    }

    #[test]
    fn writing_and_reading_back_keep_the_message() {
        for message in [
            UntypedMessage::new("a \"quoted\" method", serde_json::json!({"k": [1, 2]})).unwrap(),
            UntypedMessage::from_raw("bare".into(), None),
        ] {
            let carried = message.to_carried().unwrap();
            assert_eq!(
                carried.to_value().unwrap()["method"],
                serde_json::json!(message.method())
            );
            assert_eq!(UntypedMessage::from_carried(carried).unwrap(), message);
        }
    }
}
