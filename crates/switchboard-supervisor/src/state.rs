//! What the caller's side, the calls and the generations share: the worker calls go to, the
//! health figures, the captured handshake, the telemetry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use switchboard::{ConnectionTo, UntypedRole};
use tokio::sync::{mpsc, watch};

use crate::contract::Contracts;
use crate::fault::{Fault, Stage};
use crate::handshake::{Captured, Handshake};
use crate::health::{Health, WorkerState};
use crate::recovery::Recovery;
use crate::telemetry::{CallRecord, OperationId, Telemetry, TelemetrySnapshot};

/// The settings the calls need.
pub(crate) struct Rules {
    pub(crate) handshake: Handshake,
    pub(crate) contracts: Contracts,
    pub(crate) call_timeout: Option<Duration>,
    /// How many times a safe call is sent again before it fails.
    pub(crate) max_replays: u32,
    pub(crate) recovery: Option<Arc<dyn Recovery>>,
}

/// Where calls go now.
#[derive(Clone)]
pub(crate) enum Availability {
    /// No generation takes calls yet (starting, restarting, draining): wait.
    Waiting,
    /// This one does.
    Ready(Worker),
    /// None ever will: fail with this.
    GaveUp(Fault),
}

/// A generation that takes calls.
#[derive(Clone)]
pub(crate) struct Worker {
    pub(crate) generation: u64,
    pub(crate) connection: ConnectionTo<UntypedRole>,
    /// Its calls in flight, for a rollout to wait until none is left.
    pub(crate) calls: watch::Sender<usize>,
    /// Set when a call finds the generation hung: it is ended and replaced.
    pub(crate) hung: watch::Sender<Option<Fault>>,
}

impl Worker {
    /// Counts a call in flight on this generation until the guard is dropped.
    pub(crate) fn call_guard(&self) -> CallGuard {
        // Only a rollout waits on this, and only for zero: nobody is told of a call starting.
        self.calls.send_if_modified(|calls| {
            *calls += 1;
            false
        });
        CallGuard {
            calls: self.calls.clone(),
        }
    }
}

/// A call in flight on a generation.
pub(crate) struct CallGuard {
    calls: watch::Sender<usize>,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.calls.send_if_modified(|calls| {
            *calls = calls.saturating_sub(1);
            *calls == 0
        });
    }
}

#[derive(Default)]
struct Status {
    generation: u64,
    restarts: u64,
    rollouts: u64,
    state: Option<WorkerState>,
    last_fault: Option<Fault>,
    captured: Vec<Captured>,
    /// Whether every request of the handshake has been answered once.
    initialized: bool,
}

pub(crate) struct Shared {
    pub(crate) rules: Rules,
    status: Mutex<Status>,
    /// Calls not answered yet, for the health: kept apart from `status` so that a call
    /// takes no lock of it on its way.
    in_flight: AtomicU64,
    telemetry: Mutex<Telemetry>,
    available: watch::Sender<Availability>,
    log: Option<mpsc::Sender<CallRecord>>,
}

impl Shared {
    pub(crate) fn new(rules: Rules, log: Option<mpsc::Sender<CallRecord>>) -> Self {
        Shared {
            rules,
            status: Mutex::new(Status::default()),
            in_flight: AtomicU64::new(0),
            telemetry: Mutex::new(Telemetry::default()),
            available: watch::Sender::new(Availability::Waiting),
            log,
        }
    }

    /// Waits for a generation after `lost` (0: any) that takes calls, or for the supervisor
    /// to have given up.
    pub(crate) async fn worker_after(&self, lost: u64) -> Result<Worker, Fault> {
        let mut available = self.available.subscribe();
        let now = available
            .wait_for(|available| match available {
                Availability::Ready(worker) => worker.generation > lost,
                Availability::GaveUp(_) => true,
                Availability::Waiting => false,
            })
            .await;
        match now.as_deref() {
            Ok(Availability::Ready(worker)) => Ok(worker.clone()),
            Ok(Availability::GaveUp(fault)) => Err(fault.clone()),
            Ok(Availability::Waiting) | Err(_) => Err(Fault::new(
                Stage::Internal,
                "the supervisor stopped before a worker was ready",
            )),
        }
    }

    /// The generation after `lost` (0: any) that takes calls now, if one does: what
    /// [`worker_after`](Shared::worker_after) finds at once, without subscribing to wait.
    pub(crate) fn ready_worker_after(&self, lost: u64) -> Option<Worker> {
        match &*self.available.borrow() {
            Availability::Ready(worker) if worker.generation > lost => Some(worker.clone()),
            _ => None,
        }
    }

    /// The generation that takes calls now, if one does.
    pub(crate) fn ready_worker(&self) -> Option<Worker> {
        self.ready_worker_after(0)
    }

    pub(crate) fn set_available(&self, available: Availability) {
        self.available.send_replace(available);
    }

    pub(crate) fn set_state(&self, state: WorkerState) {
        lock(&self.status).state = Some(state);
    }

    pub(crate) fn begin_generation(&self) -> u64 {
        let mut status = lock(&self.status);
        status.generation += 1;
        status.state = Some(WorkerState::Starting);
        status.generation
    }

    pub(crate) fn count_restart(&self) {
        lock(&self.status).restarts += 1;
    }

    pub(crate) fn count_rollout(&self) {
        lock(&self.status).rollouts += 1;
    }

    pub(crate) fn record_fault(&self, fault: &Fault) {
        tracing::warn!(%fault, "the supervised worker failed");
        lock(&self.status).last_fault = Some(fault.clone());
    }

    /// The captured handshake, to replay.
    pub(crate) fn captured(&self) -> Vec<Captured> {
        lock(&self.status).captured.clone()
    }

    /// Keeps a handshake message the first time its method is seen; a request once answered.
    pub(crate) fn capture(&self, message: Captured) {
        let mut status = lock(&self.status);
        if status.captured.iter().any(|c| c.method == message.method) {
            return;
        }
        status.captured.push(message);
        let answered = status
            .captured
            .iter()
            .filter(|c| c.answer.is_some())
            .count();
        if self.rules.handshake.all_answered(answered) {
            status.initialized = true;
        }
    }

    /// Whether calls may be made: the handshake is done, or there is none.
    pub(crate) fn initialized(&self) -> bool {
        self.rules.handshake.is_empty() || lock(&self.status).initialized
    }

    /// A call of `operation` started; returns where its figures are kept.
    pub(crate) fn call_started(&self, operation: &str) -> OperationId {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        lock(&self.telemetry).started(operation)
    }

    pub(crate) fn call_retried(&self, operation: OperationId) {
        lock(&self.telemetry).retried(operation);
    }

    pub(crate) fn call_finished(&self, finished: Finished<'_>) {
        // Never below zero: every call that finishes started.
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut telemetry = lock(&self.telemetry);
        telemetry.finished(finished.operation, finished.latency, finished.failed);
        if let Some(log) = &self.log {
            let record = CallRecord {
                at_ms: CallRecord::now_ms(),
                operation: finished.name.to_owned(),
                generation: finished.generation,
                ok: finished.failed.is_none(),
                stage: finished.failed,
                retried: finished.retried,
                latency_us: u64::try_from(finished.latency.as_micros()).unwrap_or(u64::MAX),
            };
            if log.try_send(record).is_err() {
                telemetry.dropped_record();
            }
        }
    }

    pub(crate) fn health(&self) -> Health {
        let status = lock(&self.status);
        Health {
            generation: status.generation,
            restarts: status.restarts,
            rollouts: status.rollouts,
            state: status.state.unwrap_or(WorkerState::Starting),
            last_fault: status.last_fault.clone(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn telemetry(&self) -> TelemetrySnapshot {
        lock(&self.telemetry).snapshot()
    }
}

/// How a call ended, for the figures.
pub(crate) struct Finished<'a> {
    pub(crate) operation: OperationId,
    /// The operation's own name, for the record (the figures may count it under
    /// [`OTHER_OPERATIONS`](crate::telemetry::OTHER_OPERATIONS)).
    pub(crate) name: &'a str,
    pub(crate) generation: u64,
    pub(crate) latency: Duration,
    pub(crate) failed: Option<Stage>,
    pub(crate) retried: bool,
}

/// A lock that a panicking holder cannot poison for the others.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shared between the caller's connection and the loop of generations.
pub(crate) type SharedState = Arc<Shared>;
