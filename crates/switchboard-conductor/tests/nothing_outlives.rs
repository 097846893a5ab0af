//! Nothing of a chain outlives it, however the editor goes: it closes the conductor's stdin,
//! it exits (both pipes close), it sends the conductor SIGTERM, or the conductor is killed
//! outright (SIGKILL). The agent here is as stubborn as a component can be: it never reads
//! its stdin (so never sees its end) and ignores SIGTERM, SIGINT and SIGHUP. Every component
//! must be gone within 5 s, checked by process id.
#![cfg(target_os = "linux")]

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

use support::piped::Piped;
use support::procfs::running;
use support::{TempDir, conductor_binary, guard, logging_proxy, quote};

/// How long every component of the chain has to be gone, from the editor's going.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// The ways an editor goes.
#[derive(Clone, Copy, Debug)]
enum Going {
    ClosesStdin,
    Exits,
    Terminates,
    Kills,
}

/// Starts the conductor with a logging proxy in front of a stubborn agent, each writing its
/// process id to `pids` first (`exec` keeps the id); returns it once both have.
async fn stubborn_chain(pids: &Path) -> Piped {
    let record = "echo $$ >> \"$0\"; exec \"$@\"";
    let proxy = format!(
        "sh -c {} {} {}",
        quote(record),
        quote(pids),
        logging_proxy().command
    );
    let stubborn = format!(
        "trap '' TERM INT HUP; echo $$ >> {}; exec sleep 1000",
        quote(pids)
    );
    let mut command = Command::new(conductor_binary());
    command.args(["--proxy", &proxy, "--", "sh", "-c", &stubborn]);
    let piped = Piped::spawn(command);
    let deadline = Instant::now() + support::HANG_GUARD;
    while component_pids(pids).len() < 2 {
        assert!(Instant::now() < deadline, "the components never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    piped
}

fn component_pids(pids: &Path) -> Vec<u32> {
    std::fs::read_to_string(pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Sends `signal` to process `pid` with the `kill` program.
async fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .await
        .expect("running kill");
    assert!(status.success(), "kill {signal} {pid}");
}

#[tokio::test]
async fn nothing_of_the_chain_survives_the_editor_however_it_goes() {
    for going in [
        Going::ClosesStdin,
        Going::Exits,
        Going::Terminates,
        Going::Kills,
    ] {
        let dir = TempDir::new("outlives");
        let pids = dir.join("pids");
        let mut conductor = stubborn_chain(&pids).await;
        let components = component_pids(&pids);
        assert!(
            components.iter().all(|&pid| running(pid)),
            "{going:?}: {components:?}"
        );
        let conductor_pid = conductor.child.id().expect("the conductor's id");
        let went = Instant::now();
        match going {
            Going::ClosesStdin => drop(conductor.stdin.take()),
            Going::Exits => {
                drop(conductor.stdin.take());
                drop(conductor.stdout.take());
            }
            Going::Terminates => signal(conductor_pid, "-TERM").await,
            Going::Kills => signal(conductor_pid, "-KILL").await,
        }
        let status = guard("the conductor's exit", conductor.child.wait())
            .await
            .expect("waiting for the conductor");
        match going {
            Going::Terminates => assert_eq!(status.code(), Some(128 + 15), "{going:?}"),
            Going::Kills => assert!(status.code().is_none(), "{going:?}: {status}"),
            _ => {}
        }
        // Gone, or going: a bounded wait for the condition, not a guess at a delay.
        while components.iter().any(|&pid| running(pid)) && went.elapsed() < GONE_WITHIN {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left: Vec<u32> = components.into_iter().filter(|&pid| running(pid)).collect();
        assert!(
            left.is_empty(),
            "{going:?}: still running after {GONE_WITHIN:?}: {left:?}\n{}",
            conductor.stderr_tail()
        );
    }
}
