//! `mcp_client` driving `mcp_server`, both as the programs a user runs.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::{LinePeer, binaries};

/// Bounds each run, so a hung program fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `mcp_client` with `args` and waits for it to exit.
async fn mcp_client(args: &[&str]) -> Output {
    let run = tokio::process::Command::new(&binaries().client)
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .expect("mcp_client exits")
        .expect("mcp_client starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn mcp_client_lists_the_tools_of_mcp_server_and_prints_each_result() {
    let server = binaries().server.to_str().unwrap();
    let output = mcp_client(&[
        "--call",
        "add",
        r#"{"a":2,"b":3}"#,
        "--call",
        "echo",
        r#"{"text":"hi there"}"#,
        "--call",
        "fail",
        "{}",
        "--",
        server,
    ])
    .await;
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..4],
        ["tool add", "tool echo", "tool sleep", "tool fail"]
    );
    let result = |line: &str, name: &str| -> Value {
        let json = line
            .strip_prefix(&format!("result {name} "))
            .expect("a result line");
        serde_json::from_str(json).expect("the result as JSON on one line")
    };
    assert_eq!(result(lines[4], "add")["structuredContent"]["sum"], 5);
    assert_eq!(result(lines[5], "echo")["content"][0]["text"], "hi there");
    assert_eq!(result(lines[6], "fail")["isError"], true);
    assert_eq!(lines.len(), 7);
}

#[tokio::test]
async fn mcp_client_fails_clearly_when_the_server_refuses_a_call() {
    let server = binaries().server.to_str().unwrap();
    let output = mcp_client(&["--call", "nope", "{}", "--", server]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused `nope`") && stderr.contains("no tool"),
        "{stderr}"
    );
}

#[tokio::test]
async fn mcp_client_fails_clearly_when_the_server_cannot_start_or_exits_at_once() {
    let missing = mcp_client(&["--", "/no/such/mcp-server"]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("/no/such/mcp-server"),
        "{}",
        text(&missing.stderr)
    );

    let quitter = mcp_client(&["--", "sh", "-c", "echo going away >&2; exit 3"]).await;
    assert_eq!(quitter.status.code(), Some(1));
    let stderr = text(&quitter.stderr);
    assert!(
        stderr.contains("exit status: 3") && stderr.contains("going away"),
        "{stderr}"
    );
}

#[tokio::test]
async fn mcp_client_exits_2_with_its_usage_on_a_bad_command_line() {
    for args in [
        &["--call", "add"][..],
        &["--"][..],
        &["--bogus", "--", "x"][..],
        &["--call", "add", "[1]", "--", "x"][..],
    ] {
        let output = mcp_client(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains("usage: mcp_client"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn mcp_server_answers_what_it_read_and_exits_0_at_the_end_of_its_input() {
    use tokio::io::AsyncWriteExt;

    let mut server = tokio::process::Command::new(&binaries().server)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mcp_server starts");
    let mut stdin = server.stdin.take().unwrap();
    let lines = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
        "\n",
    );
    stdin.write_all(lines.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(PATIENCE, server.wait_with_output())
        .await
        .expect("mcp_server exits at the end of its input")
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let answers: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        answers[0]["result"]["serverInfo"]["name"],
        "switchboard-mcp-example"
    );
    assert_eq!(
        answers[1],
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "result": {}})
    );
}

#[tokio::test]
async fn mcp_server_sends_nothing_for_a_cancelled_call_and_stops_it() {
    let mut server = LinePeer::spawn(&binaries().server, [] as [&str; 0]);
    server.send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#).await;
    server
        .send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    // An hour's sleep, reporting progress: its first report says it is running.
    server.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":3600000},"_meta":{"progressToken":"nap"}}}"#).await;
    assert_eq!(server.next().await["id"], 1);
    let report = server.next().await;
    assert_eq!(report["method"], "notifications/progress");
    assert_eq!(report["params"]["progressToken"], "nap");
    server.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"changed my mind"}}"#).await;
    server
        .send(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        .await;
    // Everything else it writes, up to its exit: the ping's answer and nothing for id 2.
    // (An hour's sleep still running would keep it from exiting.)
    let (rest, status) = server.finish().await;
    let answers: Vec<&Value> = rest
        .iter()
        .filter(|message| message.get("id").is_some())
        .collect();
    assert_eq!(
        answers,
        [&serde_json::json!({"jsonrpc": "2.0", "id": 3, "result": {}})],
        "{rest:?}"
    );
    assert_eq!(status.code(), Some(0));
}
