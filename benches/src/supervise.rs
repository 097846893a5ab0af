//! Workload `supervisor`: what a call costs through a `Supervisor` whose worker never
//! restarts, against the same worker reached directly. First in process over `Channel`, so
//! the difference is the supervisor's own work (its hop, its bookkeeping), not a pipe's;
//! then the case supervision exists for, the worker a child process spoken to over its
//! stdio (this program again, with [`ECHO_CHILD`]), which the supervisor starts itself.
//! Calls one at a time (latency), then 64 in flight (throughput).

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::json;
use switchboard::transport::{ChildCommand, ChildProcess};
use switchboard::{Channel, ConnectTo, Error, UntypedMessage, UntypedRole};
use switchboard_supervisor::Supervisor;

use crate::Options;
use crate::measure::{self, Measured, Span};

/// Calls in flight at once in the pipelined case.
const WINDOW: usize = 64;

/// The argument that makes this program the echo worker of a child process, on its stdio.
pub const ECHO_CHILD: &str = "--echo-child";

/// Where the worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worker {
    /// A task of this process, over `Channel`.
    InProcess,
    /// A child process (this program with [`ECHO_CHILD`]), over its stdio.
    Process,
}

impl Worker {
    pub fn name(self) -> &'static str {
        match self {
            Worker::InProcess => "in process",
            Worker::Process => "child process",
        }
    }

    /// (calls in flight, calls per run): fewer through a pipe, where a call costs more.
    fn cases(self) -> [(usize, u64); 2] {
        match self {
            Worker::InProcess => [(1, 100_000), (WINDOW, 300_000)],
            Worker::Process => [(1, 20_000), (WINDOW, 100_000)],
        }
    }

    /// The command that starts the worker process.
    fn command() -> Result<ChildCommand, Error> {
        Ok(ChildCommand::new(std::env::current_exe()?).arg(ECHO_CHILD))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Direct,
    Supervised,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Supervised => "through a supervisor",
        }
    }
}

pub struct SupervisorRow {
    pub worker: Worker,
    pub in_flight: usize,
    pub path: Path,
    pub measured: Measured,
}

/// An echo worker on `end`, until the caller goes.
async fn worker(end: impl ConnectTo<UntypedRole> + 'static) -> Result<(), Error> {
    UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, _cx| {
            responder.respond(request.params_value()?)
        })
        .connect_to(end)
        .await
}

/// `n` calls, `in_flight` at a time, to `component`.
async fn calls(
    component: impl ConnectTo<UntypedRole>,
    n: u64,
    in_flight: usize,
) -> Result<Measured, Error> {
    UntypedRole
        .builder()
        .connect_with(component, async move |cx| {
            // One call first, outside the span: the worker (a process the supervisor
            // starts, say) is ready before the clock runs.
            let warm_up = UntypedMessage::new("echo", json!({"n": -1}))?;
            cx.send_request(warm_up).block_task().await?;
            let span = Span::start();
            let mut waiting = FuturesUnordered::new();
            for i in 0..n {
                if waiting.len() == in_flight
                    && let Some(answer) = waiting.next().await
                {
                    answer?;
                }
                let request = UntypedMessage::new("echo", json!({"n": i}))?;
                waiting.push(cx.send_request(request).block_task());
            }
            while let Some(answer) = waiting.next().await {
                answer?;
            }
            Ok(span.finish(n))
        })
        .await
}

/// Serves the echo worker on this process's stdio until its input ends: the child of the
/// process case.
pub fn echo_child() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let served = runtime
        .map_err(Error::from)
        .and_then(|runtime| runtime.block_on(worker(switchboard::Stdio::new())));
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo child: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_once(
    options: &Options,
    worker_at: Worker,
    path: Path,
    n: u64,
    in_flight: usize,
) -> Result<Measured, String> {
    let runtime = options.runtime();
    runtime.block_on(async {
        let measured = match (worker_at, path) {
            (Worker::InProcess, Path::Direct) => {
                let (caller, theirs) = Channel::duplex();
                let served = tokio::spawn(worker(theirs));
                let measured = calls(caller, n, in_flight).await;
                let _ = served.await;
                measured
            }
            (Worker::InProcess, Path::Supervised) => {
                let supervisor = Supervisor::spawning(|_generation| {
                    let (ours, theirs) = Channel::duplex();
                    tokio::spawn(worker(theirs));
                    Ok(ours)
                });
                calls(supervisor, n, in_flight).await
            }
            (Worker::Process, Path::Direct) => {
                async {
                    let mut child = ChildProcess::spawn(Worker::command()?)?;
                    let stdio = child.stdio()?;
                    // The child ends with `child`, once the calls are done.
                    calls(stdio, n, in_flight).await
                }
                .await
            }
            (Worker::Process, Path::Supervised) => match Worker::command() {
                Ok(command) => calls(Supervisor::command(command), n, in_flight).await,
                Err(error) => Err(error),
            },
        };
        measured.map_err(|error| error.to_string())
    })
}

pub fn run_all(options: &Options) -> Result<Vec<SupervisorRow>, String> {
    let mut rows = Vec::new();
    for worker_at in [Worker::InProcess, Worker::Process] {
        for (in_flight, full) in worker_at.cases() {
            let n = if options.quick { full / 10 } else { full };
            for path in [Path::Direct, Path::Supervised] {
                let mut runs = Vec::new();
                for _ in 0..options.runs {
                    runs.push(run_once(options, worker_at, path, n, in_flight)?);
                }
                let row = SupervisorRow {
                    worker: worker_at,
                    in_flight,
                    path,
                    measured: measure::median(runs),
                };
                eprintln!(
                    "  supervisor, worker {}, {} in flight, {}: {:.0} calls/s",
                    worker_at.name(),
                    in_flight,
                    path.name(),
                    row.measured.per_second()
                );
                rows.push(row);
            }
        }
    }
    Ok(rows)
}
