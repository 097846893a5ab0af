//! The JSON the bridge changes, as pure functions over `serde_json::Value`: the capability
//! in the agent's `initialize` answer, and the `acp` entries of a session's `mcpServers`.
//! Everything else in those messages passes as it came, unknown fields included.

use serde_json::{Map, Value, json};

/// What an `initialize` answer says about `agentCapabilities.mcpCapabilities.acp`.
pub(crate) fn has_acp_capability(answer: &Value) -> bool {
    answer
        .pointer("/agentCapabilities/mcpCapabilities/acp")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Sets `agentCapabilities.mcpCapabilities.acp` to `true`, adding the objects on the way
/// that are missing. `false` (and nothing changed) when the answer is not an object, or
/// holds something other than an object where one of them belongs.
pub(crate) fn claim_acp_capability(answer: &mut Value) -> bool {
    let Some(answer) = answer.as_object_mut() else {
        return false;
    };
    let Some(capabilities) = object_at(answer, "agentCapabilities") else {
        return false;
    };
    let Some(mcp) = object_at(capabilities, "mcpCapabilities") else {
        return false;
    };
    mcp.insert("acp".to_owned(), Value::Bool(true));
    true
}

/// The object under `key`, made empty if absent; `None` if something else is there.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

/// An `acp` entry of `mcpServers`: where it is, and what it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AcpEntry {
    pub(crate) index: usize,
    pub(crate) server_id: String,
}

/// The well-formed `acp` entries (with a string `name` and `serverId`) of a session
/// request's `mcpServers`. A malformed one is left for the agent to refuse.
pub(crate) fn acp_entries(params: &Value) -> Vec<AcpEntry> {
    let Some(servers) = params.get("mcpServers").and_then(Value::as_array) else {
        return Vec::new();
    };
    servers
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.get("type").and_then(Value::as_str) == Some("acp"))
        .filter(|(_, entry)| entry.get("name").is_some_and(Value::is_string))
        .filter_map(|(index, entry)| {
            let server_id = entry.get("serverId")?.as_str()?.to_owned();
            Some(AcpEntry { index, server_id })
        })
        .collect()
}

/// What the stdio entries start: `program args... ADDRESS SERVER_ID`, with `TOKEN_ENV=token`.
pub(crate) struct StdioRelay<'a> {
    pub(crate) program: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) address: &'a str,
    pub(crate) token_env: &'a str,
    pub(crate) token: &'a str,
}

/// Replaces each of `entries` (found by [`acp_entries`] in these `params`) with a stdio
/// entry of the same name (and `_meta`) that runs `relay` for its `serverId`.
pub(crate) fn rewrite_as_stdio(params: &mut Value, entries: &[AcpEntry], relay: &StdioRelay<'_>) {
    let Some(servers) = params.get_mut("mcpServers").and_then(Value::as_array_mut) else {
        return;
    };
    for entry in entries {
        let Some(server) = servers.get_mut(entry.index) else {
            continue;
        };
        let mut args: Vec<Value> = relay.args.iter().cloned().map(Value::String).collect();
        args.push(Value::String(relay.address.to_owned()));
        args.push(Value::String(entry.server_id.clone()));
        let mut stdio = json!({
            "name": server.get("name").cloned().unwrap_or(Value::Null),
            "command": relay.program,
            "args": args,
            "env": [{ "name": relay.token_env, "value": relay.token }],
        });
        if let (Some(meta), Some(stdio)) = (server.get("_meta"), stdio.as_object_mut()) {
            stdio.insert("_meta".to_owned(), meta.clone());
        }
        *server = stdio;
    }
}

/// The string `sessionId` of a message's params or of an answer.
pub(crate) fn session_id(value: &Value) -> Option<&str> {
    value.get("sessionId").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay<'a>(args: &'a [String]) -> StdioRelay<'a> {
        StdioRelay {
            program: "/bin/relay",
            args,
            address: "127.0.0.1:4000",
            token_env: "TOKEN",
            token: "secret",
        }
    }

    #[test]
    fn an_answer_without_the_capability_gets_it_and_keeps_the_rest() {
        let mut answer = json!({"protocolVersion": 1, "agentCapabilities": {"loadSession": true}});
        assert!(!has_acp_capability(&answer));
        assert!(claim_acp_capability(&mut answer));
        assert!(has_acp_capability(&answer));
        assert_eq!(answer["agentCapabilities"]["loadSession"], true);
        assert_eq!(answer["protocolVersion"], 1);

        let mut bare = json!({"protocolVersion": 1});
        assert!(claim_acp_capability(&mut bare));
        assert_eq!(bare["agentCapabilities"]["mcpCapabilities"]["acp"], true);
    }

    #[test]
    fn an_answer_of_the_wrong_shape_is_left_alone() {
        let mut odd = json!({"agentCapabilities": "none"});
        assert!(!claim_acp_capability(&mut odd));
        assert_eq!(odd, json!({"agentCapabilities": "none"}));
        assert!(!claim_acp_capability(&mut json!(null)));
    }

    #[test]
    fn only_acp_entries_become_stdio_entries_that_run_the_relay() {
        let stdio = json!({"name": "fs", "command": "/bin/fs", "args": [], "env": []});
        let mut params = json!({
            "cwd": "/tmp",
            "mcpServers": [
                stdio.clone(),
                {"type": "acp", "name": "docs", "serverId": "s-1", "_meta": {"x": 1}},
                {"type": "http", "name": "web", "url": "http://x", "headers": []},
                {"type": "acp", "name": "broken"},
            ],
        });
        let entries = acp_entries(&params);
        assert_eq!(
            entries,
            [AcpEntry {
                index: 1,
                server_id: "s-1".to_owned()
            }]
        );
        let args = ["--relay".to_owned()];
        rewrite_as_stdio(&mut params, &entries, &relay(&args));
        let servers = params["mcpServers"].as_array().unwrap();
        assert_eq!(servers[0], stdio);
        assert_eq!(
            servers[1],
            json!({
                "name": "docs",
                "command": "/bin/relay",
                "args": ["--relay", "127.0.0.1:4000", "s-1"],
                "env": [{"name": "TOKEN", "value": "secret"}],
                "_meta": {"x": 1},
            })
        );
        assert_eq!(servers[2]["type"], "http");
        assert_eq!(servers[3], json!({"type": "acp", "name": "broken"}));
        assert_eq!(params["cwd"], "/tmp");
    }

    #[test]
    fn params_without_servers_have_no_entries() {
        assert!(acp_entries(&json!({"cwd": "/"})).is_empty());
        assert!(acp_entries(&json!({"mcpServers": "no"})).is_empty());
        assert!(acp_entries(&json!([1, 2])).is_empty());
    }
}
