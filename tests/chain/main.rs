//! Chain tests: an editor, proxies and an agent, all in process, run by the conductor
//! (`switchboard-conductor`'s `Chain`). Each behaviour is checked for chains of 0, 1 and 3
//! proxies (those that need a proxy, for 1 and 3).
//!
//! | file | what it proves |
//! |---|---|
//! | `streaming.rs` | prompts and updates arrive in order, the answer after them; sessions stay apart |
//! | `streams.rs` | a `switchboard::stream` crosses the conductor and its proxies: order, the window held end to end, a drop stops the agent |
//! | `callbacks.rs` | the agent's requests to the client (read a file, ask permission, write) cross every hop |
//! | `cancel.rs` | `session/cancel` crosses every hop; `$/cancel_request` is re-sent hop by hop, with each hop's id |
//! | `proxies.rs` | a proxy answers a prompt itself, injects an update, changes the prompt |
//! | `crash.rs` | a component ending mid-prompt fails the prompt with -32099 naming it; `run` returns that error |
//! | `trace.rs` | every trace line has its fields; one prompt followed from hop to hop |
//! | `bad_input.rs` | a proxy's `proxy/successor` without a message gets -32602, and the chain serves on |
//!
//! `components.rs` holds the proxies and agents the tests put together; `support.rs` the
//! helpers. No test sleeps to order events: each waits for the message that shows the state
//! it needs. `tokio::time::timeout` appears only as a hang guard (see `support::guard`).

mod bad_input;
mod callbacks;
mod cancel;
mod components;
mod crash;
mod mcp_over_acp;
mod proxies;
mod streaming;
mod streams;
mod support;
mod trace;
