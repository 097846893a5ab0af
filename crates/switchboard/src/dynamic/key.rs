//! Routing keys: which dynamic handler a message belongs to, found by one field of its params.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

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
///
/// A message that carries another inside its params (a relay's envelope, say) is routed by
/// a field of the inner one with [`RoutingKey::nested`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingKey {
    path: FieldPath,
    value: String,
}

/// Where a field is in params: the names of the objects it is inside, then its own.
pub(crate) type FieldPath = Arc<[Box<str>]>;

impl RoutingKey {
    /// The messages whose params field `field` is the string `value`.
    pub fn new(field: impl AsRef<str>, value: impl Into<String>) -> Self {
        RoutingKey {
            path: Arc::from([Box::from(field.as_ref())]),
            value: value.into(),
        }
    }

    /// The messages whose params hold the string `value` at `path`: the field named last,
    /// inside the object named before it, and so on from the top of the params. An empty
    /// path matches nothing.
    ///
    /// ```
    /// use switchboard::dynamic::RoutingKey;
    ///
    /// // `{"method": "tools/call", "params": {"serverId": "docs-1", ...}}`
    /// let key = RoutingKey::nested(["params", "serverId"], "docs-1");
    /// assert_eq!(key.path().collect::<Vec<_>>(), ["params", "serverId"]);
    /// assert_eq!(key.field(), "serverId");
    /// ```
    pub fn nested<S: AsRef<str>>(
        path: impl IntoIterator<Item = S>,
        value: impl Into<String>,
    ) -> Self {
        RoutingKey {
            path: path
                .into_iter()
                .map(|name| Box::from(name.as_ref()))
                .collect(),
            value: value.into(),
        }
    }

    /// The field's own name: the last of its path.
    pub fn field(&self) -> &str {
        self.path.last().map_or("", |field| field)
    }

    /// The names on the way to the field, outermost first, the field's own last.
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.path.iter().map(|name| &**name)
    }

    /// The value it must have.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn field_path(&self) -> &FieldPath {
        &self.path
    }
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.path.join("."), self.value)
    }
}

/// The string value at `path` in the JSON object `params`, if it has one.
pub(crate) fn extract_path<'a>(params: &'a str, path: &[Box<str>]) -> Option<Cow<'a, str>> {
    match path {
        [] => None,
        [field] => extract_field(params, field),
        [outer, inner @ ..] => {
            let nested = find_field(params, outer, RawSeed)?;
            extract_path(nested.get(), inner)
        }
    }
}

/// The string value of the top-level `field` of the JSON object `params`, if it has one.
///
/// Scans the object once and skips every other member without building it.
pub(crate) fn extract_field<'a>(params: &'a str, field: &str) -> Option<Cow<'a, str>> {
    find_field(params, field, MaybeString)
}

/// The top-level `field` of the JSON object `params`, read by `seed`.
fn find_field<'a, S, V>(params: &'a str, field: &str, seed: S) -> Option<V>
where
    S: DeserializeSeed<'a, Value = Option<V>> + Copy,
{
    let mut deserializer = serde_json::Deserializer::from_str(params);
    de::Deserializer::deserialize_any(&mut deserializer, FieldFinder { field, seed })
        .ok()
        .flatten()
}

struct FieldFinder<'f, S> {
    field: &'f str,
    seed: S,
}

impl<'de, S, V> Visitor<'de> for FieldFinder<'_, S>
where
    S: DeserializeSeed<'de, Value = Option<V>> + Copy,
{
    type Value = Option<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if found.is_none() && key == self.field {
                found = map.next_value_seed(self.seed)?;
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

/// A member's JSON text as it is, to look inside later.
#[derive(Clone, Copy)]
struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        <&'de RawValue as serde::Deserialize>::deserialize(deserializer).map(Some)
    }
}

/// A string, or `None` for any other JSON value.
#[derive(Clone, Copy)]
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

    fn path(names: &[&str]) -> Vec<Box<str>> {
        names.iter().map(|name| Box::from(*name)).collect()
    }

    #[test]
    fn a_nested_path_looks_inside_the_named_objects_only() {
        let wrapped = r#"{"serverId": "outer", "params": {"a": [1], "serverId": "docs-1"}}"#;
        let at = path(&["params", "serverId"]);
        assert_eq!(extract_path(wrapped, &at).as_deref(), Some("docs-1"));
        assert_eq!(
            extract_path(wrapped, &path(&["serverId"])).as_deref(),
            Some("outer")
        );
        assert_eq!(extract_path(r#"{"serverId": "docs-1"}"#, &at), None);
        assert_eq!(extract_path(r#"{"params": "docs-1"}"#, &at), None);
        assert_eq!(extract_path(r#"{"params": {"serverId": 7}}"#, &at), None);
        assert_eq!(extract_path(wrapped, &[]), None);
    }
}
