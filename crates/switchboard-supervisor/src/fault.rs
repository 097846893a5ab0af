//! The fault taxonomy: why a call failed, in one type, and the JSON-RPC error the caller
//! sees for it.

use serde::{Deserialize, Serialize};
use switchboard::Error;

/// Where a call failed. Each stage has its own JSON-RPC code ([`Stage::code`]), except
/// [`Downstream`](Stage::Downstream), whose errors are the worker's own and pass unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// The caller sent a call whose contract cannot be known (its operation cannot be named).
    InvalidInput,
    /// A call came before the handshake it needs.
    NotInitialized,
    /// The worker's pipe broke, or the worker could not be started.
    Transport,
    /// The worker exited, crashed, hung, or failed its handshake; or the restart limit was
    /// reached.
    Process,
    /// The worker answered with an error (passed on unchanged).
    Downstream,
    /// The supervisor itself failed.
    Internal,
    /// A rollout to a changed executable failed.
    Rollout,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 7] = [
        Stage::InvalidInput,
        Stage::NotInitialized,
        Stage::Transport,
        Stage::Process,
        Stage::Downstream,
        Stage::Internal,
        Stage::Rollout,
    ];

    /// The JSON-RPC code of a fault at this stage. [`Downstream`](Stage::Downstream) has none
    /// of its own: the worker's error keeps its code (-32603 is given for a fault made here).
    pub const fn code(self) -> i32 {
        match self {
            Stage::InvalidInput => -32602,
            Stage::NotInitialized => -32002,
            Stage::Transport => -32010,
            Stage::Process => -32011,
            Stage::Downstream | Stage::Internal => -32603,
            Stage::Rollout => -32012,
        }
    }

    /// Its name, as in [`Fault`]'s JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::InvalidInput => "invalid_input",
            Stage::NotInitialized => "not_initialized",
            Stage::Transport => "transport",
            Stage::Process => "process",
            Stage::Downstream => "downstream",
            Stage::Internal => "internal",
            Stage::Rollout => "rollout",
        }
    }
}

/// Why a call failed: the stage, the code, what happened, whether trying again could work
/// and whether the supervisor already did, and the worker generation it concerns.
///
/// A fault reaches the caller as a JSON-RPC error ([`Fault::into_error`]) whose `data` is the
/// fault itself, so a client can read it back:
///
/// ```
/// use switchboard_supervisor::{Fault, Stage};
///
/// let fault = Fault::new(Stage::Process, "the worker exited (status 3)")
///     .generation(2)
///     .method("tools/call");
/// let error = fault.clone().into_error();
/// assert_eq!(error.code(), -32011);
/// assert_eq!(Fault::from_error(&error), Some(fault));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Fault {
    /// Where it failed.
    pub stage: Stage,
    /// The JSON-RPC code the caller sees.
    pub code: i32,
    /// What happened, for a person.
    pub message: String,
    /// Whether the same call could succeed if made again.
    pub retryable: bool,
    /// Whether the supervisor made it again before giving this answer.
    pub retried: bool,
    /// The worker generation it concerns (0 before the first started).
    pub generation: u64,
    /// The method of the call, when a call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl Fault {
    /// A fault at `stage`, with the stage's code; retryable for the stages a new generation
    /// may cure (transport, process, rollout).
    pub fn new(stage: Stage, message: impl Into<String>) -> Self {
        Fault {
            stage,
            code: stage.code(),
            message: message.into(),
            retryable: matches!(stage, Stage::Transport | Stage::Process | Stage::Rollout),
            retried: false,
            generation: 0,
            method: None,
        }
    }

    /// Sets the generation.
    #[must_use]
    pub fn generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Sets the method of the call.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Sets whether the call was made again before this answer.
    #[must_use]
    pub fn retried(mut self, retried: bool) -> Self {
        self.retried = retried;
        self
    }

    /// Sets whether the call could succeed if made again.
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The JSON-RPC error the caller sees: the fault's code and message, the fault as `data`.
    pub fn into_error(self) -> Error {
        let data = serde_json::to_value(&self).unwrap_or(serde_json::Value::Null);
        Error::new(self.code, self.message).with_data(data)
    }

    /// The fault an error carries, if it was made by [`into_error`](Fault::into_error).
    pub fn from_error(error: &Error) -> Option<Fault> {
        error
            .data()
            .and_then(|data| serde_json::from_value(data.clone()).ok())
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fault (generation {}): {}",
            self.stage.name(),
            self.generation,
            self.message
        )
    }
}
