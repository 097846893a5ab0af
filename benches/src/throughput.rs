//! Workloads 1–3 (sequential, pipelined, notifications), measured in interleaved rounds.
//!
//! How a row is measured:
//!
//! - **Rounds.** A workload runs in R rounds (`--runs`, 5 by default). In each round every
//!   implementation runs once, in turn; the order rotates from round to round so no
//!   implementation always runs first or right after the slowest. A disturbance from the
//!   machine's other tenants then lands on one round of every implementation, not on all
//!   runs of one.
//! - **Warm-up.** Each run opens a new connection and sends [`WARMUP`] messages on it before
//!   the clock starts; the warm-up is not timed or counted.
//! - **One runtime.** Every run of the process uses the same tokio runtime (built once,
//!   multi-thread with 2 workers or current-thread), as a long-lived program would; its
//!   threads are started and warm before the first timed message.
//! - **Figures.** The row shows the median round (by msgs/s), the median CPU per message, and
//!   the allocations per message of the whole process over the timed part. **× raw** is the
//!   median of the per-round ratios (this implementation's msgs/s over the raw loop's in the
//!   same round), not a ratio of medians; **× SDK** likewise against the SDK on the same
//!   transport.

use std::sync::Arc;

use tokio::runtime::Runtime;

use crate::common::{Countdown, Over, WARMUP};
use crate::measure::{self, Measured};
use crate::report::{self, Impl};
use crate::{Options, raw, run_pair, sdk, switchboard};

/// Every implementation a throughput workload runs on, in the table's order.
pub const IMPLEMENTATIONS: [Impl; 5] = [
    Impl::Raw,
    Impl::Switchboard(Over::ByteStreams),
    Impl::Switchboard(Over::Channel),
    Impl::Sdk(Over::ByteStreams),
    Impl::Sdk(Over::Channel),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Sequential,
    Pipelined,
    Notifications,
}

impl Workload {
    pub const ALL: [Workload; 3] = [
        Workload::Sequential,
        Workload::Pipelined,
        Workload::Notifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Sequential => "sequential",
            Workload::Pipelined => "pipelined",
            Workload::Notifications => "notifications",
        }
    }

    fn full_count(self) -> u64 {
        match self {
            Workload::Sequential => 200_000,
            Workload::Pipelined => 500_000,
            Workload::Notifications => 1_000_000,
        }
    }
}

/// One workload on one implementation: every round, in order, and the median.
pub struct Row {
    pub workload: &'static str,
    pub implementation: Impl,
    /// The round with the median msgs/s, with the median CPU per message.
    pub measured: Measured,
    /// Every round's measurement, in round order (for per-round ratios).
    pub rounds: Vec<Measured>,
}

impl Row {
    /// The median over the rounds both rows ran of this row's msgs/s divided by `base`'s in
    /// the same round.
    pub fn ratio_to(&self, base: &Row) -> Option<f64> {
        let mut ratios: Vec<f64> = self
            .rounds
            .iter()
            .zip(&base.rounds)
            .map(|(mine, theirs)| mine.per_second() / theirs.per_second())
            .collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        Some(ratios[ratios.len() / 2])
    }
}

/// Runs the three workloads the options select, in rounds; returns the rows and whether
/// any run failed (its row then has fewer rounds, or none).
pub fn run_all(options: &Options) -> (Vec<Row>, bool) {
    let runtime = options.runtime();
    let implementations: Vec<Impl> = IMPLEMENTATIONS
        .into_iter()
        .filter(|&implementation| options.measures(implementation))
        .collect();
    let mut rows = Vec::new();
    let mut failed = false;
    for workload in Workload::ALL {
        if !options.wants(workload.name()) {
            continue;
        }
        let mut rounds: Vec<Vec<Measured>> = vec![Vec::new(); implementations.len()];
        let mut broken = vec![false; implementations.len()];
        for round in 0..options.runs {
            for turn in 0..implementations.len() {
                let index = (round + turn) % implementations.len();
                let implementation = implementations[index];
                if broken[index] {
                    continue;
                }
                let n = options.count(workload.full_count(), implementation);
                match run_once(&runtime, workload, implementation, n) {
                    Ok(measured) => rounds[index].push(measured),
                    Err(error) => {
                        eprintln!("{} {}: {error}", workload.name(), implementation.name());
                        broken[index] = true;
                        failed = true;
                    }
                }
            }
            eprintln!(
                "  {} round {} of {} done",
                workload.name(),
                round + 1,
                options.runs
            );
        }
        for (implementation, rounds) in implementations.iter().zip(rounds) {
            if rounds.is_empty() {
                continue;
            }
            let row = Row {
                workload: workload.name(),
                implementation: *implementation,
                measured: measure::median(rounds.clone()),
                rounds,
            };
            eprintln!("  {}", report::progress(&row));
            rows.push(row);
        }
    }
    (rows, failed)
}

/// One run: a new connection on `runtime`, [`WARMUP`] messages, then `n` timed.
fn run_once(
    runtime: &Runtime,
    workload: Workload,
    implementation: Impl,
    n: u64,
) -> Result<Measured, String> {
    // The warm-up's notifications are counted too; the timed part waits for the rest.
    let ticks = Countdown::new(WARMUP + n);
    let served = Arc::clone(&ticks);
    match implementation {
        Impl::Raw => {
            let (client, server) = crate::common::pipes();
            let server = raw::serve(server, served);
            match workload {
                Workload::Sequential => {
                    run_pair(runtime, server, raw::sequential(client, WARMUP, n))
                }
                Workload::Pipelined => run_pair(runtime, server, raw::pipelined(client, WARMUP, n)),
                Workload::Notifications => run_pair(
                    runtime,
                    server,
                    raw::notifications(client, WARMUP, n, ticks),
                ),
            }
        }
        Impl::Switchboard(over) => {
            let (client, server) = switchboard::ends(over);
            let server = switchboard::serve(server, served, None);
            match workload {
                Workload::Sequential => {
                    run_pair(runtime, server, switchboard::sequential(client, WARMUP, n))
                }
                Workload::Pipelined => {
                    run_pair(runtime, server, switchboard::pipelined(client, WARMUP, n))
                }
                Workload::Notifications => run_pair(
                    runtime,
                    server,
                    switchboard::notifications(client, WARMUP, n, ticks),
                ),
            }
        }
        Impl::Sdk(over) => {
            let (client, server) = sdk::ends(over);
            let server = sdk::serve(server, served, None);
            match workload {
                Workload::Sequential => {
                    run_pair(runtime, server, sdk::sequential(client, WARMUP, n))
                }
                Workload::Pipelined => run_pair(runtime, server, sdk::pipelined(client, WARMUP, n)),
                Workload::Notifications => run_pair(
                    runtime,
                    server,
                    sdk::notifications(client, WARMUP, n, ticks),
                ),
            }
        }
    }
}
