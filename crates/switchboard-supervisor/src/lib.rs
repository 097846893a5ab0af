//! Supervised workers for any protocol on Switchboard.
//!
//! A [`Supervisor`] is a component that stands for a worker (a child process, or anything a
//! factory makes): a connection connects to it as to the worker itself, and stays up while
//! the worker behind it runs in generations.
//!
//! - **Restart**: a generation that exits, crashes, hangs or fails its handshake is replaced,
//!   after a backoff with jitter, at most so many times in a window ([`RestartPolicy`]).
//! - **Handshake replay**: the protocol's [`Handshake`] is captured from the caller once and
//!   replayed to every new generation, whose answer is checked against the first.
//! - **Replay contracts**: a call lost with its generation is sent to the next if it is
//!   [`Replay::Safe`]; otherwise it fails with a [`Fault`] that says which method, which
//!   generation, and that it was not retried ([`Replay::Never`], the default).
//! - **Faults**: every failure is a [`Fault`] with a [`Stage`], a JSON-RPC code, and whether
//!   it is retryable and was retried; the caller gets it as the error's `data`.
//! - **Health and telemetry**: [`SupervisorStatus`] and two methods the supervisor answers
//!   itself ([`HEALTH_METHOD`], [`TELEMETRY_METHOD`]) give the generation, state and latest
//!   fault, and per operation the counts, errors by stage, calls in flight and latency
//!   percentiles; optionally one JSON line per call goes to a file.
//! - **Recovery**: a protocol's state that lives in the worker (ACP's sessions) is learnt
//!   from the calls and restored into each new generation ([`Recovery`]).
//! - **Rollout**: when the worker's executable changes, the running generation finishes its
//!   calls while new ones wait, and the next generation runs the new executable.
//!
//! The core knows nothing of any protocol, and neither does this crate: a protocol's crate
//! (or your code) says which methods are its handshake and which calls are safe to repeat.
//!
//! Built on the core's public API only (a connection to the caller, one per generation to
//! the worker, [forwarding](switchboard::ConnectionTo::send_proxied_message) between them),
//! in a crate of its own so that the core stays free of timers and processes it does not need.

mod call;
mod contract;
mod fault;
mod generation;
mod handshake;
mod health;
mod policy;
mod recovery;
mod run;
mod state;
mod supervisor;
mod telemetry;
mod watch;

pub use contract::{Contracts, Replay};
pub use fault::{Fault, Stage};
pub use handshake::Handshake;
pub use health::{Health, WorkerState};
pub use policy::RestartPolicy;
pub use recovery::Recovery;
pub use supervisor::{
    DEFAULT_MAX_REPLAYS, HEALTH_METHOD, Supervisor, SupervisorStatus, TELEMETRY_METHOD,
};
pub use telemetry::{
    LATENCY_WINDOW, MAX_OPERATIONS, OTHER_OPERATIONS, OperationStats, TelemetrySnapshot,
};
