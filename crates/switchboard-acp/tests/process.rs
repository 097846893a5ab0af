//! Agents as child processes: the handshake against scripted agents, its timeouts, the
//! version check, `explain` on an agent that died or got stuck, killing by `kill` and by
//! drop, and `spawn_line`.
//!
//! The agents are `/bin/sh` scripts that speak newline-delimited JSON-RPC. No test sleeps to
//! let an agent get somewhere: each waits for an answer, an error or an exit. The only
//! polling is [`wait_until_gone`], a condition checked until a deadline.
#![cfg(all(unix, feature = "tokio"))]

use std::future::Future;
use std::time::{Duration, Instant};

use switchboard::error::codes;
use switchboard::{ChildCommand, Error};
use switchboard_acp::process::{AgentProcess, EXIT_GRACE, Handshake, handshake};
use switchboard_acp::schema::{InitializeResponse, NewSessionResponse, ProtocolVersion};
use switchboard_acp::{AcpClient, Client};

#[path = "../../../tests/common/gone.rs"]
mod gone;
use gone::{is_gone, wait_until_gone};

/// Shell functions for the scripts: `next_request` reads a request line into `$line` and its
/// id into `$id` (false at end of input); `answer JSON` answers it with `JSON` as the result.
/// No single quotes, so a script can sit inside single quotes on a command line.
const FUNCTIONS: &str = r#"
next_request() { read -r line && id=$(printf "%s" "$line" | sed "s/.*\"id\":\([0-9]*\).*/\1/"); }
answer() { printf "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n" "$id" "$1"; }
"#;

/// Reads requests until the client hangs up, answering none.
const IGNORE_THE_REST: &str = "while read -r line; do :; done";

/// An agent run by `/bin/sh -c`, with [`FUNCTIONS`] defined.
fn agent(script: &str) -> AgentProcess {
    let command = ChildCommand::new("/bin/sh")
        .arg("-c")
        .arg(format!("{FUNCTIONS}{script}"));
    AgentProcess::spawn(command).expect("/bin/sh starts")
}

/// Fails the test if `future` takes more than ten seconds: a hang becomes a failure.
async fn guard<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(10), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} took more than 10 s"),
    }
}

/// Runs the handshake against `agent` and returns the two answers.
async fn shake(
    agent: &mut AgentProcess,
    setup: Handshake,
) -> Result<(InitializeResponse, NewSessionResponse), Error> {
    let stdio = agent.stdio().expect("the pipes are there");
    let connection = Client.builder().connect_with(stdio, async |cx| {
        let started = handshake(&cx, setup).await?;
        assert_eq!(started.session.id(), &started.new_session.session_id);
        Ok((started.initialize, started.new_session))
    });
    guard("the handshake", connection).await
}

#[tokio::test]
async fn the_handshake_opens_a_session_with_a_scripted_agent() {
    // The agent copies each request to stderr, so the test can see what was sent.
    let mut agent = agent(&format!(
        r#"
        next_request; echo "$line" >&2; answer "{{\"protocolVersion\":1}}"
        next_request; echo "$line" >&2; answer "{{\"sessionId\":\"s1\"}}"
        {IGNORE_THE_REST}
        "#
    ));
    let (initialize, new_session) = shake(&mut agent, Handshake::new("/tmp")).await.unwrap();
    assert_eq!(initialize.protocol_version, ProtocolVersion::V1);
    assert_eq!(new_session.session_id.0.as_ref(), "s1");

    // The connection closed the agent's stdin, so it exits, and its stderr is complete.
    let status = guard("the agent's exit", agent.wait()).await.unwrap();
    assert!(status.success(), "{status}");
    let sent = agent.stderr_tail();
    let lines: Vec<&str> = sent.lines().collect();
    assert_eq!(lines.len(), 2, "{sent}");
    // Request ids count up from 1 on each connection.
    assert!(
        lines[0].contains(r#""id":1,"method":"initialize""#),
        "{sent}"
    );
    assert!(
        lines[0].contains(&format!(
            r#""clientInfo":{{"name":"switchboard-acp","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        "{sent}"
    );
    assert!(
        lines[1].contains(r#""id":2,"method":"session/new""#),
        "{sent}"
    );
    assert!(lines[1].contains(r#""cwd":"/tmp""#), "{sent}");
}

#[tokio::test]
async fn a_session_new_that_is_never_answered_times_out_naming_the_step() {
    let mut agent = agent(&format!(
        r#"next_request; answer "{{\"protocolVersion\":1}}"; {IGNORE_THE_REST}"#
    ));
    let setup = Handshake::new("/tmp").timeout(Duration::from_millis(300));
    let error = shake(&mut agent, setup).await.unwrap_err();
    assert_eq!(error.code(), codes::TIMED_OUT, "{error}");
    assert!(error.is_timeout());
    assert!(
        error.message().contains("`session/new`") && error.message().contains("300ms"),
        "{error}"
    );
}

#[tokio::test]
async fn an_initialize_that_is_never_answered_times_out_naming_the_step() {
    let mut agent = agent(IGNORE_THE_REST);
    let setup = Handshake::new("/tmp").timeout(Duration::from_millis(200));
    let error = shake(&mut agent, setup).await.unwrap_err();
    assert_eq!(error.code(), codes::TIMED_OUT, "{error}");
    assert!(
        error.message().contains("`initialize`") && error.message().contains("200ms"),
        "{error}"
    );
}

#[tokio::test]
async fn an_agent_that_chooses_an_unknown_version_fails_the_handshake() {
    let mut agent = agent(&format!(
        r#"next_request; answer "{{\"protocolVersion\":99}}"; {IGNORE_THE_REST}"#
    ));
    let error = shake(&mut agent, Handshake::new("/tmp")).await.unwrap_err();
    assert_eq!(error.code(), codes::INVALID_REQUEST, "{error}");
    assert!(error.message().contains("protocol version 99"), "{error}");
}

#[tokio::test]
async fn explain_tells_how_the_agent_exited_and_what_it_said() {
    let mut agent = agent(r#"next_request; echo "boom: missing API key" >&2; exit 3"#);
    let error = shake(&mut agent, Handshake::new("/tmp")).await.unwrap_err();
    assert!(error.is_connection_closed(), "{error}");
    let code = error.code();

    let explained = guard("explain", agent.explain(error)).await;
    assert_eq!(explained.code(), code);
    let message = explained.message();
    assert!(
        message.contains("the agent `/bin/sh` exited with status 3"),
        "{message}"
    );
    assert!(message.ends_with("boom: missing API key"), "{message}");
    let facts = &explained.data().expect("data about the agent")["agent"];
    assert_eq!(facts["exitCode"], 3);
    assert_eq!(facts["stderr"], "boom: missing API key");
    assert!(agent.try_wait().unwrap().is_some());
}

#[tokio::test]
async fn explain_kills_an_agent_that_closed_its_output_but_did_not_exit() {
    // Closes its stdout (ending the connection), then hangs on.
    let mut agent = agent(r#"next_request; echo "stuck on a lock" >&2; exec >&-; sleep 1000"#);
    let error = shake(&mut agent, Handshake::new("/tmp")).await.unwrap_err();
    assert!(error.is_connection_closed(), "{error}");

    let started = Instant::now();
    let explained = guard("explain", agent.explain(error)).await;
    assert!(
        started.elapsed() >= EXIT_GRACE,
        "explain waited for the agent first"
    );
    let message = explained.message();
    assert!(message.contains("so it was killed"), "{message}");
    assert!(message.contains("stuck on a lock"), "{message}");
    assert!(agent.try_wait().unwrap().is_some(), "the agent is gone");
}

/// An agent that starts a grandchild (`sleep`), gives its pid as its name in the
/// `initialize` answer, and then waits for it. Returns the agent and that pid.
async fn agent_with_a_grandchild() -> (AgentProcess, u32) {
    let mut agent = agent(
        r#"sleep 1000 &
        next_request
        answer "{\"protocolVersion\":1,\"agentInfo\":{\"name\":\"$!\",\"version\":\"0\"}}"
        wait"#,
    );
    let stdio = agent.stdio().unwrap();
    let answer = Client.builder().connect_with(stdio, async |cx| {
        cx.initialize(switchboard_acp::schema::InitializeRequest::new(
            ProtocolVersion::LATEST,
        ))
        .block_task()
        .await
    });
    let answer = guard("initialize", answer).await.unwrap();
    let name = answer.agent_info.expect("the agent names itself").name;
    let grandchild: u32 = name.parse().expect("a pid");
    assert!(!is_gone(grandchild), "the grandchild should be running");
    (agent, grandchild)
}

#[tokio::test]
async fn kill_ends_the_agent_and_its_process_group() {
    let (mut agent, grandchild) = agent_with_a_grandchild().await;
    assert!(agent.try_wait().unwrap().is_none(), "the agent still runs");
    guard("kill", agent.kill()).await.unwrap();
    assert!(agent.try_wait().unwrap().is_some());
    assert_eq!(agent.id(), None);
    wait_until_gone(grandchild, "the grandchild").await;
    // A second kill has nothing to do and succeeds.
    guard("a second kill", agent.kill()).await.unwrap();
}

#[tokio::test]
async fn dropping_the_agent_ends_it_and_its_process_group() {
    let (agent, grandchild) = agent_with_a_grandchild().await;
    let pid = agent.id().expect("still running");
    drop(agent);
    wait_until_gone(pid, "the agent").await;
    wait_until_gone(grandchild, "the grandchild").await;
}

#[tokio::test]
async fn spawn_line_passes_quoted_arguments_and_the_environment() {
    // Answers `initialize` naming itself after $AGENT_GREETING, with its first argument as
    // its version. The script is single-quoted, so it contains no single quote.
    let script = r#"next_request; answer "{\"protocolVersion\":1,\"agentInfo\":{\"name\":\"$AGENT_GREETING\",\"version\":\"$1\"}}"; while read -r line; do :; done"#;
    let line = format!(
        r#"AGENT_GREETING="hello, agent" /bin/sh -c '{FUNCTIONS}{script}' my-agent "two words""#
    );
    let mut agent = AgentProcess::spawn_line(&line).unwrap();
    assert_eq!(agent.program(), "/bin/sh");
    let stdio = agent.stdio().unwrap();
    let answer = Client.builder().connect_with(stdio, async |cx| {
        cx.initialize(switchboard_acp::schema::InitializeRequest::new(
            ProtocolVersion::LATEST,
        ))
        .block_task()
        .await
    });
    let info = guard("initialize", answer)
        .await
        .unwrap()
        .agent_info
        .expect("the agent names itself");
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("hello, agent", "two words")
    );
}

#[tokio::test]
async fn spawn_line_reports_a_bad_line_and_a_missing_program() {
    let error = AgentProcess::spawn_line(r#"my-agent "unterminated"#).unwrap_err();
    assert_eq!(error.code(), codes::INVALID_COMMAND, "{error}");
    let error = AgentProcess::spawn_line("switchboard-acp-no-such-agent --acp").unwrap_err();
    assert_eq!(error.code(), codes::CHILD_PROCESS, "{error}");
    assert!(
        error.message().contains("switchboard-acp-no-such-agent"),
        "{error}"
    );
}

/// Guarantee 7: the futures are `Send`, so a driver can spawn them.
#[test]
fn the_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    fn check(agent: &mut AgentProcess, cx: &switchboard::ConnectionTo<switchboard_acp::Agent>) {
        assert_send(&handshake(cx, Handshake::new("/")));
        assert_send(&agent.explain(Error::request_cancelled()));
        assert_send(&agent.kill());
        assert_send(&agent.wait());
    }
    let _ = check;
}
