//! What the process tests read about the chain's processes in `/proc` (Linux): who descends
//! from whom, their peak memory, their processor time, and whether they still run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The peak resident memory of one process.
#[derive(Debug)]
pub(crate) struct Peak {
    pub(crate) pid: u32,
    /// Its command name, from `/proc/<pid>/comm`.
    pub(crate) name: String,
    /// `VmHWM` from `/proc/<pid>/status`, in KiB.
    pub(crate) kib: u64,
}

/// The peak memory of process `root` and each of its descendants that is still running, the
/// root first.
pub(crate) fn peak_memory(root: u32) -> Vec<Peak> {
    std::iter::once(root)
        .chain(descendants(root).into_iter().map(|(pid, _)| pid))
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kib = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some(Peak {
                pid,
                name: name.trim_end().to_owned(),
                kib,
            })
        })
        .collect()
}

/// The descendants of process `root` (its children, theirs, and so on), each with its
/// parent.
///
/// Found by reading every process's parent from `/proc/<pid>/stat`:
/// `/proc/<pid>/task/<tid>/children` would be more direct, but it exists only in kernels
/// built with `CONFIG_PROC_CHILDREN`, and the one these tests were written on lacks it.
pub(crate) fn descendants(root: u32) -> Vec<(u32, u32)> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let entries = std::fs::read_dir("/proc").into_iter().flatten();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![root];
    while let Some(parent) = next.pop() {
        for &child in children.get(&parent).into_iter().flatten() {
            found.push((child, parent));
            next.push(child);
        }
    }
    found.sort_unstable();
    found
}

/// Waits until no process of the chain under `root` (the conductor and its descendants) has
/// used the processor for `idle_for`: everything that could move has moved. Gives up after
/// `at_most`, should something keep waking up.
pub(crate) async fn until_idle(root: u32, idle_for: Duration, at_most: Duration) {
    let busy = || -> u64 {
        std::iter::once(root)
            .chain(descendants(root).into_iter().map(|(pid, _)| pid))
            .filter_map(cpu_ticks)
            .sum()
    };
    let deadline = Instant::now() + at_most;
    let mut before = busy();
    while Instant::now() < deadline {
        tokio::time::sleep(idle_for).await;
        let now = busy();
        if now == before {
            return;
        }
        before = now;
    }
}

/// The processor time process `pid` has used (user and system), in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the command name: state, ppid, ... and `utime` and `stime` 12th and 13th.
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The parent of process `pid`, if it still exists.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state and the parent follow the command name, which is in parentheses and may hold
    // anything.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` is running: it exists and is not a zombie waiting to be reaped.
pub(crate) fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}
