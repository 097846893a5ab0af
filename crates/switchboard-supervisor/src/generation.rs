//! One generation of the worker: started, its handshake replayed, its messages to the
//! caller passed on, ended.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use switchboard::cancel::Cancellation;
use switchboard::transport::{ChildCommand, ChildProcess, Transport, TransportConfig};
use switchboard::{ConnectTo, ConnectionTo, Dispatch, Error, UntypedRole};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::fault::{Fault, Stage};
use crate::handshake::{self, Captured, Handshake};
use crate::recovery::Recovery;
use crate::state::Worker;

/// How long a stopped worker gets to exit before it is killed (the command's own grace
/// applies to a child process).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Makes a generation's transport.
pub(crate) type Factory = Box<dyn FnMut(u64) -> Result<Transport, Error> + Send>;

/// Where each generation comes from.
pub(crate) enum Source {
    /// A child process, spawned anew for each.
    Command(ChildCommand),
    /// Anything else: an in-process worker, a socket.
    Factory(Factory),
}

/// A generation that took calls, and its end.
pub(crate) struct Running {
    pub(crate) worker: Worker,
    /// Says why the generation's connection ended, once it has ([`ended`]).
    pub(crate) ended: oneshot::Receiver<String>,
    /// Ends the generation when set.
    stop: watch::Sender<bool>,
    task: AbortOnDrop,
}

impl Running {
    /// Ends the generation and waits until it has (its worker process gone).
    pub(crate) async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.0.as_mut() {
            let _ = task.await;
        }
        self.task.0 = None;
    }
}

/// Resolves with why a generation ended by itself, given its `ended`.
pub(crate) async fn ended(ended: &mut oneshot::Receiver<String>) -> String {
    ended.await.unwrap_or_else(|_| "its task ended".to_owned())
}

/// Resolves once a call has found a generation hung (given its `hung`), with the fault it
/// found.
pub(crate) async fn hung(hung: &watch::Sender<Option<Fault>>) -> Fault {
    let mut hung = hung.subscribe();
    let found = hung
        .wait_for(Option::is_some)
        .await
        .map(|fault| fault.clone());
    match found {
        Ok(fault) => fault.unwrap_or_else(|| Fault::new(Stage::Process, "hung")),
        Err(_) => std::future::pending().await,
    }
}

/// Aborts the generation's task if the supervisor is dropped mid-way: its worker ends with it.
struct AbortOnDrop(Option<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// What a new generation needs.
pub(crate) struct Start<'a> {
    pub(crate) generation: u64,
    pub(crate) handshake: &'a Handshake,
    pub(crate) captured: Vec<Captured>,
    pub(crate) caller: ConnectionTo<UntypedRole>,
    pub(crate) cancellation: Option<Cancellation>,
    pub(crate) recovery: Option<Arc<dyn Recovery>>,
}

/// Starts a generation from `source`; returns once its handshake is replayed and it takes
/// calls.
pub(crate) async fn start(source: &mut Source, start: Start<'_>) -> Result<Running, Fault> {
    let generation = start.generation;
    let (transport, child) = make_transport(source, generation).map_err(|error| {
        Fault::new(
            Stage::Transport,
            format!(
                "generation {generation} could not be started: {}",
                error.message()
            ),
        )
        .generation(generation)
    })?;
    let caller = start.caller;
    // Until the generation takes calls, what it says unasked is its replay of a history the
    // caller has seen (a loaded session's): held back.
    let restoring = Arc::new(AtomicBool::new(true));
    let quiet = Arc::clone(&restoring);
    let mut builder = UntypedRole
        .builder()
        .name(format!("worker generation {generation}"))
        // What the worker sends (its requests to the caller, its notifications) goes to the
        // caller as it comes; the answer to a request comes back.
        .on_receive_dispatch(move |dispatch: Dispatch, _worker| {
            if quiet.load(Ordering::SeqCst) && matches!(dispatch, Dispatch::Notification(_)) {
                return ready(Ok(()));
            }
            ready(caller.send_proxied_message(dispatch))
        });
    if let Some(cancellation) = start.cancellation {
        builder = builder.cancellation(cancellation);
    }
    let (ready_tx, ready_rx) = oneshot::channel::<Result<Worker, Fault>>();
    let (ended_tx, ended_rx) = oneshot::channel::<String>();
    let (stop, mut stopping) = watch::channel(false);
    let handshake = start.handshake.clone();
    let captured = start.captured;
    let recovery = start.recovery;
    let task = tokio::spawn(async move {
        let mut child = child;
        let ran = builder
            .connect_with(
                transport,
                async move |connection: ConnectionTo<UntypedRole>| {
                    let mut replayed =
                        handshake::replay(&handshake, &captured, &connection, generation).await;
                    if let (Ok(()), Some(recovery)) = (&replayed, &recovery) {
                        replayed = recovery.restore(connection.clone(), generation).await;
                    }
                    restoring.store(false, Ordering::SeqCst);
                    let worker = replayed.map(|()| Worker {
                        generation,
                        connection: connection.clone(),
                        calls: watch::Sender::new(0),
                        hung: watch::Sender::new(None),
                    });
                    let took = worker.is_ok();
                    let _ = ready_tx.send(worker);
                    if took {
                        futures::select! {
                            () = connection.input_ended().fuse() => {}
                            _ = stopping.wait_for(|stop| *stop).fuse() => {}
                        }
                    }
                    Ok(())
                },
            )
            .await;
        let mut why = match ran {
            Ok(()) => "its output ended".to_owned(),
            Err(error) => error.message().to_owned(),
        };
        if let Some(child) = child.as_mut() {
            why = ended_child(child, why).await;
        }
        let _ = ended_tx.send(why);
    });
    let task = AbortOnDrop(Some(task));
    match ready_rx.await {
        Ok(Ok(worker)) => Ok(Running {
            worker,
            ended: ended_rx,
            stop,
            task,
        }),
        Ok(Err(fault)) => Err(fault),
        Err(_) => Err(Fault::new(
            Stage::Process,
            format!("generation {generation} ended before its handshake"),
        )
        .generation(generation)),
    }
}

fn make_transport(
    source: &mut Source,
    generation: u64,
) -> Result<(Transport, Option<ChildProcess>), Error> {
    match source {
        Source::Command(command) => {
            let mut child = ChildProcess::spawn(command.clone())?;
            let stdio = child.stdio()?;
            let transport =
                <_ as ConnectTo<UntypedRole>>::into_transport(stdio, &TransportConfig::default())?;
            Ok((transport, Some(child)))
        }
        Source::Factory(factory) => Ok((factory(generation)?, None)),
    }
}

/// Ends a worker process (given a grace to exit by itself) and says how it went, with what
/// it last wrote to stderr.
async fn ended_child(child: &mut ChildProcess, why: String) -> String {
    let status = match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(Ok(status)) => format!("exited ({status})"),
        Ok(Err(error)) => format!("could not be waited for: {}", error.message()),
        Err(_) => {
            let _ = child.kill().await;
            "did not exit and was killed".to_owned()
        }
    };
    let tail = child.stderr_tail();
    let tail = tail.trim();
    if tail.is_empty() {
        format!("{why}; the worker {status}")
    } else {
        format!("{why}; the worker {status}; its stderr ends: {tail}")
    }
}
