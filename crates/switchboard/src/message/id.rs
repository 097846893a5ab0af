//! Request ids, kept exactly as the peer wrote them.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id of a request, as JSON-RPC 2.0 allows it: an integer, a string or `null`.
///
/// Ids round-trip exactly: an answer carries the id the peer chose, whether it is
/// `-7`, `18446744073709551615`, `"req-1"` or `null`. Ids with a fraction, an exponent, or
/// outside the range of `i64`/`u64` are not accepted (the request is answered -32600).
///
/// ```
/// use switchboard::RequestId;
///
/// let id: RequestId = serde_json::from_str("18446744073709551615").unwrap();
/// assert_eq!(serde_json::to_string(&id).unwrap(), "18446744073709551615");
/// assert!(serde_json::from_str::<RequestId>("1.5").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum RequestId {
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer above `i64::MAX` (up to `u64::MAX`).
    UInt(u64),
    /// A string id.
    Str(String),
    /// `null`: used by peers for errors that belong to no request.
    Null,
}

impl RequestId {
    /// The id as an unsigned integer, when it is one: the form Switchboard gives its own requests.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            RequestId::Int(n) => u64::try_from(*n).ok(),
            RequestId::UInt(n) => Some(*n),
            _ => None,
        }
    }

    /// Writes the id as JSON into `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            // Writing into a Vec cannot fail.
            RequestId::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            RequestId::UInt(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            RequestId::Str(s) => crate::wire::encode::write_json_str(out, s),
            RequestId::Null => out.extend_from_slice(b"null"),
        }
    }
}

impl From<u64> for RequestId {
    fn from(n: u64) -> Self {
        match i64::try_from(n) {
            Ok(small) => RequestId::Int(small),
            Err(_) => RequestId::UInt(n),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Int(n)
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::Str(s)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::Str(s.to_owned())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Int(n) => write!(f, "{n}"),
            RequestId::UInt(n) => write!(f, "{n}"),
            RequestId::Str(s) => write!(f, "{s:?}"),
            RequestId::Null => f.write_str("null"),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Int(n) => serializer.serialize_i64(*n),
            RequestId::UInt(n) => serializer.serialize_u64(*n),
            RequestId::Str(s) => serializer.serialize_str(s),
            RequestId::Null => serializer.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = RequestId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, a string or null")
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<RequestId, E> {
        Ok(RequestId::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<RequestId, E> {
        Ok(RequestId::from(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<RequestId, E> {
        Ok(RequestId::Str(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<RequestId, E> {
        Ok(RequestId::Str(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RequestId, E> {
        Ok(RequestId::Null)
    }
}

impl TryFrom<RequestId> for jsonrpcmsg::Id {
    type Error = crate::Error;

    /// `jsonrpcmsg` ids are unsigned; a negative id cannot be converted.
    fn try_from(id: RequestId) -> Result<Self, crate::Error> {
        match id {
            RequestId::Int(n) => u64::try_from(n).map(jsonrpcmsg::Id::Number).map_err(|_| {
                crate::Error::serialization(format!("jsonrpcmsg cannot hold the negative id {n}"))
            }),
            RequestId::UInt(n) => Ok(jsonrpcmsg::Id::Number(n)),
            RequestId::Str(s) => Ok(jsonrpcmsg::Id::String(s)),
            RequestId::Null => Ok(jsonrpcmsg::Id::Null),
        }
    }
}

impl From<jsonrpcmsg::Id> for RequestId {
    fn from(id: jsonrpcmsg::Id) -> Self {
        match id {
            jsonrpcmsg::Id::Number(n) => RequestId::from(n),
            jsonrpcmsg::Id::String(s) => RequestId::Str(s),
            jsonrpcmsg::Id::Null => RequestId::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_form_round_trips_exactly() {
        for text in [
            "0",
            "-9223372036854775808",
            "9223372036854775807",
            "18446744073709551615",
            "\"a\\\"b\"",
            "null",
            "\"\"",
        ] {
            let id: RequestId = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&id).unwrap(), text);
            let mut out = Vec::new();
            id.write_json(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }

    #[test]
    fn fractions_objects_and_huge_numbers_are_refused() {
        for text in ["1.0", "1e3", "18446744073709551616", "{}", "[]", "true"] {
            assert!(
                serde_json::from_str::<RequestId>(text).is_err(),
                "{text} was accepted"
            );
        }
    }
}
