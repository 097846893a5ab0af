//! End of input: a client may close its side and go on reading. What it asked before it
//! closed is answered, then everything ends by itself.
//!
//! - Requests written just before the editor closes the conductor's stdin are all answered,
//!   through 0, 1 and 3 proxies, and the conductor exits 0.
//! - A turn held until the client cancels it (the echo agent's `/hold`) ends when the client
//!   hangs up instead: the agent alone, and the chain, answer it as cancelled (the agent
//!   itself answers, through every hop) and exit 0.
//!
//! These speak raw JSON lines to the process, so that closing stdin is all the editor does.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use serde_json::{Value, json};
use tokio::process::Command;

use support::piped::{Piped, Raw, prompt};
use support::{TempDir, programs, shapes};

#[tokio::test]
async fn requests_written_just_before_the_editor_closes_its_output_are_all_answered() {
    const PROMPTS: u64 = 10;
    for proxies in shapes() {
        let dir = TempDir::new("last-requests");
        let mut raw = Raw::new(Piped::conductor(&proxies));
        // A session per prompt: a new prompt in the same session would end the turn before.
        let mut sessions = vec![raw.open_session(dir.path()).await];
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
/// held prompt's answer, after the program exited 0.
async fn hang_up_on_a_held_turn(mut raw: Raw, cwd: &std::path::Path) -> Value {
    let session = raw.open_session(cwd).await;
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
    frames
        .into_iter()
        .find(|frame| frame.get("method").is_none() && frame["id"] == 3)
        .expect("the held prompt was answered")
}

#[tokio::test]
async fn a_held_turn_ends_when_the_client_hangs_up_on_the_agent_alone() {
    let dir = TempDir::new("held-agent");
    let raw = Raw::new(Piped::spawn(Command::new(&programs().echo_agent)));
    let answer = hang_up_on_a_held_turn(raw, dir.path()).await;
    assert_eq!(answer["error"]["code"], -32800, "{answer}");
}

/// The held prompt is answered as cancelled: the cancellation crossed every hop and the agent
/// answered it (a component killed or cut off would have answered -32099 instead).
#[tokio::test]
async fn a_held_turn_ends_as_cancelled_when_the_editor_hangs_up_on_a_chain() {
    for proxies in shapes() {
        let dir = TempDir::new("held-chain");
        let raw = Raw::new(Piped::conductor(&proxies));
        let answer = hang_up_on_a_held_turn(raw, dir.path()).await;
        assert_eq!(
            answer["error"]["code"],
            -32800,
            "{} proxies: {answer}",
            proxies.len()
        );
    }
}
