//! What a protocol restores in a new generation beyond its handshake (ACP's sessions), and
//! the calls it refuses once that state is lost.

use futures::future::BoxFuture;
use switchboard::{ConnectionTo, RawJson, UntypedRole};

use crate::fault::Fault;

/// A protocol's state that lives in the worker, learnt from the calls and restored into each
/// new generation.
///
/// The supervisor tells it of every call answered with success; after a new generation has
/// had the handshake replayed, it runs [`restore`](Recovery::restore) before the generation
/// takes calls, with the worker's notifications held back meanwhile (a history the worker
/// replays was seen by the caller already). A call that names state the recovery could not
/// restore is refused with the fault [`refuse`](Recovery::refuse) gives, instead of being
/// sent to a worker that knows nothing of it.
pub trait Recovery: Send + Sync + 'static {
    /// A call of `method` with `params` was answered with `result` (as the worker sent it:
    /// parse only what you need).
    fn answered(&self, method: &str, params: Option<&RawJson>, result: &RawJson);

    /// Restores what was learnt into generation `generation`, reached at `worker`. An error
    /// fails the generation, as a failed handshake does.
    fn restore(
        &self,
        worker: ConnectionTo<UntypedRole>,
        generation: u64,
    ) -> BoxFuture<'static, Result<(), Fault>>;

    /// The fault for a call that can no longer succeed, or `None` to send it.
    fn refuse(&self, method: &str, params: Option<&RawJson>) -> Option<Fault>;
}
