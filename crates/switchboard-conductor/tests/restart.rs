//! `--restart`: an agent that crashes is replaced; the prompt in flight fails with a fault,
//! a session the new agent cannot take back is refused saying so, and new sessions work.

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use switchboard::{ChildCommand, ChildProcess};
use switchboard_acp::AcpClient;
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_supervisor::{Fault, Stage};

use support::{EditorState, conductor_binary, drive, echo_agent, finish, open_session};

#[tokio::test]
async fn a_crashed_agent_is_replaced_and_the_editor_is_told_what_was_lost() {
    let command = ChildCommand::new(conductor_binary())
        .arg("--restart")
        .arg("--")
        .args(echo_agent());
    let mut conductor = ChildProcess::spawn(command).expect("starting the conductor");
    let cwd = std::env::temp_dir();
    let (hello, crash, again, other) = drive(
        &[],
        &mut conductor,
        &EditorState::default(),
        async move |cx| {
            let mut first = open_session(&cx, &cwd).await?;
            let mut said = String::new();
            let hello = first
                .prompt("hello", |_| {})
                .await
                .map(|answer| answer.stop_reason);
            let crash = first.prompt("/crash", |_| {}).await;
            // The echo agent keeps its sessions in memory: the new one cannot resume this one.
            let again = first.prompt("again", |_| {}).await;
            // The new agent may give the new session the lost one's id: the editor lets the
            // lost one go first, as it would on being told it was lost.
            drop(first);
            let (mut second, _) = cx.new_session(NewSessionRequest::new(&cwd)).await?;
            let other = second
                .prompt("still here", |update| {
                    said.extend(support::chunk_text(&update))
                })
                .await
                .map(|answer| (said, answer.stop_reason));
            Ok((hello, crash, again, other))
        },
    )
    .await;
    assert_eq!(hello.expect("the first prompt"), StopReason::EndTurn);
    let error = crash.expect_err("the prompt in flight fails");
    let fault = Fault::from_error(&error).unwrap_or_else(|| panic!("a fault: {error:?}"));
    assert_eq!((fault.stage, fault.generation), (Stage::Process, 1));
    assert!(!fault.retried);
    let error = again.expect_err("the lost session is refused");
    let fault = Fault::from_error(&error).unwrap_or_else(|| panic!("a fault: {error:?}"));
    assert!(fault.message.contains("was lost"), "{}", fault.message);
    assert!(
        fault.message.contains("session/resume"),
        "{}",
        fault.message
    );
    let (said, reason) = other.expect("a new session on the new agent");
    assert_eq!(
        (said.as_str(), reason),
        ("still here ", StopReason::EndTurn)
    );
    let (status, stderr) = finish(&mut conductor).await;
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("crashing, as the prompt asked"), "{stderr}");
}
