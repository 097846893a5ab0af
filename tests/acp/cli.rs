//! The `acp_client` program as a user runs it: `--help`, a wrong command line, and its
//! options against the `acp_echo_agent` program: `--cancel-after` ends a held turn,
//! `--trace` writes the conductor's trace format, `--verbose` shows the agent's stderr.

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::{TempFile, guard};

use crate::example_binaries::build_examples;

/// The `acp_client` and `acp_echo_agent` binaries, built once per test run.
fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINARIES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut built = build_examples(workspace, &["acp_client", "acp_echo_agent"]);
        let agent = built.pop().expect("two binaries");
        let client = built.pop().expect("two binaries");
        (client, agent)
    })
}

/// Runs `acp_client` with `args`; returns its output once it has exited.
async fn acp_client(args: &[&str]) -> Output {
    let (client, _) = binaries();
    let run = tokio::process::Command::new(client)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    guard("acp_client", run).await.expect("running acp_client")
}

fn agent() -> String {
    binaries().1.to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn help_prints_the_usage_and_exits_0() {
    let output = acp_client(&["--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    for option in [
        "--prompt",
        "--cancel-after",
        "--verbose",
        "--trace",
        "--yes",
        "--cwd",
        "--url",
        "--transport",
        "--token",
    ] {
        assert!(stdout.contains(option), "{option} missing from: {stdout}");
    }
}

#[tokio::test]
async fn a_wrong_command_line_prints_the_problem_and_the_usage_and_exits_2() {
    for args in [
        &["--frobnicate"][..],
        &["--cancel-after", "soon", "--prompt", "x", "--", "agent"],
        &["--prompt", "x"],
        &[
            "--url",
            "http://h/acp",
            "--transport",
            "smoke",
            "--prompt",
            "x",
        ],
        &["--url", "http://h/acp", "--prompt", "x", "--", "agent"],
        &[
            "--url",
            "ws://h/acp",
            "--transport",
            "http",
            "--prompt",
            "x",
        ],
        &["--token", "t", "--prompt", "x", "--", "agent"],
    ] {
        let output = acp_client(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.starts_with("acp_client: "), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: acp_client"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn cancel_after_ends_a_held_turn_cancelled() {
    let agent = agent();
    let output = acp_client(&[
        "--cancel-after",
        "300",
        "--prompt",
        "/hold on",
        "--",
        &agent,
    ])
    .await;
    let stderr = text(&output.stderr);
    assert!(stderr.contains("stop reason: cancelled"), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&output.stdout).trim(), "on");
}

#[tokio::test]
async fn trace_writes_every_message_in_the_conductors_format() {
    let trace = TempFile::new("client-trace");
    let agent = agent();
    let path = trace.display();
    let output = acp_client(&["--trace", &path, "--prompt", "hi there", "--", &agent]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines: Vec<Value> = std::fs::read_to_string(trace.path())
        .expect("the trace")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert!(lines.iter().all(|line| line["hop"] == 0
        && line["component"] == "the agent (`acp_echo_agent`)"
        && line["time"].is_string()));
    let sent: Vec<&Value> = lines
        .iter()
        .filter(|line| line["direction"] == "sent")
        .filter_map(|line| line["message"].get("method"))
        .collect();
    assert_eq!(sent, ["initialize", "session/new", "session/prompt"]);
    let updates = lines
        .iter()
        .filter(|line| line["direction"] == "received")
        .filter(|line| line["message"]["method"] == "session/update")
        .count();
    assert_eq!(updates, 2, "one update per word");
}

#[tokio::test]
async fn verbose_shows_the_agents_stderr() {
    let script = format!("echo 'agent says hello on stderr' >&2; exec '{}'", agent());
    let args = ["--prompt", "hi", "--", "sh", "-c", &script];
    let quiet = acp_client(&args).await;
    assert!(
        !text(&quiet.stderr).contains("agent says hello"),
        "{}",
        text(&quiet.stderr)
    );
    let verbose = acp_client(&[&["--verbose"][..], &args[..]].concat()).await;
    assert_eq!(verbose.status.code(), Some(0), "{}", text(&verbose.stderr));
    assert!(
        text(&verbose.stderr).contains("agent says hello on stderr"),
        "{}",
        text(&verbose.stderr)
    );
}
