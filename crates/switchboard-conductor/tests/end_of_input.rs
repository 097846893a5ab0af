//! End of input: a client may close its side and go on reading. What it asked before it
//! closed is answered, then everything ends by itself.
//!
//! - Requests written just before the editor closes the conductor's stdin are all answered,
//!   through 0, 1 and 3 proxies, and the conductor exits 0.
//! - A turn held until the client cancels it (the echo agent's `/hold`) ends when the client
//!   hangs up instead: the agent alone, and the chain, answer it as cancelled and exit by
//!   themselves, nothing killed.
//!
//! These speak raw JSON lines to the process, so that closing stdin is all the editor does.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use support::{TempDir, conductor_binary, guard, programs, shapes};

/// A process spoken to in JSON lines.
struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Raw {
    fn spawn(command: &mut Command) -> Raw {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the program");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Raw {
            child,
            stdin,
            stdout,
        }
    }

    async fn send(&mut self, frame: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        let line = format!("{frame}\n");
        guard("writing", stdin.write_all(line.as_bytes()))
            .await
            .expect("writing to the program");
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    /// The next frame, or `None` at the end of the output.
    async fn recv(&mut self) -> Option<Value> {
        let line = guard("reading", self.stdout.next_line())
            .await
            .expect("reading from the program")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}: {line}")))
    }

    /// Frames until the answer to `id`.
    async fn answer(&mut self, id: u64) -> Value {
        while let Some(frame) = self.recv().await {
            if frame.get("method").is_none() && frame["id"] == id {
                return frame;
            }
        }
        panic!("the output ended before the answer to {id}")
    }

    /// Closes the program's stdin; it may still write.
    fn close_input(&mut self) {
        self.stdin = None;
    }

    /// Every frame until the end of the output, then the exit status and stderr.
    async fn read_to_end(mut self) -> (Vec<Value>, std::process::ExitStatus, String) {
        let mut frames = Vec::new();
        while let Some(frame) = self.recv().await {
            frames.push(frame);
        }
        let output = guard("the exit", self.child.wait_with_output())
            .await
            .expect("waiting for the program");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (frames, output.status, stderr)
    }
}

/// The conductor with `proxies` in front of the echo agent.
fn conductor(proxies: &[support::Hop]) -> Command {
    let mut command = Command::new(conductor_binary());
    for hop in proxies {
        command.arg("--proxy").arg(&hop.command);
    }
    command.arg("--").arg(&programs().echo_agent);
    command
}

/// `initialize` and `session/new` (ids 1 and 2); returns the session id.
async fn open_session(raw: &mut Raw, cwd: &std::path::Path) -> Value {
    raw.request(1, "initialize", json!({"protocolVersion": 1}))
        .await;
    raw.answer(1).await;
    raw.request(2, "session/new", json!({"cwd": cwd, "mcpServers": []}))
        .await;
    raw.answer(2).await["result"]["sessionId"].clone()
}

fn prompt(session: &Value, text: &str) -> Value {
    json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]})
}

#[tokio::test]
async fn requests_written_just_before_the_editor_closes_its_output_are_all_answered() {
    const PROMPTS: u64 = 10;
    for proxies in shapes() {
        let dir = TempDir::new("last-requests");
        let mut raw = Raw::spawn(&mut conductor(&proxies));
        // A session per prompt: a new prompt in the same session would end the turn before.
        let mut sessions = vec![open_session(&mut raw, dir.path()).await];
        for n in 1..PROMPTS {
            raw.request(
                100 + n,
                "session/new",
                json!({"cwd": dir.path(), "mcpServers": []}),
            )
            .await;
            sessions.push(raw.answer(100 + n).await["result"]["sessionId"].clone());
        }
        for (n, session) in (0..PROMPTS).zip(&sessions) {
            raw.request(
                10 + n,
                "session/prompt",
                prompt(session, &format!("last {n}")),
            )
            .await;
        }
        raw.close_input();
        let (frames, status, stderr) = raw.read_to_end().await;
        for n in 0..PROMPTS {
            let answer = frames
                .iter()
                .find(|frame| frame.get("method").is_none() && frame["id"] == 10 + n)
                .unwrap_or_else(|| panic!("{} proxies: prompt {n} unanswered", proxies.len()));
            assert_eq!(
                answer["result"]["stopReason"],
                "end_turn",
                "{} proxies: {answer}",
                proxies.len()
            );
        }
        assert_eq!(status.code(), Some(0), "{status}: {stderr}");
    }
}

/// Opens a session on `raw`, holds a turn, waits for its first word, hangs up; returns the
/// held prompt's answer and what the program wrote to stderr, after it exited 0.
async fn hang_up_on_a_held_turn(mut raw: Raw, cwd: &std::path::Path) -> (Value, String) {
    let session = open_session(&mut raw, cwd).await;
    raw.request(3, "session/prompt", prompt(&session, "/hold waiting"))
        .await;
    // The word after `/hold` is said, then the turn waits for a cancellation.
    loop {
        let frame = raw.recv().await.expect("the turn's first word");
        if frame["method"] == "session/update" {
            break;
        }
    }
    raw.close_input();
    let (frames, status, stderr) = raw.read_to_end().await;
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
    let answer = frames
        .into_iter()
        .find(|frame| frame.get("method").is_none() && frame["id"] == 3)
        .expect("the held prompt was answered");
    (answer, stderr)
}

#[tokio::test]
async fn a_held_turn_ends_when_the_client_hangs_up_on_the_agent_alone() {
    let dir = TempDir::new("held-agent");
    let raw = Raw::spawn(&mut Command::new(&programs().echo_agent));
    let (answer, _) = hang_up_on_a_held_turn(raw, dir.path()).await;
    assert_eq!(answer["error"]["code"], -32800, "{answer}");
}

#[tokio::test]
async fn a_held_turn_ends_when_the_editor_hangs_up_on_a_chain_and_nothing_is_killed() {
    for proxies in shapes() {
        let dir = TempDir::new("held-chain");
        let raw = Raw::spawn(&mut conductor(&proxies));
        let (answer, stderr) = hang_up_on_a_held_turn(raw, dir.path()).await;
        assert_eq!(
            answer["error"]["code"],
            -32800,
            "{} proxies: {answer}",
            proxies.len()
        );
        assert!(
            !stderr.contains("kill"),
            "{} proxies: {stderr}",
            proxies.len()
        );
    }
}
