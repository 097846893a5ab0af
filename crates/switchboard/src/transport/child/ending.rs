//! Ending a child: close its stdin, give it a grace to exit, then kill its process group, and
//! reap it. The order matters: a peer that exits when its input ends (as a JSON-RPC peer on
//! stdio should) gets to run its own shutdown, its children with it; one that does not is
//! killed with everything it started; and it is reaped, so nothing is left behind, not even a
//! zombie.

use std::time::Duration;

use tokio::process::Child;

/// Ends `child` as described above; `Ok(true)` if it exited by itself within `grace`.
pub(super) async fn end(child: &mut Child, grace: Duration) -> std::io::Result<bool> {
    // Dropping our end of its stdin is how it learns that its input has ended (unless the
    // pipe was handed to a transport, which closes it when the connection ends).
    drop(child.stdin.take());
    if child.id().is_none() {
        return Ok(true);
    }
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        return Ok(true);
    }
    kill(child).await?;
    Ok(false)
}

/// Kills `child` at once, on unix with its process group, and reaps it.
pub(super) async fn kill(child: &mut Child) -> std::io::Result<()> {
    let Some(id) = child.id() else {
        return Ok(());
    };
    // The group first, while the child is not yet reaped: until then its id, which is the
    // group's id, cannot be given to another process.
    #[cfg(unix)]
    let group = kill_group(id);
    #[cfg(not(unix))]
    let group: std::io::Result<()> = {
        let _ = id;
        Ok(())
    };
    child.kill().await?;
    group
}

/// Ends a dropped child in the background: the same close, grace, kill and reap, on the
/// runtime it was dropped in. If that runtime shuts down first, the child and its group are
/// killed at once as the task is dropped, so even then nothing outlives it.
pub(super) fn end_in_background(mut child: Child, grace: Duration, program: String) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        kill_now(&mut child, &program);
        return;
    };
    let mut guard = KillOnDrop {
        child: Some(child),
        program,
    };
    runtime.spawn(async move {
        if let Some(child) = guard.child.as_mut()
            && let Err(error) = end(child, grace).await
        {
            tracing::debug!(%error, program = %guard.program, "ending a dropped child failed");
        }
        // Reaped (or failed): its group must not be signalled any more.
        drop(guard.child.take());
    });
}

/// Kills the child it holds, with its group, when dropped before it was ended.
struct KillOnDrop {
    child: Option<Child>,
    program: String,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_now(child, &self.program);
        }
    }
}

/// Sends the kill to the child and its group without waiting (tokio reaps it later).
fn kill_now(child: &mut Child, program: &str) {
    let Some(id) = child.id() else {
        return;
    };
    #[cfg(not(unix))]
    let _ = id;
    #[cfg(unix)]
    if let Err(error) = kill_group(id) {
        tracing::debug!(%error, %program, "killing a child's process group failed");
    }
    if let Err(error) = child.start_kill() {
        tracing::debug!(%error, %program, "killing a child failed");
    }
}

/// Sends SIGKILL to the process group `id`. A group that no longer exists is not an error.
#[cfg(unix)]
fn kill_group(id: u32) -> std::io::Result<()> {
    use rustix::process::{Pid, Signal, kill_process_group};

    // Process 1's "group" means every process we may signal: never send that. A child of ours
    // cannot have that id, so this only guards against the impossible.
    let Some(pid) = i32::try_from(id)
        .ok()
        .filter(|&raw| raw > 1)
        .and_then(Pid::from_raw)
    else {
        return Ok(());
    };
    match kill_process_group(pid, Signal::KILL) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
