//! Workload `supervisor`: what a call costs through a `Supervisor` whose worker never
//! restarts, against the same worker reached directly. Both in process over `Channel`, so
//! the difference is the supervisor's own work (its hop, its bookkeeping), not a pipe's.
//! Calls one at a time (latency), then 64 in flight (throughput).

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::json;
use switchboard::{Channel, ConnectTo, Error, UntypedMessage, UntypedRole};
use switchboard_supervisor::Supervisor;

use crate::Options;
use crate::measure::{self, Measured, Span};

/// Calls in flight at once in the pipelined case.
const WINDOW: usize = 64;

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
    pub in_flight: usize,
    pub path: Path,
    pub measured: Measured,
}

/// An echo worker on `end`, until the caller goes.
async fn worker(end: Channel) -> Result<(), Error> {
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

fn run_once(options: &Options, path: Path, n: u64, in_flight: usize) -> Result<Measured, String> {
    let runtime = options.runtime();
    runtime.block_on(async {
        let measured = match path {
            Path::Direct => {
                let (caller, theirs) = Channel::duplex();
                let served = tokio::spawn(worker(theirs));
                let measured = calls(caller, n, in_flight).await;
                let _ = served.await;
                measured
            }
            Path::Supervised => {
                let supervisor = Supervisor::spawning(|_generation| {
                    let (ours, theirs) = Channel::duplex();
                    tokio::spawn(worker(theirs));
                    Ok(ours)
                });
                calls(supervisor, n, in_flight).await
            }
        };
        measured.map_err(|error| error.to_string())
    })
}

pub fn run_all(options: &Options) -> Result<Vec<SupervisorRow>, String> {
    let mut rows = Vec::new();
    for (in_flight, full) in [(1, 100_000), (WINDOW, 300_000)] {
        let n = if options.quick { full / 10 } else { full };
        for path in [Path::Direct, Path::Supervised] {
            let mut runs = Vec::new();
            for _ in 0..options.runs {
                runs.push(run_once(options, path, n, in_flight)?);
            }
            let row = SupervisorRow {
                in_flight,
                path,
                measured: measure::median(runs),
            };
            eprintln!(
                "  supervisor {} in flight, {}: {:.0} calls/s",
                in_flight,
                path.name(),
                row.measured.per_second()
            );
            rows.push(row);
        }
    }
    Ok(rows)
}
