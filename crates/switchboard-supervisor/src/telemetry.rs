//! Per-operation counts, errors and latency; and the optional JSON-lines record of calls.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::fault::Stage;

/// How many latencies of each operation the percentiles are drawn from: the latest.
pub const LATENCY_WINDOW: usize = 1024;

/// How many operations are counted apart; the calls of any more are counted together under
/// [`OTHER_OPERATIONS`]. Operation names come from the caller (a tool's name): without a
/// bound, a caller could grow the figures without end.
pub const MAX_OPERATIONS: usize = 256;

/// Where the calls of operations past [`MAX_OPERATIONS`] are counted.
pub const OTHER_OPERATIONS: &str = "(other)";

/// How many call records may wait for the JSON-lines file; more are dropped (and counted),
/// never waited for.
const LOG_QUEUE: usize = 1024;

/// What is known of one operation's calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OperationStats {
    /// Calls finished (answered either way).
    pub count: u64,
    /// Calls answered with an error, by the stage of the fault.
    pub errors: BTreeMap<Stage, u64>,
    /// Calls sent again to a new generation.
    pub retried: u64,
    /// Calls not answered yet.
    pub in_flight: u64,
    /// The median latency of the latest calls, in microseconds.
    pub p50_us: u64,
    /// The 95th percentile, in microseconds.
    pub p95_us: u64,
    /// The 99th percentile, in microseconds.
    pub p99_us: u64,
}

/// A snapshot of the telemetry: every operation seen, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TelemetrySnapshot {
    /// Each operation's figures.
    pub operations: BTreeMap<String, OperationStats>,
    /// Call records the JSON-lines file could not take in time (dropped, not waited for).
    pub records_dropped: u64,
}

/// One operation's running figures.
struct Operation {
    name: String,
    stats: OperationStats,
    /// The latest latencies, oldest first.
    latencies: VecDeque<Duration>,
}

/// Where one operation's figures are kept. A call looks its operation's name up once, when
/// it starts, and is counted by this index from then on: one hash of the name per call, not
/// one per update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OperationId(usize);

/// The running figures.
#[derive(Default)]
pub(crate) struct Telemetry {
    /// Each operation's place in `operations`, by name.
    index: HashMap<String, usize>,
    /// Only grows (up to [`MAX_OPERATIONS`] and [`OTHER_OPERATIONS`]), so an
    /// [`OperationId`] stays valid for the telemetry's life.
    operations: Vec<Operation>,
    records_dropped: u64,
}

impl Telemetry {
    /// A call of `operation` started; returns where its figures are kept.
    pub(crate) fn started(&mut self, operation: &str) -> OperationId {
        let id = self.id(operation);
        if let Some(entry) = self.operations.get_mut(id.0) {
            entry.stats.in_flight += 1;
        }
        id
    }

    pub(crate) fn retried(&mut self, operation: OperationId) {
        if let Some(entry) = self.operations.get_mut(operation.0) {
            entry.stats.retried += 1;
        }
    }

    /// A call finished after `latency`, with an error at `failed` if it failed.
    pub(crate) fn finished(
        &mut self,
        operation: OperationId,
        latency: Duration,
        failed: Option<Stage>,
    ) {
        let Some(entry) = self.operations.get_mut(operation.0) else {
            return;
        };
        entry.stats.in_flight = entry.stats.in_flight.saturating_sub(1);
        entry.stats.count += 1;
        if let Some(stage) = failed {
            *entry.stats.errors.entry(stage).or_default() += 1;
        }
        if entry.latencies.len() == LATENCY_WINDOW {
            entry.latencies.pop_front();
        }
        entry.latencies.push_back(latency);
    }

    pub(crate) fn dropped_record(&mut self) {
        self.records_dropped += 1;
    }

    pub(crate) fn snapshot(&self) -> TelemetrySnapshot {
        let operations = self
            .operations
            .iter()
            .map(|operation| {
                let mut sorted: Vec<Duration> = operation.latencies.iter().copied().collect();
                sorted.sort_unstable();
                let mut stats = operation.stats.clone();
                stats.p50_us = percentile(&sorted, 50);
                stats.p95_us = percentile(&sorted, 95);
                stats.p99_us = percentile(&sorted, 99);
                (operation.name.clone(), stats)
            })
            .collect();
        TelemetrySnapshot {
            operations,
            records_dropped: self.records_dropped,
        }
    }

    fn id(&mut self, operation: &str) -> OperationId {
        if let Some(&id) = self.index.get(operation) {
            return OperationId(id);
        }
        // Past the bound, every new name is counted under one: the figures cannot grow
        // without end, whatever names the caller sends.
        let name = if self.index.len() < MAX_OPERATIONS {
            operation
        } else {
            OTHER_OPERATIONS
        };
        if let Some(&id) = self.index.get(name) {
            return OperationId(id);
        }
        let id = self.operations.len();
        self.operations.push(Operation {
            name: name.to_owned(),
            stats: OperationStats::default(),
            latencies: VecDeque::new(),
        });
        self.index.insert(name.to_owned(), id);
        OperationId(id)
    }
}

/// The `p`th percentile of `sorted`, in microseconds (nearest rank; 0 when empty).
fn percentile(sorted: &[Duration], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    u64::try_from(sorted[rank - 1].as_micros()).unwrap_or(u64::MAX)
}

/// One call, as a line of the JSON-lines file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallRecord {
    /// When it finished, in milliseconds since the Unix epoch.
    pub(crate) at_ms: u64,
    pub(crate) operation: String,
    pub(crate) generation: u64,
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stage: Option<Stage>,
    pub(crate) retried: bool,
    pub(crate) latency_us: u64,
}

impl CallRecord {
    pub(crate) fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// Starts the writer of the JSON-lines file at `path` (appended to); returns where records go.
pub(crate) fn start_log(path: PathBuf) -> mpsc::Sender<CallRecord> {
    let (records, mut queue) = mpsc::channel::<CallRecord>(LOG_QUEUE);
    tokio::spawn(async move {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await;
        let mut file = match file {
            Ok(file) => tokio::io::BufWriter::new(file),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "the telemetry file cannot be opened");
                return;
            }
        };
        while let Some(record) = queue.recv().await {
            let mut line = serde_json::to_vec(&record).unwrap_or_default();
            line.push(b'\n');
            let written = match file.write_all(&line).await {
                // Flushed whenever no other record waits: a reader sees each call soon.
                Ok(()) if queue.is_empty() => file.flush().await,
                other => other,
            };
            if let Err(error) = written {
                tracing::error!(path = %path.display(), %error, "the telemetry file cannot be written");
                return;
            }
        }
    });
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_past_the_limit_are_counted_together() {
        let mut telemetry = Telemetry::default();
        for n in 0..MAX_OPERATIONS + 10 {
            let name = format!("tools/call:{n}");
            let id = telemetry.started(&name);
            telemetry.finished(id, Duration::from_micros(1), None);
        }
        let snapshot = telemetry.snapshot();
        assert_eq!(snapshot.operations.len(), MAX_OPERATIONS + 1);
        let other = &snapshot.operations[OTHER_OPERATIONS];
        assert_eq!((other.count, other.in_flight), (10, 0));
        assert_eq!(snapshot.operations["tools/call:0"].count, 1);
    }

    #[test]
    fn percentiles_come_from_the_latest_window() {
        let mut telemetry = Telemetry::default();
        for micros in 1..=100u64 {
            let id = telemetry.started("ping");
            telemetry.finished(id, Duration::from_micros(micros), None);
        }
        let id = telemetry.started("ping");
        telemetry.finished(id, Duration::from_micros(1), Some(Stage::Process));
        let stats = &telemetry.snapshot().operations["ping"];
        assert_eq!(stats.count, 101);
        assert_eq!(stats.in_flight, 0);
        assert_eq!(stats.errors.get(&Stage::Process), Some(&1));
        assert_eq!((stats.p50_us, stats.p95_us, stats.p99_us), (50, 95, 99));
        for _ in 0..LATENCY_WINDOW {
            let id = telemetry.started("ping");
            telemetry.finished(id, Duration::from_micros(7), None);
        }
        assert_eq!(telemetry.snapshot().operations["ping"].p99_us, 7);
    }
}
