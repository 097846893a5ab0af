//! The health snapshot: which generation runs, in what state, and the latest fault.

use serde::Serialize;

use crate::fault::Fault;

/// What the worker is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorkerState {
    /// A generation is starting (its handshake replayed); calls wait for it.
    Starting,
    /// A generation takes calls.
    Ready,
    /// The last generation ended; the next starts after the backoff.
    Restarting,
    /// The executable changed: the generation finishes its calls and takes no new ones,
    /// which wait for the next.
    Draining,
    /// The restart limit was reached: every call fails with the fault that says why.
    Failed,
    /// The caller's connection ended; so did the worker.
    Stopped,
}

/// A snapshot of the supervisor's health.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Health {
    /// The current (or latest) generation: 1 for the first worker.
    pub generation: u64,
    /// Restarts after a crash, in all.
    pub restarts: u64,
    /// Rollouts to a changed executable, in all.
    pub rollouts: u64,
    /// What the worker is doing.
    pub state: WorkerState,
    /// The latest fault of a generation (a crash, a hang, a failed handshake), if any.
    pub last_fault: Option<Fault>,
    /// Calls not answered yet.
    pub in_flight: u64,
}
