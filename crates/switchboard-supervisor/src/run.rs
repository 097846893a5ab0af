//! The loop of generations: start one, wait for its end (a crash, a hang, a rollout, the
//! caller gone), and start the next after the backoff, or give up.

use std::time::Instant;

use futures::FutureExt;
use switchboard::cancel::Cancellation;
use switchboard::{ConnectionTo, UntypedRole};

use crate::fault::{Fault, Stage};
use crate::generation::{self, Running, Source, Start};
use crate::health::WorkerState;
use crate::policy::{RestartPolicy, Restarts};
use crate::state::{Availability, SharedState};
use crate::watch::Watch;

/// How a generation ended.
enum Ended {
    /// By itself, or hung: a crash.
    Crashed(Fault),
    /// The executable changed: roll forward.
    Rollout(Running),
    /// The caller's connection ended.
    CallerGone(Option<Running>),
}

/// What the loop needs besides the shared state.
pub(crate) struct Loop {
    pub(crate) source: Source,
    pub(crate) policy: RestartPolicy,
    pub(crate) watch: Option<Watch>,
    pub(crate) cancellation: Option<Cancellation>,
}

/// Runs generations for as long as the caller's connection lasts.
pub(crate) async fn supervise(
    shared: SharedState,
    mut setup: Loop,
    caller: ConnectionTo<UntypedRole>,
) {
    let mut restarts = Restarts::new(setup.policy.clone());
    let caller_gone = caller.input_ended().shared();
    let mut rolling_out = false;
    loop {
        let generation = shared.begin_generation();
        let start = Start {
            generation,
            handshake: &shared.rules.handshake,
            captured: shared.captured(),
            caller: caller.clone(),
            cancellation: setup.cancellation,
            recovery: shared.rules.recovery.clone(),
        };
        let started = futures::select! {
            started = generation::start(&mut setup.source, start).fuse() => started,
            () = caller_gone.clone().fuse() => return stopped(&shared, None).await,
        };
        let ended = match started {
            Err(fault) => Ended::Crashed(fault),
            Ok(mut running) => {
                shared.set_available(Availability::Ready(running.worker.clone()));
                shared.set_state(WorkerState::Ready);
                rolling_out = false;
                let watch = setup.watch.as_mut();
                let outcome = futures::select! {
                    why = generation::ended(&mut running.ended).fuse() => Err(Fault::new(
                        Stage::Process,
                        format!("generation {generation} ended: {why}"),
                    )),
                    fault = generation::hung(&running.worker.hung).fuse() => Err(fault),
                    () = changed(watch).fuse() => Ok(false),
                    () = caller_gone.clone().fuse() => Ok(true),
                };
                match outcome {
                    Err(fault) => {
                        shared.set_available(Availability::Waiting);
                        running.stop().await;
                        Ended::Crashed(fault.generation(generation))
                    }
                    Ok(false) => Ended::Rollout(running),
                    Ok(true) => Ended::CallerGone(Some(running)),
                }
            }
        };
        match ended {
            Ended::CallerGone(running) => return stopped(&shared, running).await,
            Ended::Rollout(running) => {
                // New calls wait for the next generation; this one finishes what it has.
                shared.set_state(WorkerState::Draining);
                shared.set_available(Availability::Waiting);
                let mut calls = running.worker.calls.subscribe();
                futures::select! {
                    _ = calls.wait_for(|calls| *calls == 0).map(|_| ()).fuse() => {}
                    () = caller_gone.clone().fuse() => return stopped(&shared, Some(running)).await,
                }
                running.stop().await;
                shared.count_rollout();
                rolling_out = true;
            }
            Ended::Crashed(mut fault) => {
                shared.set_available(Availability::Waiting);
                if rolling_out {
                    fault.stage = Stage::Rollout;
                    fault.code = Stage::Rollout.code();
                }
                shared.record_fault(&fault);
                let Some(wait) = restarts.next(Instant::now()) else {
                    let (limit, window) = restarts.limit();
                    let gave_up = Fault::new(
                        Stage::Process,
                        format!(
                            "the worker was restarted {limit} times within {window:?} and failed again; the supervisor gave up. The last failure: {}",
                            fault.message
                        ),
                    )
                    .generation(generation)
                    .retryable(false);
                    shared.record_fault(&gave_up);
                    shared.set_state(WorkerState::Failed);
                    shared.set_available(Availability::GaveUp(gave_up));
                    caller_gone.clone().await;
                    return stopped(&shared, None).await;
                };
                shared.set_state(WorkerState::Restarting);
                futures::select! {
                    () = tokio::time::sleep(wait).fuse() => {}
                    () = caller_gone.clone().fuse() => return stopped(&shared, None).await,
                }
                shared.count_restart();
            }
        }
    }
}

/// Resolves when the watched executable changes; never without a watch.
async fn changed(watch: Option<&mut Watch>) {
    match watch {
        Some(watch) => watch.changed().await,
        None => std::future::pending().await,
    }
}

/// The caller is gone: the worker ends, and every call still waiting fails.
async fn stopped(shared: &SharedState, running: Option<Running>) {
    let generation = shared.health().generation;
    shared.set_available(Availability::GaveUp(
        Fault::new(
            Stage::Internal,
            "the supervisor stopped: its caller has gone",
        )
        .generation(generation)
        .retryable(false),
    ));
    if let Some(running) = running {
        running.stop().await;
    }
    shared.set_state(WorkerState::Stopped);
}
