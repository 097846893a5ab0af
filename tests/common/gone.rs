//! Whether a process is gone, and a wait for it: shared by the test targets that end
//! processes (each includes this file with `#[path]`). Unix only.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// Whether process `pid` is gone: no such process, or (Linux) a zombie nobody has reaped
/// yet, which is dead but still listed.
pub(crate) fn is_gone<P: TryInto<i32> + Copy + Display>(pid: P) -> bool {
    let raw = pid.try_into().ok().expect("a process id fits an i32");
    let target = rustix::process::Pid::from_raw(raw).expect("a process id");
    match rustix::process::test_kill_process(target) {
        Err(rustix::io::Errno::SRCH) => true,
        // The state is the field after the command name, which is in parentheses.
        Ok(()) => std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        }),
        Err(error) => panic!("checking process {pid} failed: {error}"),
    }
}

/// Checks until process `pid` is gone, failing the test if it is still alive after ten
/// seconds: a condition waited for, not a guess at how long ending takes.
pub(crate) async fn wait_until_gone<P: TryInto<i32> + Copy + Display>(pid: P, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_gone(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} (process {pid}) is still alive after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
