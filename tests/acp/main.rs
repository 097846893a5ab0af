//! ACP tests: our client against the echo agent, in process and across processes. Both ends
//! against the official Rust SDK are in `interop/`, a workspace of its own (run from
//! `tests/interop.rs`).
//!
//! | file | what it proves |
//! |---|---|
//! | `cli.rs` | the `acp_client` program: `--help`, bad arguments, `--cancel-after`, `--trace`, `--verbose` |
//! | `handshake.rs` | `initialize`: version negotiation, the gate before it, no second one |
//! | `sessions.rs` | streamed updates in order, updates racing `session/new`, `session/load`, 1 000 sessions, list/close/resume/delete, -32002 for an unclaimed session |
//! | `cancel.rs` | `session/cancel` ends a held turn `cancelled`; `$/cancel_request` ends it too and answers -32800 |
//! | `callbacks.rs` | the agent reads files and asks permission to write them through the client |
//! | `extensions.rs` | extension methods and `_meta` pass through untouched |
//! | `spawned.rs` | the `acp_echo_agent` binary as a child process, driven by our client; `/crash` kills it mid-prompt |
//!
//! No test sleeps to order events: each waits for the message that shows the state it needs.
//! `tokio::time::timeout` appears only as a hang guard (see `support::guard`).

#[path = "../common/example_binaries.rs"]
mod example_binaries;

mod callbacks;
mod cancel;
mod cli;
mod extensions;
mod handshake;
mod mcp_servers;
mod sessions;
mod spawned;
mod support;
