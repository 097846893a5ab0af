//! Nothing but the tests: `tests/acp.rs` (our client and agent against the official SDK's,
//! in process and across processes) and `tests/chain.rs` (SDK-built agents and proxies in our
//! chains). Run with `cargo test --manifest-path interop/Cargo.toml`, or through
//! `cargo test --workspace` at the repository root.
