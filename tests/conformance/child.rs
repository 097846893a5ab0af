//! Child processes (`ChildCommand`, `ChildProcess`): JSON-RPC over a child's pipes, what
//! reaches the child (arguments, environment, directory), the bounded stderr tail, killing the
//! whole process group by `kill` and by drop, spawn errors, and the end of the connection when
//! the child exits.
//!
//! The children are small `/bin/sh` scripts. Nothing sleeps to let a child get somewhere: each
//! test waits for something the child says, or for its exit. The only polling is
//! [`wait_until_gone`], which checks a condition (is that process dead?) until a deadline.
#![cfg(unix)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::transport::DEFAULT_STDERR_TAIL_BYTES;
use switchboard::{ChildCommand, ChildProcess, UntypedMessage, UntypedRole};

use crate::support::guard;

#[path = "../common/gone.rs"]
mod gone;
use gone::{is_gone, wait_until_gone};

/// Shell functions every script can use: `next_request` reads one request line into `$line`
/// and its id into `$id` (false at end of input); `answer JSON` answers that request with
/// `JSON` as the result. No single quotes, so a script can be single-quoted in a command line.
const PRELUDE: &str = r#"
next_request() { read -r line && id=$(printf "%s" "$line" | sed "s/.*\"id\":\([0-9]*\).*/\1/"); }
answer() { printf "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n" "$id" "$1"; }
"#;

/// `/bin/sh -c script`, with the [`PRELUDE`] functions defined.
fn sh(script: &str) -> ChildCommand {
    ChildCommand::new("/bin/sh")
        .arg("-c")
        .arg(format!("{PRELUDE}{script}"))
}

/// Sends one untyped request to `child` over its stdio and returns the result.
async fn ask(
    child: &mut ChildProcess,
    method: &str,
    params: Value,
) -> Result<Value, switchboard::Error> {
    let stdio = child.stdio()?;
    let request = UntypedMessage::new(method, params)?;
    let connection = UntypedRole.builder().connect_with(stdio, async move |cx| {
        cx.send_request(request).block_task().await
    });
    guard("a request to the child", connection).await
}

#[tokio::test]
async fn requests_round_trip_through_a_child() {
    // The child answers each request with the request line it read, as it read it.
    let mut child =
        ChildProcess::spawn(sh(r#"while next_request; do answer "$line"; done"#)).unwrap();
    let stdio = child.stdio().unwrap();
    let answers = UntypedRole.builder().connect_with(stdio, async |cx| {
        let first = cx
            .send_request(UntypedMessage::new("first", json!({"n": 1}))?)
            .block_task();
        let second = cx
            .send_request(UntypedMessage::new("second", json!(["two words"]))?)
            .block_task();
        Ok((first.await?, second.await?))
    });
    let (first, second) = guard("two requests to the child", answers).await.unwrap();
    assert_eq!(
        (&first["method"], &first["params"]),
        (&json!("first"), &json!({"n": 1}))
    );
    assert_eq!(
        (&second["method"], &second["params"]),
        (&json!("second"), &json!(["two words"]))
    );
    assert_ne!(first["id"], second["id"]);

    let again = child.stdio().unwrap_err();
    assert_eq!(again.code(), codes::CHILD_PROCESS);
    assert!(again.message().contains("already taken"), "{again}");
    // The connection closed the child's stdin, so its loop ends.
    let status = guard("the child's exit", child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn arguments_environment_and_directory_reach_the_child() {
    let dir = std::env::temp_dir().join(format!("switchboard-child-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    // No single quotes in the script: it is single-quoted in the command line below.
    let script = r#"
        next_request
        # A backslash before the line break continues the string without a break in it.
        answer "{\"count\":$#, \"args\":[\"$1\",\"$2\"], \"var\":\"$SWITCHBOARD_CHILD_VAR\", \
                \"home\":\"${HOME-unset}\", \"cwd\":\"$(pwd -P)\"}"
    "#;
    let line = format!(
        r#"SWITCHBOARD_CHILD_VAR="set by parse" /bin/sh -c '{PRELUDE}{script}' sh "two words" 'three  spaced  words'"#
    );
    let command = ChildCommand::parse(&line)
        .unwrap()
        .env_remove("HOME")
        .current_dir(&dir);
    let mut child = ChildProcess::spawn(command).unwrap();

    let seen = ask(&mut child, "report", json!(null)).await.unwrap();
    std::fs::remove_dir(&dir).unwrap();
    assert_eq!(
        seen,
        json!({
            "count": 2,
            "args": ["two words", "three  spaced  words"],
            "var": "set by parse",
            "home": "unset",
            "cwd": dir.to_str().unwrap(),
        })
    );
}

#[tokio::test]
async fn the_stderr_tail_keeps_the_last_whole_lines_within_its_bound() {
    // 2 000 lines of exactly 100 bytes (200 000 bytes), then a marker, then exit 3.
    let script = r#"
        i=0
        while [ $i -lt 2000 ]; do printf "line %05d %088d\n" $i 0 >&2; i=$((i+1)); done
        echo "the marker" >&2
        exit 3
    "#;
    let mut child = ChildProcess::spawn(sh(script)).unwrap();
    let status = guard("the child's exit", child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(3));

    let tail = child.stderr_tail();
    assert!(
        tail.len() <= DEFAULT_STDERR_TAIL_BYTES,
        "{} bytes kept",
        tail.len()
    );
    // At most the one line the cut went through is lost.
    assert!(
        tail.len() > DEFAULT_STDERR_TAIL_BYTES - 100,
        "only {} bytes kept",
        tail.len()
    );
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.last(), Some(&"the marker"));
    assert!(tail.ends_with("the marker\n"));
    // Every line before the marker is whole, and they are the last ones written, in order.
    let count = lines.len() - 1;
    for (n, line) in (2000 - count..2000).zip(&lines) {
        assert_eq!(
            *line,
            format!("line {n:05} {:088}", 0),
            "a cut line, or out of order"
        );
    }
}

#[tokio::test]
async fn wait_completes_the_tail_though_a_process_left_behind_holds_stderr() {
    // The sleeper inherits the child's stderr and keeps it open after the child exits.
    let script = r#"sleep 1000 & echo "sleeper $!" >&2; echo "last words" >&2"#;
    let mut child = ChildProcess::spawn(sh(script)).unwrap();
    let status = guard("wait, with stderr still open", child.wait())
        .await
        .unwrap();
    assert!(status.success());

    let tail = child.stderr_tail();
    let sleeper: i32 = tail
        .lines()
        .find_map(|line| line.strip_prefix("sleeper "))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no sleeper pid in {tail:?}"));
    assert!(tail.ends_with("last words\n"), "{tail:?}");
    // The child was waited for, so its group is no longer signalled: clean up by hand.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(sleeper).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_until_gone(sleeper, "the sleeper").await;
}

/// A child that starts a grandchild (`sleep`), answers one request with the grandchild's
/// pid, then waits for it. Returns the child and that pid.
async fn child_with_a_grandchild() -> (ChildProcess, i32) {
    let script = r#"sleep 1000 & next_request; answer "$!"; wait"#;
    let mut child = ChildProcess::spawn(sh(script)).unwrap();
    let grandchild = ask(&mut child, "pid", json!(null)).await.unwrap();
    let grandchild = i32::try_from(grandchild.as_i64().expect("a pid")).unwrap();
    assert!(!is_gone(grandchild), "the grandchild should be running");
    (child, grandchild)
}

#[tokio::test]
async fn kill_ends_the_child_and_everything_it_started() {
    let (mut child, grandchild) = child_with_a_grandchild().await;
    guard("kill", child.kill()).await.unwrap();
    assert_eq!(child.id(), None, "kill waits for the child");
    wait_until_gone(grandchild, "the grandchild").await;
    // Killing a child that is already gone succeeds.
    guard("a second kill", child.kill()).await.unwrap();
}

#[tokio::test]
async fn dropping_the_child_ends_it_and_everything_it_started() {
    let (child, grandchild) = child_with_a_grandchild().await;
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    drop(child);
    wait_until_gone(pid, "the child").await;
    wait_until_gone(grandchild, "the grandchild").await;
}

/// `end` closes the child's stdin first: a child that exits when its input ends does so by
/// itself, and is reaped; one that ignores it (and SIGTERM) is killed after its exit grace,
/// with what it started.
#[tokio::test]
async fn end_lets_a_child_exit_on_end_of_input_and_kills_one_that_does_not() {
    let mut polite = ChildProcess::spawn(sh("cat > /dev/null; echo bye >&2")).unwrap();
    assert!(
        guard("ending", polite.end()).await.unwrap(),
        "it exited by itself"
    );
    assert_eq!(polite.id(), None, "reaped");
    assert_eq!(polite.stderr_tail(), "bye\n");

    let stubborn =
        sh("trap '' TERM HUP INT; sleep 1000 & wait").exit_grace(Duration::from_millis(200));
    let mut stubborn = ChildProcess::spawn(stubborn).unwrap();
    let pid = i32::try_from(stubborn.id().unwrap()).unwrap();
    let started = Instant::now();
    assert!(
        !guard("ending", stubborn.end()).await.unwrap(),
        "it had to be killed"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the grace came first"
    );
    assert_eq!(stubborn.id(), None, "reaped");
    wait_until_gone(pid, "the stubborn child").await;
}

/// Dropped, a child gets the same: its stdin closed and its grace, in the background; a
/// child that exits on end of input is not killed, so it finishes what it does on the way
/// out (here: writing a file).
#[tokio::test]
async fn dropping_a_child_closes_its_input_and_lets_it_finish() {
    let dir = std::env::temp_dir().join(format!("switchboard-child-drop-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let script = format!(
        "cat > /dev/null; sleep 0.2; echo done > '{}'",
        dir.display()
    );
    let child = ChildProcess::spawn(sh(&script)).unwrap();
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    drop(child);
    wait_until_gone(pid, "the child").await;
    let written = std::fs::read_to_string(&dir).unwrap_or_default();
    let _ = std::fs::remove_file(&dir);
    assert_eq!(written, "done\n", "it was killed before it could finish");
}

#[tokio::test]
async fn spawn_errors_name_the_program_and_the_directory() {
    let missing =
        ChildProcess::spawn(ChildCommand::new("switchboard-no-such-program")).unwrap_err();
    assert_eq!(missing.code(), codes::CHILD_PROCESS);
    assert!(
        missing
            .message()
            .contains("could not start `switchboard-no-such-program`")
            && missing.message().contains("os error"),
        "{missing}"
    );

    let nowhere = ChildCommand::new("/bin/sh").current_dir("/switchboard/no/such/dir");
    let error = ChildProcess::spawn(nowhere).unwrap_err();
    assert_eq!(error.code(), codes::CHILD_PROCESS);
    assert!(
        error.message().contains("`/bin/sh`")
            && error
                .message()
                .contains("working directory `/switchboard/no/such/dir` does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn a_child_that_exits_fails_the_pending_request_and_ends_the_connection() {
    // Reads the request, says why it gives up, and exits without answering.
    let mut child =
        ChildProcess::spawn(sh(r#"next_request; echo "giving up" >&2; exit 7"#)).unwrap();
    let error = ask(&mut child, "never answered", json!(null))
        .await
        .unwrap_err();
    assert!(error.is_connection_closed(), "{error}");

    let status = guard("the child's exit", child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(child.stderr_tail(), "giving up\n");
    guard("kill after exit", child.kill()).await.unwrap();
}
