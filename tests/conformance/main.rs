//! Conformance tests: each guarantee of the design brief, the echo service's contract, and the
//! wire rules, checked over in-process transports.
//!
//! One file per concern, so the book can point at the test that proves each claim:
//!
//! | file | what it proves |
//! |---|---|
//! | `order.rs` | guarantee 1: send order, notification-before-response, dispatch order |
//! | `neutral.rs` | guarantee 9: the core's code names no protocol's method |
//! | `no_deadlock.rs` | guarantee 2: `block_task()` inside a handler fails at once |
//! | `close.rs` | guarantee 3: clean EOF, pending requests fail, transport errors are errors |
//! | `faults.rs` | faults with requests in flight: read and write failures, a frame cut by EOF, panics |
//! | `answers.rs` | guarantee 4: every request is answered exactly once |
//! | `bounded.rs` | guarantee 5: backpressure, the outgoing bound, oversized frames |
//! | `cancel.rs` | cancellation in a notification convention, and timeouts: sent for dropped or late requests, seen by responders, -32800, hop by hop |
//! | `cancel_conventions.rs` | guarantee 9: cancellation is the protocol's (none, a field of its own, no answer after a cancellation, translation by forwarders) |
//! | `runtime.rs` | guarantee 7: `Send` futures, running without tokio |
//! | `echo_contract.rs` | the `echo_server` contract of issue 2, on the wire |
//! | `batches.rs` | JSON-RPC 2.0 batches |
//! | `framing.rs` | newline and `Content-Length` framing (two peers over it, its bytes, malformed headers), who chooses the framing, parse errors, oversized frames, request ids |
//! | `bad_input/` | a table of malformed and hostile inputs: exact answers or silence, and the connection serves on |
//! | `dynamic.rs` | guarantee 6: dynamic handlers, keyed routing with thousands of sessions |
//! | `parking.rs` | early messages: replay in order, bounds, expiry |
//! | `peers.rs` | roles that reach two peers through their counterpart |
//! | `forwarding.rs`, `forwarding_pieces.rs` | a client → forwarder → server chain, and its parts |
//! | `taps.rs` | watching a connection: `input_ended`, `SentRequest::map_err`, `Transport::inspect` / `Inspect` (every frame, batches split), `Transport::on_input_end` (pending requests fail after the hook) |
//! | `tracing.rs` | what a connection tells `tracing`: spans per connection and message, failures naming method and id |
//! | `child.rs` | child processes (unix): JSON-RPC over their pipes, the stderr tail, process-group kill, spawn errors |
//!
//! No test sleeps to create an interleaving: oneshot channels the test controls, and futures
//! polled by hand, decide what runs when. `tokio::time::timeout` appears only as a hang guard
//! (see `support::guard`).

mod answers;
mod bad_input;
mod batches;
mod bounded;
mod cancel;
mod cancel_conventions;
mod child;
mod close;
mod dynamic;
mod echo_contract;
mod faults;
mod forwarding;
mod forwarding_pieces;
mod framing;
mod neutral;
mod no_deadlock;
mod order;
mod parking;
mod peers;
mod runtime;
mod session_host;
mod support;
mod taps;
mod tracing;
