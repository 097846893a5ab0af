//! Raw JSON text, kept as it arrived until someone asks for a type.

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::Error;

/// A piece of valid JSON kept as text: the params of an incoming message or the result of a
/// response.
///
/// Switchboard splits each frame into its envelope once and keeps the params as `RawJson`.
/// A typed handler deserializes its type straight from this text; a `serde_json::Value` is only
/// built when you ask for one with [`RawJson::to_value`].
///
/// ```
/// use switchboard::RawJson;
///
/// let raw = RawJson::from_string(r#"{"a": 1}"#.to_string()).unwrap();
/// #[derive(serde::Deserialize)]
/// struct A { a: i64 }
/// assert_eq!(raw.parse::<A>().unwrap().a, 1);
/// assert_eq!(raw.get(), r#"{"a": 1}"#);
/// ```
#[derive(Clone)]
pub struct RawJson {
    /// The text the value sits in: the value alone, or the whole frame it arrived in, which
    /// spares copying the params or result out of the frame.
    text: Box<str>,
    /// Where the value sits in `text`. Both ends are character boundaries (the value is JSON,
    /// so it starts and ends with ASCII), which the constructors below guarantee.
    start: usize,
    end: usize,
}

impl RawJson {
    /// Appends the text to an outgoing message, as it is. It may be pretty-printed; the
    /// framing decides whether that matters (newline framing makes each message one line).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.get().as_bytes());
    }

    /// Checks that `text` is one JSON value and keeps it.
    pub fn from_string(text: String) -> Result<Self, Error> {
        RawValue::from_string(text)
            .map(RawJson::from_boxed)
            .map_err(Error::parse_error)
    }

    /// Serializes `value` into raw JSON.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        serde_json::value::to_raw_value(value)
            .map(RawJson::from_boxed)
            .map_err(Error::serialization)
    }

    /// `null`.
    pub fn null() -> Self {
        RawJson::whole("null".into())
    }

    /// Keeps a value serde_json has validated.
    pub(crate) fn from_boxed(raw: Box<RawValue>) -> Self {
        RawJson::whole(raw.into())
    }

    /// `text`, all of it one JSON value.
    fn whole(text: Box<str>) -> Self {
        let end = text.len();
        RawJson {
            text,
            start: 0,
            end,
        }
    }

    /// The value at `text[range]`, already validated as one JSON value by the frame reader,
    /// kept inside the frame it arrived in. The text comes back when the range is not a pair
    /// of character boundaries within it (never, for a range the reader found).
    pub(crate) fn in_frame(text: Box<str>, range: Range<usize>) -> Result<Self, Box<str>> {
        if text.get(range.clone()).is_none() {
            return Err(text);
        }
        Ok(RawJson {
            text,
            start: range.start,
            end: range.end,
        })
    }

    /// The value at `range` within this one (a range of [`get`](RawJson::get)), kept in the
    /// same text: nothing is copied. `self` comes back when the range is not a pair of
    /// character boundaries within the value. The caller knows the range holds one JSON value.
    pub(crate) fn narrowed(self, range: Range<usize>) -> Result<Self, Self> {
        if self.get().get(range.clone()).is_none() {
            return Err(self);
        }
        Ok(RawJson {
            start: self.start + range.start,
            end: self.start + range.end,
            text: self.text,
        })
    }

    /// Where the value starts in [`frame`](RawJson::frame).
    pub(crate) fn offset_in_frame(&self) -> usize {
        self.start
    }

    /// `text`, which the caller has written as one JSON value.
    pub(crate) fn written(text: String) -> Self {
        RawJson::whole(text.into_boxed_str())
    }

    /// The value's text and all around it, given back.
    pub(crate) fn into_frame(self) -> Box<str> {
        self.text
    }

    /// The whole frame this value was read from (or the value alone), for text that sits
    /// next to it, such as the method name of the same message.
    pub(crate) fn frame(&self) -> &str {
        &self.text
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        // The constructors checked that these are character boundaries within `text`.
        &self.text[self.start..self.end]
    }

    /// True when the text is `null`.
    pub fn is_null(&self) -> bool {
        self.get() == "null"
    }

    /// Deserializes the text into `T`.
    ///
    /// On failure the error is -32602 and names the field that did not fit, e.g.
    /// `Invalid params: b: invalid type: string "x", expected i64`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(self.get(), |detail| Error::invalid_params(detail))
    }

    /// Builds a `serde_json::Value` from the text.
    pub fn to_value(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_str(self.get()).map_err(Error::serialization)
    }
}

/// Deserializes `text` into `T`. The fast path is a plain `serde_json` parse; only when that
/// fails is the text read again to find the path of the field that failed, so the error can
/// name it.
pub(crate) fn parse_json<T: DeserializeOwned>(
    text: &str,
    make_error: fn(&dyn fmt::Display) -> Error,
) -> Result<T, Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(first) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Err(error) => {
                    let mut path = error.path().to_string();
                    let inner = error.into_inner();
                    let detail = strip_position(&inner);
                    if let Some(missing) = named_field(&detail) {
                        // serde reports a missing field at its parent's path; name the field.
                        path = if path.is_empty() || path == "." {
                            missing.to_owned()
                        } else {
                            format!("{path}.{missing}")
                        };
                        return Err(
                            make_error(&detail).with_data(serde_json::json!({ "field": path }))
                        );
                    }
                    if path.is_empty() || path == "." {
                        Err(make_error(&detail))
                    } else {
                        let detail = format!("{path}: {detail}");
                        Err(make_error(&detail).with_data(serde_json::json!({ "field": path })))
                    }
                }
                // Cannot happen (the same text failed a moment ago), but report the first error.
                Ok(_) => Err(make_error(&strip_position(&first))),
            }
        }
    }
}

/// The field named by serde's "missing field `name`" message.
/// The field serde names in a "missing field `x`" or "duplicate field `x`" message: it
/// reports both at the parent's path, so the field itself is only in the message.
fn named_field(detail: &str) -> Option<&str> {
    detail
        .strip_prefix("missing field `")
        .or_else(|| detail.strip_prefix("duplicate field `"))?
        .split('`')
        .next()
}

/// serde_json ends its messages with "at line 1 column 17"; for params that position means
/// nothing to the peer, so it is cut off.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a `RawValue` as it is; borrowing one means reading the text once
        // more (messages themselves are written by `write_to`, which does not).
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson::from_boxed)
    }
}

impl TryFrom<&serde_json::Value> for RawJson {
    type Error = Error;

    fn try_from(value: &serde_json::Value) -> Result<Self, Error> {
        RawJson::from_serialize(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Add {
        a: i64,
        b: i64,
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let error =
            parse_json::<Add>(r#"{"a": 1, "b": "x"}"#, |d| Error::invalid_params(d)).unwrap_err();
        assert_eq!(error.code(), -32602);
        assert_eq!(
            error.message(),
            r#"Invalid params: b: invalid type: string "x", expected i64"#
        );
        assert_eq!(error.data().unwrap()["field"], "b");
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_json::<Add>(r#"{"a": 1}"#, |d| Error::invalid_params(d)).unwrap_err();
        assert_eq!(error.message(), "Invalid params: missing field `b`");
        assert_eq!(error.data().unwrap()["field"], "b");
    }

    #[test]
    fn invalid_text_is_a_parse_error() {
        assert_eq!(RawJson::from_string("{".into()).unwrap_err().code(), -32700);
        assert!(RawJson::null().is_null());
    }
}
