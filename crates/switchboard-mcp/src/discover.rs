//! `server/discover`, the entry point of the stateless MCP 2026-07-28.
//!
//! A 2026-07-28 client has no handshake: it may ask `server/discover` which versions and
//! capabilities a server has, then sends each request with its version and capabilities in
//! `_meta`. A server that answers it lets such a client learn at once that this server
//! speaks the handshake versions too, instead of waiting for a timeout.
//!
//! The types are this crate's own, written after the 2026-07-28 schema: `rust-mcp-schema`
//! 2.0.0 builds one schema version at a time, and this crate uses 2025-11-25.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema::{Implementation, ServerCapabilities};

/// The method name: `server/discover`.
pub const DISCOVER_METHOD: &str = "server/discover";

/// `server/discover`: what versions and capabilities does this server have?
#[derive(Clone, Debug, Default, Serialize, Deserialize, switchboard::JsonRpcRequest)]
#[request(method = "server/discover", response = DiscoverResult)]
pub struct Discover {
    /// The request's metadata: in 2026-07-28, the client's version, capabilities and info.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// The answer to [`Discover`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiscoverResult {
    /// Every protocol version the server speaks, newest first.
    #[serde(rename = "supportedVersions")]
    pub supported_versions: Vec<String>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// How the server would like to be used, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Whether a cache may share this answer across users: `public` or `private`.
    #[serde(rename = "cacheScope", default = "private")]
    pub cache_scope: String,
    /// How long (ms) a client may keep this answer before asking again.
    #[serde(rename = "ttlMs", default)]
    pub ttl_ms: u64,
    /// How to read the result; always `complete` here.
    #[serde(rename = "resultType", default = "complete")]
    pub result_type: String,
    /// Metadata; carries `io.modelcontextprotocol/serverInfo`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// The `_meta` key of the server's name and version in a 2026-07-28 result.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

fn private() -> String {
    "private".to_owned()
}

fn complete() -> String {
    "complete".to_owned()
}

impl DiscoverResult {
    /// The answer of a server named by `info` with `capabilities`: every version this crate
    /// speaks, not to be cached.
    pub fn new(info: &Implementation, capabilities: ServerCapabilities) -> Self {
        let mut meta = Map::new();
        if let Ok(info) = serde_json::to_value(info) {
            meta.insert(SERVER_INFO_KEY.to_owned(), info);
        }
        DiscoverResult {
            supported_versions: crate::version::SUPPORTED_VERSIONS
                .iter()
                .map(|version| (*version).to_owned())
                .collect(),
            capabilities,
            instructions: None,
            cache_scope: private(),
            ttl_ms: 0,
            result_type: complete(),
            meta: Some(meta),
        }
    }

    /// The server's name and version, when it sent them.
    pub fn server_info(&self) -> Option<Implementation> {
        let info = self.meta.as_ref()?.get(SERVER_INFO_KEY)?;
        serde_json::from_value(info.clone()).ok()
    }
}
