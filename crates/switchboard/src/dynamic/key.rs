//! Routing keys: which dynamic handler a message belongs to, found by one field of its params.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Names the messages a dynamic handler is for: those whose params have `field` set to
/// `value` at the top level, like `{"sessionId": "s-42", ...}`.
///
/// The incoming actor reads the field once per message and finds the handler with one map
/// lookup, so the cost of routing does not grow with the number of handlers.
///
/// ```
/// use switchboard::dynamic::RoutingKey;
///
/// let key = RoutingKey::new("sessionId", "s-42");
/// assert_eq!(key.field(), "sessionId");
/// assert_eq!(key.value(), "s-42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingKey {
    field: Arc<str>,
    value: String,
}

impl RoutingKey {
    /// The messages whose params field `field` is the string `value`.
    pub fn new(field: impl AsRef<str>, value: impl Into<String>) -> Self {
        RoutingKey {
            field: Arc::from(field.as_ref()),
            value: value.into(),
        }
    }

    /// The params field.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The value it must have.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn field_arc(&self) -> &Arc<str> {
        &self.field
    }
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.field, self.value)
    }
}

/// The string value of the top-level `field` of the JSON object `params`, if it has one.
///
/// Scans the object once and skips every other member without building it.
pub(crate) fn extract_field<'a>(params: &'a str, field: &str) -> Option<Cow<'a, str>> {
    let mut deserializer = serde_json::Deserializer::from_str(params);
    de::Deserializer::deserialize_any(&mut deserializer, FieldFinder { field })
        .ok()
        .flatten()
}

struct FieldFinder<'f> {
    field: &'f str,
}

impl<'de> Visitor<'de> for FieldFinder<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if found.is_none() && key == self.field {
                found = map.next_value_seed(MaybeString)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    // Params that are not an object (an array, say) have no routing key.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A string, or `None` for any other JSON value.
struct MaybeString;

impl<'de> DeserializeSeed<'de> for MaybeString {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MaybeString {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(value.to_owned())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_among_others() {
        let params = r#"{"prompt": [{"x": {"sessionId": "inner"}}], "sessionId": "s-1", "n": 2}"#;
        assert_eq!(extract_field(params, "sessionId").as_deref(), Some("s-1"));
        assert_eq!(
            extract_field(r#"{"sessionId": "a\"b"}"#, "sessionId").as_deref(),
            Some("a\"b")
        );
    }

    #[test]
    fn no_key_when_absent_or_not_a_string() {
        assert_eq!(extract_field(r#"{"other": 1}"#, "sessionId"), None);
        assert_eq!(extract_field(r#"{"sessionId": 5}"#, "sessionId"), None);
        assert_eq!(extract_field(r#"["sessionId", "x"]"#, "sessionId"), None);
        assert_eq!(extract_field("{", "sessionId"), None);
    }
}
