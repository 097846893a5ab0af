//! The agent's bridge speaks stateless MCP (2026-07-28) to a provider that has it.
//!
//! `mcp/message` carries no connection, so the official SDK's provider takes only stateless
//! MCP: no `initialize`, and every request with its version and the client's capabilities in
//! `_meta`. The agent's MCP client may still open with `initialize`: the bridge then asks the
//! provider `server/discover` instead, answers the handshake itself from what the server
//! says, and puts the stateless `_meta` on every request after it. A provider that does not
//! speak 2026-07-28 (no `server/discover`, or not that version) gets the handshake as it
//! came.

use serde_json::{Map, Value, json};
use switchboard_mcp::discover::{DISCOVER_METHOD, DiscoverResult, SERVER_INFO_KEY};
use switchboard_mcp::version::{STATELESS_CAPABILITIES_KEY, STATELESS_VERSION_KEY, V2026_07_28};

/// The `_meta` member of MCP params.
const META: &str = "_meta";

/// The `initialize` the agent's MCP client sent: what the bridge needs of it.
#[derive(Debug)]
pub(super) struct Handshake {
    /// The version the client asked for, which the answer repeats.
    requested: Value,
    /// The client's capabilities, sent along with every stateless request.
    capabilities: Value,
}

impl Handshake {
    /// The handshake `params` (of an `initialize`) open.
    pub(super) fn of(params: Option<&Map<String, Value>>) -> Handshake {
        let field = |name: &str| params.and_then(|params| params.get(name)).cloned();
        Handshake {
            requested: field("protocolVersion").unwrap_or(Value::Null),
            capabilities: field("capabilities")
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({})),
        }
    }

    /// The `server/discover` asked instead of `initialize`: method and params.
    pub(super) fn discover(&self) -> (String, Option<Map<String, Value>>) {
        let mut params = Map::new();
        params.insert(META.to_owned(), Value::Object(self.meta()));
        (DISCOVER_METHOD.to_owned(), Some(params))
    }

    /// The answer to `initialize` from the server's answer to `server/discover`, if the server
    /// speaks 2026-07-28; `None` means: send the handshake as it came.
    pub(super) fn answer(&self, discovered: Value, server_id: &str) -> Option<Value> {
        let discovered: DiscoverResult = serde_json::from_value(discovered).ok()?;
        if !discovered
            .supported_versions
            .iter()
            .any(|v| v == V2026_07_28)
        {
            return None;
        }
        let server_info = discovered
            .meta
            .as_ref()
            .and_then(|meta| meta.get(SERVER_INFO_KEY))
            .cloned()
            .unwrap_or_else(|| json!({ "name": server_id, "version": "unknown" }));
        let mut answer = json!({
            "protocolVersion": self.requested,
            "capabilities": discovered.capabilities,
            "serverInfo": server_info,
        });
        if let (Some(instructions), Some(answer)) =
            (discovered.instructions, answer.as_object_mut())
        {
            answer.insert("instructions".to_owned(), Value::String(instructions));
        }
        Some(answer)
    }

    /// `params` with the stateless `_meta` added to whatever `_meta` they carry.
    pub(super) fn stateless(&self, params: Option<Map<String, Value>>) -> Map<String, Value> {
        let mut params = params.unwrap_or_default();
        let meta = params
            .entry(META)
            .or_insert_with(|| Value::Object(Map::new()));
        match meta.as_object_mut() {
            Some(meta) => meta.extend(self.meta()),
            None => *meta = Value::Object(self.meta()),
        }
        params
    }

    fn meta(&self) -> Map<String, Value> {
        let mut meta = Map::new();
        meta.insert(STATELESS_VERSION_KEY.to_owned(), json!(V2026_07_28));
        meta.insert(
            STATELESS_CAPABILITIES_KEY.to_owned(),
            self.capabilities.clone(),
        );
        meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake() -> Handshake {
        let params = json!({"protocolVersion": "2025-11-25", "capabilities": {"roots": {}},
                            "clientInfo": {"name": "agent", "version": "1"}});
        Handshake::of(params.as_object())
    }

    #[test]
    fn requests_keep_their_meta_and_gain_the_stateless_one() {
        let params = json!({"name": "add", "_meta": {"progressToken": 7}});
        let sent = handshake().stateless(params.as_object().cloned());
        assert_eq!(
            Value::Object(sent),
            json!({"name": "add", "_meta": {
                "progressToken": 7,
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"roots": {}},
            }})
        );
    }

    #[test]
    fn the_handshake_is_answered_from_discovery_only_for_a_stateless_server() {
        let discovered = json!({
            "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "tools", "version": "2"}},
        });
        let answer = handshake().answer(discovered, "tools-1");
        assert_eq!(
            answer,
            Some(
                json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                        "serverInfo": {"name": "tools", "version": "2"}})
            )
        );
        let legacy = json!({"supportedVersions": ["2025-11-25"], "capabilities": {}});
        assert_eq!(handshake().answer(legacy, "tools-1"), None);
        assert_eq!(handshake().answer(json!("garbage"), "tools-1"), None);
    }
}
