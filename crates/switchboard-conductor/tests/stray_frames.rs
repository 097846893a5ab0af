//! What a component sends that belongs to no request is not dropped silently: the conductor
//! logs it on its stderr, naming the component.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use tokio::process::Command;

use support::piped::{Piped, Raw};
use support::{TempDir, conductor_binary, programs, quote};

#[tokio::test]
async fn an_error_without_an_id_from_the_agent_is_logged_naming_it() {
    let dir = TempDir::new("stray");
    // An agent that first reports an error belonging to no request, then is the echo agent.
    let stray =
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"stray complaint"}}"#;
    let script = format!(
        "echo {}; exec {}",
        quote(stray),
        quote(&programs().echo_agent)
    );
    let mut command = Command::new(conductor_binary());
    command.args(["--", "sh", "-c", &script]);
    let mut raw = Raw::new(Piped::spawn(command));
    raw.open_session(dir.path()).await;
    raw.close_input();
    let (_, status, stderr) = raw.read_to_end().await;
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
    let line = stderr
        .lines()
        .find(|line| line.contains("stray complaint"))
        .unwrap_or_else(|| panic!("nothing logged about the stray error: {stderr}"));
    assert!(line.contains("belongs to no request"), "{line}");
    assert!(line.contains("the agent (`sh`)"), "{line}");
}
