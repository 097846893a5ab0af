//! Protocol versions and their negotiation.
//!
//! MCP names versions by date. Two of them open with the `initialize` handshake and are
//! spoken here: [`V2025_11_25`] and [`V2025_06_18`] (whose messages the 2025-11-25 schema
//! types read: the newer version only added optional fields). A client asking `initialize`
//! for any other version, newer or unknown, is answered [`LATEST`], as the official SDKs do;
//! a client that cannot speak it closes the connection.
//!
//! The stateless [`V2026_07_28`] has no handshake: a client may ask `server/discover` what
//! the server speaks (see [`crate::discover`]), and each request carries its version in
//! `_meta` (see [`STATELESS_VERSION_KEY`]).

/// MCP 2025-06-18.
pub const V2025_06_18: &str = "2025-06-18";

/// MCP 2025-11-25, the newest version with the `initialize` handshake.
pub const V2025_11_25: &str = "2025-11-25";

/// MCP 2026-07-28: stateless, discovered with `server/discover`.
pub const V2026_07_28: &str = "2026-07-28";

/// The version a server answers `initialize` with when the client's is not supported.
pub const LATEST: &str = V2025_11_25;

/// The versions this crate speaks through `initialize`, newest first.
pub const HANDSHAKE_VERSIONS: &[&str] = &[V2025_11_25, V2025_06_18];

/// Every version a server built with this crate answers, newest first: what
/// `server/discover` lists.
pub const SUPPORTED_VERSIONS: &[&str] = &[V2026_07_28, V2025_11_25, V2025_06_18];

/// The `_meta` key under which a stateless (2026-07-28) request carries its version.
pub const STATELESS_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// The `_meta` key under which a stateless (2026-07-28) request carries the client's
/// capabilities.
pub const STATELESS_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";

/// The version a server answers to an `initialize` that asked for `requested`: the same
/// when it is a handshake version this crate speaks, otherwise [`LATEST`].
///
/// ```
/// use switchboard_mcp::version::negotiate;
///
/// assert_eq!(negotiate("2025-06-18"), "2025-06-18");
/// assert_eq!(negotiate("2025-11-25"), "2025-11-25");
/// assert_eq!(negotiate("2026-07-28"), "2025-11-25");
/// assert_eq!(negotiate("1999-01-01"), "2025-11-25");
/// ```
pub fn negotiate(requested: &str) -> &'static str {
    HANDSHAKE_VERSIONS
        .iter()
        .copied()
        .find(|version| *version == requested)
        .unwrap_or(LATEST)
}

/// Whether a client speaks `version` when a server answered `initialize` with it.
pub fn is_handshake_version(version: &str) -> bool {
    HANDSHAKE_VERSIONS.contains(&version)
}

/// The error code of a stateless request whose version this server does not speak.
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;

/// The versions a stateless request may name in its `_meta`.
pub const STATELESS_VERSIONS: &[&str] = &[V2026_07_28];

/// The answer to a stateless request that named `requested`, a version this server does not
/// speak: -32022, with the versions it does speak, so the client can pick one and retry.
///
/// ```
/// let error = switchboard_mcp::version::unsupported_version("2030-01-01");
/// assert_eq!(error.code(), -32022);
/// assert_eq!(error.data().unwrap()["supported"][0], "2026-07-28");
/// ```
pub fn unsupported_version(requested: &str) -> switchboard::Error {
    switchboard::Error::new(
        UNSUPPORTED_PROTOCOL_VERSION,
        format!("MCP version `{requested}` is not supported here"),
    )
    .with_data(serde_json::json!({
        "requested": requested,
        "supported": STATELESS_VERSIONS,
    }))
}
