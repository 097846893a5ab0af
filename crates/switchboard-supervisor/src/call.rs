//! The caller's side: each message it sends, passed to the generation that takes calls;
//! each call followed to its answer, across generations when its contract allows.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use futures::future::{Either, FusedFuture, ready};
use switchboard::message::{JsonRpcMessage, JsonRpcRequest};
use switchboard::{ConnectionTo, Dispatch, Error, RawJson, Responder, UntypedMessage, UntypedRole};

use crate::contract::Replay;
use crate::fault::{Fault, Stage};
use crate::handshake::Captured;
use crate::state::{Finished, SharedState, Worker};
use crate::telemetry::OperationId;

/// The methods the supervisor answers itself.
#[derive(Clone, Debug)]
pub(crate) struct StatusMethods {
    pub(crate) health: String,
    pub(crate) telemetry: String,
}

/// Takes one message from the caller. Never waits: a call runs as a task of its own. A
/// request or a notification is taken before this returns, so the future returned holds no
/// clone of the shared state; only an answer from the caller, to route, is left for it.
pub(crate) fn dispatch(
    shared: &SharedState,
    methods: &StatusMethods,
    message: Dispatch,
    caller: &ConnectionTo<UntypedRole>,
) -> impl Future<Output = Result<(), Error>> + Send + use<> {
    match message {
        Dispatch::Request(request, responder) => Either::Left(ready(take_request(
            shared, methods, request, responder, caller,
        ))),
        Dispatch::Notification(notification) => {
            Either::Left(ready(take_notification(shared, notification)))
        }
        Dispatch::Response(answer, router) => Either::Right(async move {
            router.route(answer).await;
            Ok(())
        }),
    }
}

/// A request from the caller: answered here (the status methods) or followed by a task.
fn take_request(
    shared: &SharedState,
    methods: &StatusMethods,
    request: UntypedMessage,
    responder: Responder<serde_json::Value>,
    caller: &ConnectionTo<UntypedRole>,
) -> Result<(), Error> {
    if request.method() == methods.health {
        return responder.respond(to_json(&shared.health()));
    }
    if request.method() == methods.telemetry {
        return responder.respond(to_json(&shared.telemetry()));
    }
    // Answered with the worker's result as it came: never parsed here.
    caller.spawn(call(SharedState::clone(shared), request, responder.cast()));
    Ok(())
}

/// A notification from the caller: kept if it belongs to the handshake, passed on.
fn take_notification(shared: &SharedState, notification: UntypedMessage) -> Result<(), Error> {
    if shared.rules.handshake.is_handshake(notification.method()) {
        shared.capture(Captured {
            method: notification.method().to_owned(),
            params: notification.params().cloned(),
            answer: None,
        });
    }
    // To the generation taking calls; with none (between two), the notification has
    // nowhere to go: a new generation gets the handshake's again by replay.
    match shared.ready_worker() {
        Some(worker) => worker.connection.send_notification(notification),
        None => {
            tracing::debug!(
                method = notification.method(),
                "no worker generation takes messages: a notification is dropped"
            );
            Ok(())
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// How one attempt at a call ended.
enum Attempt {
    Answered(Result<RawJson, Error>),
    /// The generation was lost (ended, hung) before it answered.
    Lost(Fault),
    Cancelled,
}

/// How a call ended.
enum Outcome {
    /// The worker answered, either way (its error passes unchanged).
    Answered(Result<RawJson, Error>),
    Failed(Fault),
    Cancelled,
}

/// Follows one call to its answer.
async fn call(
    shared: SharedState,
    request: UntypedMessage,
    responder: Responder<RawJson>,
) -> Result<(), Error> {
    // Shared with each attempt's message: sending it (again, on a replay) copies nothing.
    let request = Arc::new(request);
    let method = request.method();
    let (operation, unnamed) = match shared
        .rules
        .contracts
        .operation_of(method, request.params())
    {
        Ok(operation) => (operation, None),
        Err(why) => (Cow::Borrowed(method), Some(why)),
    };
    let id = shared.call_started(&operation);
    let started = Instant::now();
    let (outcome, generation, retried) = match unnamed {
        // Its contract cannot be known: it is not sent.
        Some(why) => {
            let fault = Fault::new(Stage::InvalidInput, why).method(method);
            (Outcome::Failed(fault), 0, false)
        }
        None => follow(&shared, (&operation, id), &request, &responder).await,
    };
    let failed = match &outcome {
        Outcome::Answered(Err(_)) => Some(Stage::Downstream),
        Outcome::Failed(fault) => Some(fault.stage),
        Outcome::Answered(Ok(_)) | Outcome::Cancelled => None,
    };
    shared.call_finished(Finished {
        operation: id,
        name: &operation,
        generation,
        latency: started.elapsed(),
        failed,
        retried,
    });
    match outcome {
        Outcome::Answered(answered) => responder.respond_with_result(answered),
        Outcome::Failed(fault) => responder.respond_with_error(fault.into_error()),
        Outcome::Cancelled => responder.respond_with_error(Error::request_cancelled()),
    }
}

/// Sends a call to the generation taking calls, and again to the next ones while its
/// contract allows; returns how it ended, on which generation, and whether it was sent again.
async fn follow(
    shared: &SharedState,
    (operation, id): (&str, OperationId),
    request: &Arc<UntypedMessage>,
    responder: &Responder<RawJson>,
) -> (Outcome, u64, bool) {
    let rules = &shared.rules;
    let method = request.method();
    let is_handshake = rules.handshake.is_request(method);
    if !is_handshake && !rules.handshake.is_allowed_before(method) && !shared.initialized() {
        let fault = Fault::new(
            Stage::NotInitialized,
            format!("{method} came before the handshake; send the handshake first"),
        )
        .method(method);
        return (Outcome::Failed(fault), 0, false);
    }
    // The handshake is replayed to every generation anyway: it is always safe.
    let safe = is_handshake || rules.contracts.replay(operation) == Replay::Safe;
    // Pinned here once and polled in place by every wait below: no shared future, no
    // allocation for it.
    let cancelled = responder.cancelled().fuse();
    futures::pin_mut!(cancelled);
    let mut replays = 0;
    let mut lost_generation = 0;
    loop {
        let retried = replays > 0;
        // The usual case, a generation ready: taken without waiting. A call already
        // cancelled is then sent and its cancellation passed on at once (below).
        let worker = match shared.ready_worker_after(lost_generation) {
            Some(worker) => Ok(worker),
            None => futures::select! {
                worker = shared.worker_after(lost_generation).fuse() => worker,
                () = cancelled.as_mut() => {
                    return (Outcome::Cancelled, lost_generation, retried);
                }
            },
        };
        let worker = match worker {
            Ok(worker) => worker,
            Err(fault) => {
                let fault = fault.method(method).retried(retried);
                return (Outcome::Failed(fault), lost_generation, retried);
            }
        };
        let generation = worker.generation;
        if worker.connection.input_ended().now_or_never().is_some() {
            // Gone already, and the loop has not said so yet: the next one, and no replay
            // counted for a generation that never had the call.
            lost_generation = generation;
            continue;
        }
        // Asked of the generation the call would go to, once it has restored what it could.
        if let Some(fault) = rules
            .recovery
            .as_ref()
            .and_then(|recovery| recovery.refuse(method, request.params()))
        {
            let fault = fault.generation(generation).method(method).retried(retried);
            return (Outcome::Failed(fault), generation, retried);
        }
        match attempt(shared, &worker, request, cancelled.as_mut()).await {
            Attempt::Cancelled => return (Outcome::Cancelled, generation, retried),
            Attempt::Answered(answered) => {
                if let Ok(raw) = &answered {
                    if is_handshake {
                        // Kept to check every later generation's answer against.
                        let answer = raw.to_value().unwrap_or(serde_json::Value::Null);
                        shared.capture(Captured {
                            method: method.to_owned(),
                            params: request.params().cloned(),
                            answer: Some(answer),
                        });
                    }
                    if let Some(recovery) = &rules.recovery {
                        recovery.answered(method, request.params(), raw);
                    }
                }
                return (Outcome::Answered(answered), generation, retried);
            }
            Attempt::Lost(fault) if safe && replays < rules.max_replays => {
                tracing::debug!(%fault, method, "a safe call is sent to the next generation");
                replays += 1;
                lost_generation = generation;
                shared.call_retried(id);
            }
            Attempt::Lost(fault) => {
                let message = if safe {
                    format!(
                        "{operation} was sent to {} generations and none answered; the last: {}",
                        replays + 1,
                        fault.message
                    )
                } else {
                    format!(
                        "{}; {operation} may not be replayed, so it was not retried",
                        fault.message
                    )
                };
                let fault = Fault::new(Stage::Process, message)
                    .generation(generation)
                    .method(method)
                    .retried(retried);
                return (Outcome::Failed(fault), generation, retried);
            }
        }
    }
}

/// Sends the call to `worker` once, and waits for its answer, the generation's loss, or the
/// caller's cancellation.
async fn attempt(
    shared: &SharedState,
    worker: &Worker,
    request: &Arc<UntypedMessage>,
    mut cancelled: impl FusedFuture<Output = ()> + Unpin,
) -> Attempt {
    let generation = worker.generation;
    let _in_flight = worker.call_guard();
    let mut sent = worker
        .connection
        .send_request(PassedOn(Arc::clone(request)));
    if let Some(timeout) = shared.rules.call_timeout {
        sent = sent.timeout(timeout);
    }
    let answer = futures::select! {
        answer = sent.block_task().fuse() => answer,
        // Dropping the answer's future tells the worker to stop.
        () = cancelled => return Attempt::Cancelled,
    };
    match answer {
        Ok(value) => Attempt::Answered(Ok(value)),
        Err(error) if error.is_timeout() => {
            let fault = Fault::new(
                Stage::Process,
                format!(
                    "generation {generation} did not answer {} within {:?} and is taken for hung",
                    request.method(),
                    shared.rules.call_timeout.unwrap_or_default()
                ),
            )
            .generation(generation);
            worker.hung.send_replace(Some(fault.clone()));
            Attempt::Lost(fault)
        }
        Err(error)
            if error.is_connection_closed()
                || error.code() == switchboard::error::codes::TRANSPORT_ERROR =>
        {
            Attempt::Lost(
                Fault::new(
                    Stage::Process,
                    format!(
                        "generation {generation} ended before it answered {}",
                        request.method()
                    ),
                )
                .generation(generation),
            )
        }
        Err(error) => Attempt::Answered(Err(error)),
    }
}

/// A call passed on to the worker as it came, whose answer is kept as the raw JSON the worker
/// sent: the supervisor reads neither params nor result on a call's way.
struct PassedOn(Arc<UntypedMessage>);

impl JsonRpcMessage<UntypedRole> for PassedOn {
    fn matches_method(_method: &str) -> bool {
        true
    }

    fn method(&self) -> &str {
        self.0.method()
    }

    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        <UntypedMessage as JsonRpcMessage<UntypedRole>>::write_params(&self.0, out)
    }

    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        Ok(PassedOn(Arc::new(message)))
    }
}

impl JsonRpcRequest<UntypedRole> for PassedOn {
    type Response = RawJson;
}
