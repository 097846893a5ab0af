//! `mcp_supervisor` in front of `mcp_flaky_server`, both as the programs a user runs: driven
//! by `mcp_client` (one call after the other, as on the command line) or by our `McpClient`
//! in process (for what needs several calls in flight, or a call after a failed one).
//!
//! The flaky server's tools misbehave on cue (see `examples/mcp_flaky_server.rs`); `crash`
//! crashes only the first process to get it, through a marker file, so every test is
//! deterministic. `tokio::time::timeout` appears only as a hang guard.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{ChildCommand, ConnectionTo, Error};
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::process::ServerProcess;
use switchboard_mcp::{McpClient, McpServer};

use crate::{LinePeer, binaries};

#[path = "../common/gone.rs"]
mod gone;
use gone::wait_until_gone;

/// Bounds each run, so a hung program fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A directory in the temporary directory with a name no other test uses; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("switchboard-mcpsup-{}-{n}-{label}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// A path inside the directory, as an argument.
    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `mcp_client --call ... -- mcp_supervisor SUPERVISOR_ARGS -- mcp_flaky_server` and
/// waits for it to exit.
async fn mcp_client(calls: &[(&str, &str)], supervisor_args: &[&str]) -> Output {
    let binaries = binaries();
    let mut args = Vec::new();
    for (name, arguments) in calls {
        args.extend(["--call", name, arguments]);
    }
    args.extend(["--", path(&binaries.supervisor)]);
    args.extend(supervisor_args);
    args.extend(["--", path(&binaries.flaky_server)]);
    let run = tokio::process::Command::new(&binaries.client)
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .expect("mcp_client exits")
        .expect("mcp_client starts")
}

/// The result `mcp_client` printed for the call of `name`.
fn result(stdout: &str, name: &str) -> Value {
    let prefix = format!("result {name} ");
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no result for {name} in:\n{stdout}"));
    serde_json::from_str(line).expect("the result as JSON on one line")
}

/// `mcp_supervisor ARGS -- SERVER`, spawned for our client to drive.
fn spawn_supervisor(args: &[&str], server: &str) -> ServerProcess {
    let command = ChildCommand::new(&binaries().supervisor)
        .args(args)
        .arg("--")
        .arg(server);
    ServerProcess::spawn(command).expect("mcp_supervisor starts")
}

/// The `structuredContent` of a call of `name` that must succeed.
async fn structured(cx: &ConnectionTo<McpServer>, name: &str) -> Result<Value, Error> {
    let result = cx.call_tool(name, json!({})).block_task().await?;
    Ok(Value::Object(
        result.structured_content.expect("structured content"),
    ))
}

async fn pid(cx: &ConnectionTo<McpServer>) -> Result<u64, Error> {
    Ok(structured(cx, "whoami").await?["pid"]
        .as_u64()
        .expect("a pid"))
}

#[tokio::test]
async fn a_safe_call_survives_its_server_crashing_and_health_and_telemetry_say_so() {
    let dir = TempDir::new("crash");
    let marker = json!({"marker": dir.file("marker")}).to_string();
    let log = dir.file("calls.jsonl");
    let output = mcp_client(
        &[("crash", &marker), ("health", "{}"), ("telemetry", "{}")],
        &["--safe", "crash", "--telemetry-log", &log],
    )
    .await;
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    // The two tools of the supervisor come after the server's own.
    let tools: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("tool "))
        .collect();
    assert_eq!(tools[tools.len() - 2..], ["health", "telemetry"]);
    assert!(tools.contains(&"crash"), "{tools:?}");

    assert_eq!(result(&stdout, "crash")["content"][0]["text"], "survived");
    let health = &result(&stdout, "health")["structuredContent"];
    assert_eq!(health["generation"], 2, "{health}");
    assert_eq!(health["restarts"], 1, "{health}");
    assert_eq!(health["state"], "ready", "{health}");
    let fault = &health["lastFault"];
    assert_eq!(fault["stage"], "process", "{fault}");
    assert_eq!(fault["generation"], 1, "{fault}");
    assert!(
        fault["message"]
            .as_str()
            .unwrap()
            .contains("exit status: 3"),
        "{fault}"
    );
    // The health tool's text is the same JSON.
    let health_text = &result(&stdout, "health")["content"][0]["text"];
    assert_eq!(
        serde_json::from_str::<Value>(health_text.as_str().unwrap()).unwrap(),
        *health
    );
    let crash =
        &result(&stdout, "telemetry")["structuredContent"]["operations"]["tools/call:crash"];
    assert_eq!((&crash["count"], &crash["retried"]), (&json!(1), &json!(1)));

    // One line per call in the log, the crash's among them, sent twice.
    let log = std::fs::read_to_string(&log).expect("the telemetry log");
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let crash = records
        .iter()
        .find(|record| record["operation"] == "tools/call:crash")
        .unwrap_or_else(|| panic!("no record of the crash in {log}"));
    assert_eq!(
        (&crash["ok"], &crash["retried"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(crash["generation"], 2);
}

#[tokio::test]
async fn an_unsafe_call_lost_in_a_crash_fails_with_the_fault_as_its_data() {
    let dir = TempDir::new("unsafe");
    let marker = json!({"marker": dir.file("marker")}).to_string();
    let output = mcp_client(&[("crash", &marker)], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused `crash` (error -32011)"),
        "{stderr}"
    );
    assert!(stderr.contains("not retried"), "{stderr}");
    for field in [
        r#""stage":"process""#,
        r#""retried":false"#,
        r#""generation":1"#,
        r#""method":"tools/call""#,
    ] {
        assert!(stderr.contains(field), "{field} in {stderr}");
    }
    // It was not sent again: the marker exists, made by the one process that got the call.
    assert!(Path::new(&dir.file("marker")).exists());
}

#[tokio::test]
async fn a_server_that_hangs_is_taken_for_hung_replaced_and_the_next_call_answered() {
    let mut server = spawn_supervisor(
        &["--call-timeout", "1", "--safe", "hang"],
        path(&binaries().flaky_server),
    );
    let run = McpClient
        .builder()
        .connect_with(server.stdio().unwrap(), async |cx| {
            cx.initialize(client_info("test", "0")).await?;
            let first = pid(&cx).await?;
            let hung = cx.call_tool("hang", json!({})).block_task().await;
            let later = pid(&cx).await?;
            let health = structured(&cx, "health").await?;
            Ok((first, hung, later, health))
        });
    let (first, hung, later, health) = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("the calls end")
        .expect("the connection");
    let error = hung.expect_err("a call no generation answers fails");
    assert_eq!(error.code(), -32011, "{error:?}");
    assert!(error.message().contains("hung"), "{}", error.message());
    let fault = error.data().expect("the fault as data");
    assert_eq!(fault["stage"], "process");
    assert_eq!(fault["retried"], true);
    // Sent to the first generation and replayed to three more (the default), all hung; the
    // fifth answers the next call.
    assert_ne!(first, later);
    assert_eq!(health["generation"], 5, "{health}");
    assert_eq!(health["restarts"], 4, "{health}");
    server.end().await.unwrap();
}

#[tokio::test]
async fn garbage_on_the_servers_stdout_restarts_nothing() {
    let output = mcp_client(&[("garbage", "{}"), ("health", "{}")], &[]).await;
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert_eq!(
        result(&stdout, "garbage")["content"][0]["text"],
        "after garbage"
    );
    let health = &result(&stdout, "health")["structuredContent"];
    assert_eq!(
        (&health["generation"], &health["restarts"]),
        (&json!(1), &json!(0)),
        "{health}"
    );
    assert_eq!(health["lastFault"], Value::Null, "{health}");
}

#[tokio::test]
async fn past_its_restart_limit_the_supervisor_gives_up_and_says_so() {
    let output = mcp_client(
        &[("crash_always", "{}")],
        &["--max-restarts", "1", "--safe", "crash_always"],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("gave up"), "{stderr}");
    assert!(stderr.contains(r#""retryable":false"#), "{stderr}");
}

#[tokio::test]
async fn mcp_supervisor_exits_2_on_a_bad_command_line_and_0_at_the_end_of_its_input() {
    for args in [
        &["--"][..],
        &["--bogus", "--", "x"][..],
        &["--max-restarts", "many", "--", "x"][..],
        &["--call-timeout", "-1", "--", "x"][..],
        &["--safe"][..],
    ] {
        let run = tokio::process::Command::new(&binaries().supervisor)
            .args(args)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains("usage: mcp_supervisor"),
            "{args:?}"
        );
    }
    let run = tokio::process::Command::new(&binaries().supervisor)
        .args(["--", path(&binaries().flaky_server)])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, run).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
}

/// How many callers keep calling through the rollout.
const CALLERS: usize = 3;

#[tokio::test]
async fn a_replaced_executable_is_rolled_out_and_no_call_is_lost() {
    let dir = TempDir::new("rollout");

    let executable = dir.file("server");
    std::fs::copy(&binaries().flaky_server, &executable).unwrap();
    let mut server = spawn_supervisor(&["--watch"], &executable);
    let next = dir.file("server.next");
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let run = McpClient
        .builder()
        .connect_with(server.stdio().unwrap(), async move |cx| {
            let calls = counted;
            cx.initialize(client_info("test", "0")).await?;
            let before = pid(&cx).await?;
            // A new file renamed over the old: another inode, as an install does it.
            std::fs::copy(&binaries().flaky_server, &next).unwrap();
            std::fs::rename(&next, &executable).unwrap();
            let caller = async |n: usize| -> Result<(), Error> {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let said = format!("caller {n} call {i}");
                    let answer = cx
                        .call_tool("echo", json!({ "text": said }))
                        .block_task()
                        .await?;
                    assert_eq!(answer.is_error, None, "{answer:?}");
                    let answer = serde_json::to_value(&answer).unwrap();
                    assert_eq!(answer["content"][0]["text"], said.as_str());
                    calls.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
                Ok(())
            };
            // Between two looks at the health, one call: the pace of a round trip.
            let watcher = async {
                let rolled = async {
                    loop {
                        let health = structured(&cx, "health").await?;
                        assert_eq!(health["restarts"], 0, "{health}");
                        if health["generation"] == 2 && health["rollouts"] == 1 {
                            return Ok::<_, Error>(());
                        }
                        cx.call_tool("echo", json!({"text": "between looks"}))
                            .block_task()
                            .await?;
                    }
                };
                let rolled = tokio::time::timeout(Duration::from_secs(20), rolled).await;
                stop.store(true, Ordering::SeqCst);
                rolled.expect("the rollout within 20 s")
            };
            let callers = futures::future::try_join_all((0..CALLERS).map(caller));
            futures::try_join!(watcher, callers)?;
            let after = pid(&cx).await?;
            let health = structured(&cx, "health").await?;
            Ok((before, after, health))
        });
    let (before, after, health) = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("the calls end")
        .expect("every call answered");
    assert_ne!(before, after, "a new process after the rollout");
    assert_eq!(health["lastFault"], Value::Null, "{health}");
    assert!(calls.load(Ordering::SeqCst) >= CALLERS as u64);
    // The old server was ended by the rollout; the new one ends with the supervisor.
    wait_until_gone(before, "the server rolled out").await;
    server.end().await.unwrap();
    wait_until_gone(after, "the server of a supervisor that exited").await;
}

#[tokio::test]
async fn progress_and_cancellation_pass_through_and_a_cancelled_call_gets_no_answer() {
    let flaky = path(&binaries().flaky_server);
    let mut supervisor = LinePeer::spawn(&binaries().supervisor, ["--", flaky]);
    supervisor.send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#).await;
    assert_eq!(
        supervisor.next().await["result"]["protocolVersion"],
        "2025-11-25"
    );
    supervisor
        .send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    // An hour's sleep, reporting progress: its first report, from the server through the
    // supervisor, says it is running.
    supervisor.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":3600000},"_meta":{"progressToken":"nap"}}}"#).await;
    let report = supervisor.next().await;
    assert_eq!(report["method"], "notifications/progress");
    assert_eq!(report["params"]["progressToken"], "nap");
    supervisor.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"changed my mind"}}"#).await;
    supervisor
        .send(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        .await;
    // Everything else, up to its exit: the ping's answer, nothing for id 2. (A call still
    // waiting for its answer would keep it from exiting.)
    let (rest, status) = supervisor.finish().await;
    let answers: Vec<&Value> = rest
        .iter()
        .filter(|message| message.get("id").is_some())
        .collect();
    assert_eq!(answers, [&json!({"jsonrpc": "2.0", "id": 3, "result": {}})]);
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_server_dies_with_its_supervisor_even_when_the_supervisor_is_killed() {
    // A server that ignores the end of its input, and says who it is in a file.
    let pid_file = std::env::temp_dir().join(format!("mcp-supervisor-{}.pid", std::process::id()));
    let script = format!("echo $$ > '{}'; exec sleep 600", pid_file.display());
    let mut supervisor = LinePeer::spawn(&binaries().supervisor, ["--", "sh", "-c", &script]);
    // The first generation takes calls at once: a ping reaches the server, which is running.
    supervisor
        .send(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .await;
    let started = async {
        loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse::<u32>().ok())
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let server = tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("hang guard: the server did not start");
    let _ = std::fs::remove_file(&pid_file);
    // SIGKILL: the supervisor gets no chance to end its server itself; only the launcher's
    // parent-death signal can.
    supervisor
        .child
        .start_kill()
        .expect("killing the supervisor");
    supervisor
        .child
        .wait()
        .await
        .expect("the supervisor reaped");
    wait_until_gone(server, "the server of a killed supervisor").await;
}
