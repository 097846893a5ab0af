//! Replay contracts: which calls may be sent again to a new worker generation.

use std::borrow::Cow;
use std::collections::HashMap;

use switchboard::RawJson;

/// What happens to a call in flight when its worker generation dies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Replay {
    /// Sent again to the next generation; the caller sees only the answer.
    Safe,
    /// Failed with a [`Fault`](crate::Fault) naming the method and the generation, not retried.
    #[default]
    Never,
}

/// The replay contract of each operation, and how operations are named.
///
/// An operation is a method, or for a method that carries the name of what it runs in a
/// params field (MCP's `tools/call` and its `name`), `method:name`. Telemetry is kept per
/// operation too.
///
/// ```
/// use switchboard_supervisor::{Contracts, Replay};
///
/// let contracts = Contracts::default()
///     .named_by("tools/call", "name")
///     .contract("tools/list", Replay::Safe)
///     .contract("tools/call:search", Replay::Safe);
/// assert_eq!(contracts.replay("tools/call:search"), Replay::Safe);
/// assert_eq!(contracts.replay("tools/call:delete"), Replay::Never);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Contracts {
    contracts: HashMap<String, Replay>,
    name_fields: HashMap<String, String>,
}

impl Contracts {
    /// Sets the contract of `operation` (a method, or `method:name`).
    #[must_use]
    pub fn contract(mut self, operation: impl Into<String>, replay: Replay) -> Self {
        self.contracts.insert(operation.into(), replay);
        self
    }

    /// Calls of `method` are named by the string in their params' `field`.
    #[must_use]
    pub fn named_by(mut self, method: impl Into<String>, field: impl Into<String>) -> Self {
        self.name_fields.insert(method.into(), field.into());
        self
    }

    /// The contract of `operation`: its own, else its method's, else [`Replay::Never`].
    pub fn replay(&self, operation: &str) -> Replay {
        if let Some(replay) = self.contracts.get(operation) {
            return *replay;
        }
        match operation.split_once(':') {
            Some((method, _)) => self.contracts.get(method).copied().unwrap_or_default(),
            None => Replay::Never,
        }
    }

    /// The operation a call of `method` with `params` is.
    ///
    /// # Errors
    ///
    /// What is wrong, for a call of a method [named by](Contracts::named_by) a field of its
    /// params that has no such field (or not a string): its contract cannot be known.
    pub fn operation(&self, method: &str, params: Option<&RawJson>) -> Result<String, String> {
        self.operation_of(method, params).map(Cow::into_owned)
    }

    /// [`operation`](Contracts::operation), borrowing the method where it is the operation
    /// (the usual case): no string is made per call.
    pub(crate) fn operation_of<'a>(
        &self,
        method: &'a str,
        params: Option<&RawJson>,
    ) -> Result<Cow<'a, str>, String> {
        let Some(field) = self.name_fields.get(method) else {
            return Ok(Cow::Borrowed(method));
        };
        let name = params.and_then(|params| {
            serde_json::from_str::<HashMap<String, serde_json::Value>>(params.get())
                .ok()
                .and_then(|mut fields| match fields.remove(field) {
                    Some(serde_json::Value::String(name)) => Some(name),
                    _ => None,
                })
        });
        match name {
            Some(name) => Ok(Cow::Owned(format!("{method}:{name}"))),
            None => Err(format!(
                "a {method} names what it runs in the string `{field}` of its params, and this one does not"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_by_their_field_when_told() {
        let contracts = Contracts::default().named_by("tools/call", "name");
        let params = RawJson::from_string(r#"{"name":"search","arguments":{}}"#.into()).ok();
        assert_eq!(
            contracts.operation("tools/call", params.as_ref()),
            Ok("tools/call:search".to_owned())
        );
        assert!(contracts.operation("tools/call", None).is_err());
        assert_eq!(
            contracts.operation("tools/list", params.as_ref()),
            Ok("tools/list".to_owned())
        );
    }

    #[test]
    fn a_method_contract_covers_its_named_operations() {
        let contracts = Contracts::default().contract("tools/call", Replay::Safe);
        assert_eq!(contracts.replay("tools/call:anything"), Replay::Safe);
        assert_eq!(contracts.replay("other"), Replay::Never);
    }
}
