//! JSON Schemas of tool arguments and results, generated from Rust types with `schemars`.
//!
//! MCP wants a tool's schemas to be objects (`"type": "object"`) and carries only their
//! `properties`, `required` and `$schema`; so subschemas are inlined (no `$ref` into a
//! `$defs` that would be lost), and a property whose schema is a bare `true` (any value)
//! becomes `{}`, which says the same.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The parts of an object schema MCP keeps: `(required, properties, $schema)`.
pub(crate) type ObjectSchema = (
    Vec<String>,
    Option<BTreeMap<String, Map<String, Value>>>,
    Option<String>,
);

/// The object schema of `T`, inlined.
pub(crate) fn object_schema<T: JsonSchema>() -> ObjectSchema {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut object = match schema.to_value() {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let required = match object.remove("required") {
        Some(Value::Array(names)) => names
            .into_iter()
            .filter_map(|name| name.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let properties = match object.remove("properties") {
        Some(Value::Object(properties)) => Some(
            properties
                .into_iter()
                .map(|(name, schema)| match schema {
                    Value::Object(schema) => (name, schema),
                    _ => (name, Map::new()),
                })
                .collect(),
        ),
        _ => None,
    };
    let dialect = match object.remove("$schema") {
        Some(Value::String(dialect)) => Some(dialect),
        _ => None,
    };
    (required, properties, dialect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema)]
    #[expect(dead_code, reason = "only its schema is used")]
    struct Point {
        x: i64,
        label: Option<String>,
        inner: Inner,
    }

    #[derive(JsonSchema)]
    #[expect(dead_code, reason = "only its schema is used")]
    struct Inner {
        z: bool,
    }

    #[test]
    fn nested_types_are_inlined_and_required_fields_listed() {
        let (required, properties, _) = object_schema::<Point>();
        assert!(required.contains(&"x".to_owned()));
        assert!(!required.contains(&"label".to_owned()));
        let properties = properties.unwrap();
        assert_eq!(properties["x"]["type"], "integer");
        assert_eq!(properties["inner"]["properties"]["z"]["type"], "boolean");
    }
}
