//! Across processes: the `acp_echo_agent` example binary, spawned as a child, driven over its
//! stdio by our client (through `switchboard::ChildProcess`); and its `/crash`, a process that
//! dies mid-prompt. (The official SDK's client spawning it is in `interop/`.)
//!
//! `cargo test` does not build another package's examples, so the first test that needs the
//! binary builds it with the same cargo, into the target directory this test binary runs
//! from.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use futures::StreamExt;
use switchboard::{ChildCommand, ChildProcess};
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_acp::{AcpClient, Client, SessionEvent};
use switchboard_examples::acp_client_app::{ClientOptions, client, run};

use crate::support::{TempFile, chunk_text, guard, hello, text};

/// The `acp_echo_agent` binary, built once per test run.
fn echo_agent_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_echo_agent)
}

fn build_echo_agent() -> PathBuf {
    let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut built = build_examples(workspace, &["acp_echo_agent"]);
    built.pop().expect("one binary for one example")
}

use crate::example_binaries::build_examples;

#[tokio::test]
async fn our_client_drives_the_echo_agent_binary_and_it_exits_at_hang_up() {
    let file = TempFile::with("child-read", "from disk\n");
    let path = file.display();
    let options = ClientOptions {
        yes: false,
        cwd: std::env::temp_dir(),
        prompt: format!("child @{path}"),
        cancel_after: None,
    };
    let mut process =
        ChildProcess::spawn(ChildCommand::new(echo_agent_binary())).expect("spawning the agent");
    let stdio = process.stdio().expect("the child's stdio");
    let (said, reason) = guard(
        "our client and the agent process",
        client(&options).connect_with(stdio, async move |cx| {
            let mut said = String::new();
            let reason = run(&cx, &options, |text| said.push_str(text)).await?;
            Ok((said, reason))
        }),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\nstderr: {}", process.stderr_tail()));
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(said, format!("child @{path} [{path}: from disk] "));
    // Our side hung up: the agent sees the end of its input and exits on its own.
    let status = guard("the agent's exit", process.wait()).await.unwrap();
    assert!(status.success(), "{status}: {}", process.stderr_tail());
}

#[tokio::test]
async fn our_client_cancels_a_held_turn_in_the_echo_agent_binary() {
    let mut process =
        ChildProcess::spawn(ChildCommand::new(echo_agent_binary())).expect("spawning the agent");
    let stdio = process.stdio().expect("the child's stdio");
    let (first, answer, second) = guard(
        "our client and the agent process",
        Client.builder().connect_with(stdio, async |cx| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            let (mut other, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            session.send_prompt(vec![text("/hold held forever")])?;
            let first = match session.next().await {
                Some(SessionEvent::Update(update)) => chunk_text(&update),
                event => panic!("expected the first word, got {event:?}"),
            };
            // Another session on the same process is not held up by the held turn.
            let mut second = Vec::new();
            other
                .prompt("meanwhile", |update| second.extend(chunk_text(&update)))
                .await?;
            session.cancel()?;
            match session.next().await {
                Some(SessionEvent::PromptFinished(answer)) => Ok((first, answer?, second)),
                event => panic!("expected the answer, got {event:?}"),
            }
        }),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\nstderr: {}", process.stderr_tail()));
    assert_eq!(first.as_deref(), Some("held "));
    assert_eq!(second, ["meanwhile "]);
    assert_eq!(answer.stop_reason, StopReason::Cancelled);
    let status = guard("the agent's exit", process.wait()).await.unwrap();
    assert!(status.success(), "{status}: {}", process.stderr_tail());
}

#[tokio::test]
async fn the_echo_agent_binary_exits_3_mid_prompt_on_crash() {
    let mut process =
        ChildProcess::spawn(ChildCommand::new(echo_agent_binary())).expect("spawning the agent");
    let stdio = process.stdio().expect("the child's stdio");
    let (before, after) = guard(
        "our client and the agent process",
        Client.builder().connect_with(stdio, async |cx| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            // A normal turn first: the crash is the prompt's, not the session's.
            let before = session.prompt("still here", |_| {}).await?;
            session.send_prompt(vec![text("/crash now")])?;
            // The process is gone with the prompt unanswered: it fails, it is not answered.
            let after = match session.next().await {
                Some(SessionEvent::PromptFinished(Err(error))) => error,
                event => panic!("expected the prompt to fail, got {event:?}"),
            };
            Ok((before, after))
        }),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\nstderr: {}", process.stderr_tail()));
    assert_eq!(before.stop_reason, StopReason::EndTurn);
    assert!(after.is_connection_closed(), "{after}");
    let status = guard("the agent's exit", process.wait()).await.unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "{status}: {}",
        process.stderr_tail()
    );
}
