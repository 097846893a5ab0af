//! What one run measures: wall time, the process's CPU time, and resident memory.

use std::time::{Duration, Instant};

use cpu_time::ProcessTime;

/// A measurement in progress.
pub struct Span {
    wall: Instant,
    cpu: ProcessTime,
}

impl Span {
    pub fn start() -> Self {
        Span {
            wall: Instant::now(),
            cpu: ProcessTime::now(),
        }
    }

    pub fn finish(self, messages: u64) -> Measured {
        Measured {
            messages,
            wall: self.wall.elapsed(),
            cpu: self.cpu.elapsed(),
        }
    }
}

/// One run of one workload.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub messages: u64,
    pub wall: Duration,
    /// CPU time of the whole process (client, server and runtime) over the same interval.
    pub cpu: Duration,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64()
    }

    pub fn cpu_micros_per_message(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages as f64
    }
}

/// The median run by throughput, with the median CPU cost taken separately.
pub fn median(mut runs: Vec<Measured>) -> Measured {
    assert!(!runs.is_empty(), "a workload ran no times");
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let mut chosen = runs[runs.len() / 2];
    runs.sort_by(|a, b| {
        a.cpu_micros_per_message()
            .total_cmp(&b.cpu_micros_per_message())
    });
    let cpu = runs[runs.len() / 2];
    chosen.cpu = cpu
        .cpu
        .mul_f64(chosen.messages as f64 / cpu.messages as f64);
    chosen
}

/// Resident memory, from `/proc/self/status`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss: u64,
    /// VmHWM: the peak since the last [`reset_peak`].
    pub peak: u64,
}

impl Memory {
    pub fn now() -> Memory {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .map_or(0, |kib| kib * 1024)
        };
        Memory {
            rss: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to `clear_refs`), so the next peak
/// belongs to the next workload alone. Returns false where the kernel does not allow it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
