//! What one run measures: wall time, the process's CPU time, the allocations made, and
//! resident memory.

use std::time::{Duration, Instant};

use cpu_time::ProcessTime;

/// Every allocation of the process is counted (both ends, the runtime), so a run's count is
/// the difference between its end and its start. The counter costs a few atomic adds per
/// allocation and deallocation, the same for every implementation; build with
/// `--no-default-features` to measure without it.
#[cfg(feature = "count-allocations")]
#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Allocations (including reallocations) made by the whole process so far; `None` when the
/// benchmark was built without counting.
fn allocations() -> Option<u64> {
    #[cfg(feature = "count-allocations")]
    {
        let stats = ALLOCATOR.stats();
        Some((stats.allocations + stats.reallocations) as u64)
    }
    #[cfg(not(feature = "count-allocations"))]
    None
}

/// A measurement in progress.
pub struct Span {
    wall: Instant,
    cpu: ProcessTime,
    allocations: Option<u64>,
}

impl Span {
    pub fn start() -> Self {
        Span {
            allocations: allocations(),
            wall: Instant::now(),
            cpu: ProcessTime::now(),
        }
    }

    pub fn finish(self, messages: u64) -> Measured {
        let wall = self.wall.elapsed();
        let cpu = self.cpu.elapsed();
        Measured {
            messages,
            wall,
            cpu,
            allocations: self
                .allocations
                .zip(allocations())
                .map(|(start, end)| end - start),
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
    /// Allocations by the whole process over the same interval, when counted.
    pub allocations: Option<u64>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64()
    }

    pub fn cpu_micros_per_message(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages as f64
    }

    pub fn allocations_per_message(&self) -> Option<f64> {
        self.allocations
            .map(|allocations| allocations as f64 / self.messages as f64)
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
