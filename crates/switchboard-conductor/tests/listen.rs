//! Chains served over the network and agents reached over it: `switchboard-conductor --listen
//! 127.0.0.1:0 -- acp_echo_agent` as a process, `acp_client --url` against it over both
//! profiles, a client of its own per chain, the token, SIGTERM with turns held open, an
//! unreachable URL, a conductor (program and library) whose agent is a URL, and TLS.
#![cfg(target_os = "linux")]

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use switchboard::Error;
use switchboard_acp::Client;
use switchboard_acp::schema::StopReason;
use switchboard_conductor::Chain;
use switchboard_http::RemoteAgent;

use support::listening::{Listening, acp_client, client_programs};
use support::procfs::{descendants, running};
use support::{
    EditorState, TempDir, drive, echo_of, editor, guard, open_session, prefix_proxy, read_turn,
    read_until, seen_by_agent, spawn_conductor, text,
};

/// The echo agent's path, as the listening conductor's agent.
fn echo_agent() -> String {
    client_programs().1.to_string_lossy().into_owned()
}

/// The processes the conductor `pid` runs: its chains' agents.
fn agents_of(pid: u32) -> Vec<u32> {
    descendants(pid).into_iter().map(|(pid, _)| pid).collect()
}

/// Waits until the conductor `pid` runs exactly `count` processes. A bounded wait for a state
/// of `/proc`, which has no event to wait on.
async fn until_agents(pid: u32, count: usize) -> Vec<u32> {
    let deadline = Instant::now() + support::HANG_GUARD;
    loop {
        let agents = agents_of(pid);
        if agents.len() == count {
            return agents;
        }
        assert!(
            Instant::now() < deadline,
            "the conductor runs {agents:?}, not {count} processes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acp_client_completes_a_prompt_over_either_profile_and_ends_its_chain() {
    // A long idle timeout: a chain that ends here ended because its client said goodbye.
    let mut conductor = Listening::start(&["--idle-timeout", "600", "--", &echo_agent()]).await;
    let ws_url = conductor.ws_url();
    let http = ["--url", conductor.url.as_str()];
    let http_as_ws = ["--url", conductor.url.as_str(), "--transport", "ws"];
    let ws = ["--url", ws_url.as_str()];
    let dir = TempDir::new("remote-trace");
    let trace = dir.join("trace.jsonl");
    let trace = trace.to_str().expect("a UTF-8 path");
    for how in [&http[..], &http_as_ws[..], &ws[..]] {
        let ran = acp_client(&[how, &["--trace", trace, "--prompt", "hello there"]].concat()).await;
        assert!(
            ran.status.success(),
            "{how:?}: {ran:?}\n{}",
            conductor.stderr()
        );
        assert_eq!(
            ran.stdout,
            format!("{}\n", echo_of("hello there")),
            "{how:?}"
        );
        assert!(ran.stderr.contains("stop reason: end_turn"), "{ran:?}");
        // The client's DELETE (or the WebSocket's close) ended its chain and its agent.
        until_agents(conductor.pid(), 0).await;
        // The trace names the agent by its URL.
        let traced = std::fs::read_to_string(trace).expect("the trace");
        let component = format!("\"component\":\"the agent ({})\"", how[1]);
        assert!(traced.lines().count() > 3, "{traced}");
        assert!(
            traced.lines().all(|line| line.contains(&component)),
            "{traced}"
        );
    }
    assert!(
        !conductor.stderr().contains("WARN"),
        "a loopback listener is not warned about:\n{}",
        conductor.stderr()
    );
    conductor.child.start_kill().expect("ending the conductor");
    conductor.exit().await;
}

#[tokio::test]
async fn each_remote_client_gets_a_chain_of_its_own() {
    let conductor = Listening::start(&["--", &echo_agent()]).await;
    let dir = TempDir::new("own-chain");
    let state = EditorState::default();
    // The first client holds its turn open while the second one comes and goes.
    let (cwd, held_state) = (dir.path().to_owned(), state.clone());
    let (held, release) = (
        tokio::sync::oneshot::channel::<String>(),
        tokio::sync::oneshot::channel::<()>(),
    );
    let ((say_held, heard_held), (let_go, go)) = (held, release);
    let first = tokio::spawn(editor(&held_state).connect_with(
        RemoteAgent::new(&conductor.url),
        async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            session.send_prompt(vec![text("/hold first")])?;
            read_until(&mut session, "first ").await?;
            let _ = say_held.send(session.id().0.to_string());
            let _ = go.await;
            session.cancel()?;
            let (_, reason) = read_turn(&mut session).await?;
            session.send_prompt(vec![text("first again")])?;
            let again = read_turn(&mut session).await?;
            Ok::<_, Error>((reason, again))
        },
    ));
    let first_session = guard("the first turn to be held", heard_held)
        .await
        .expect("the first client holds its turn");
    // Two chains, so two agents: the first one's and the second one's.
    let (cwd, pid) = (dir.path().to_owned(), conductor.pid());
    let second =
        editor(&state).connect_with(RemoteAgent::new(conductor.ws_url()), async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            let id = session.id().0.to_string();
            session.send_prompt(vec![text("second")])?;
            let turn = read_turn(&mut session).await?;
            // Both connections are open: both chains run.
            Ok::<_, Error>((id, turn, agents_of(pid)))
        });
    let (second_session, second_turn, agents) = guard("the second client", second)
        .await
        .expect("the second client's turn");
    assert_eq!(agents.len(), 2, "an agent per chain: {agents:?}");
    // Each agent made its first session: a shared agent would have made a second one.
    assert_eq!(first_session, second_session);
    assert_eq!(second_turn, (echo_of("second"), StopReason::EndTurn));
    let _ = let_go.send(());
    let (reason, again) = guard("the first client", first)
        .await
        .expect("its task")
        .expect("the first client's turns");
    assert_eq!(reason, StopReason::Cancelled);
    assert_eq!(again, (echo_of("first again"), StopReason::EndTurn));
}

#[tokio::test]
async fn with_a_token_only_clients_that_carry_it_get_in() {
    let conductor = Listening::start(&["--token", "s3cret", "--", &echo_agent()]).await;
    let url = conductor.url.as_str();
    let refused = acp_client(&["--url", url, "--prompt", "hello"]).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stderr.contains("401"), "{refused:?}");
    let wrong = acp_client(&["--url", url, "--token", "nope", "--prompt", "hello"]).await;
    assert!(wrong.stderr.contains("401"), "{wrong:?}");
    let ran = acp_client(&["--url", url, "--token", "s3cret", "--prompt", "hello"]).await;
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(ran.stdout, format!("{}\n", echo_of("hello")));
    // A conductor on stdio whose agent is the listening one, with the token.
    let conductor_binary = support::conductor_binary();
    let through = acp_client(&[
        "--prompt",
        "relayed",
        "--",
        conductor_binary,
        "--agent-token",
        "s3cret",
        "--",
        url,
    ])
    .await;
    assert!(through.status.success(), "{through:?}");
    assert_eq!(through.stdout, format!("{}\n", echo_of("relayed")));
}

#[tokio::test]
async fn sigterm_or_sigint_ends_every_chain_with_turns_held_open_and_exits_0() {
    for signal in ["-TERM", "-INT"] {
        signal_ends_every_chain(signal).await;
    }
}

/// Two clients (one per profile) hold a turn open; `signal` ends the conductor.
async fn signal_ends_every_chain(signal: &str) {
    let mut conductor = Listening::start(&["--", &echo_agent()]).await;
    let dir = TempDir::new("signal");
    let mut clients = Vec::new();
    let mut holding = Vec::new();
    for agent in [
        RemoteAgent::new(&conductor.url),
        RemoteAgent::new(conductor.ws_url()),
    ] {
        let (held, heard) = tokio::sync::oneshot::channel::<()>();
        holding.push(heard);
        let cwd = dir.path().to_owned();
        clients.push(tokio::spawn(editor(&EditorState::default()).connect_with(
            agent,
            async move |cx| {
                let mut session = open_session(&cx, &cwd).await?;
                session.send_prompt(vec![text("/hold on")])?;
                read_until(&mut session, "on ").await?;
                let _ = held.send(());
                // The conductor going ends the turn, one way or another.
                let _ = read_turn(&mut session).await;
                Ok::<_, Error>(())
            },
        )));
    }
    for heard in holding {
        guard("a turn held open", heard)
            .await
            .expect("the client holds its turn");
    }
    let agents = until_agents(conductor.pid(), 2).await;
    let status = tokio::process::Command::new("kill")
        .args([signal, &conductor.pid().to_string()])
        .status()
        .await
        .expect("running kill");
    assert!(status.success());
    let exit = conductor.exit().await;
    assert_eq!(exit.code(), Some(0), "{signal}: {}", conductor.stderr());
    // The conductor reaped its agents before it exited.
    let left: Vec<u32> = agents.into_iter().filter(|&pid| running(pid)).collect();
    assert!(left.is_empty(), "{signal}: still running: {left:?}");
    for client in clients {
        // Each client sees its connection end; how it ends is not the point.
        let _ = guard("a client to see the end", client).await;
    }
}

#[tokio::test]
async fn an_unreachable_url_fails_naming_it() {
    let url = "http://127.0.0.1:1/acp";
    let started = Instant::now();
    let ran = acp_client(&["--url", url, "--prompt", "hello"]).await;
    assert_eq!(ran.status.code(), Some(1), "{ran:?}");
    assert!(ran.stderr.contains(url), "{ran:?}");
    // Bounded by the client's connect timeout (5 s), with room for a busy machine.
    assert!(started.elapsed() < Duration::from_secs(20), "{ran:?}");
}

#[tokio::test]
async fn a_conductor_whose_agent_is_an_unreachable_url_says_so() {
    let url = "http://127.0.0.1:1/acp";
    let ran = acp_client(&[
        "--prompt",
        "hi",
        "--",
        support::conductor_binary(),
        "--",
        url,
    ])
    .await;
    assert_eq!(ran.status.code(), Some(1), "{ran:?}");
    // The transport's own account reaches the editor: the URL and why it failed.
    assert!(
        ran.stderr.contains(&format!("the agent at {url}")),
        "{ran:?}"
    );
    assert!(ran.stderr.contains("refused"), "{ran:?}");
}

#[tokio::test]
async fn a_conductor_whose_agent_is_a_url_completes_a_prompt() {
    let listening = Listening::start(&["--", &echo_agent()]).await;
    let dir = TempDir::new("agent-url");
    let proxies = vec![prefix_proxy(Some("via the front"))];
    for url in [listening.url.clone(), listening.ws_url()] {
        let mut front = spawn_conductor(&proxies, None, &[url.into()]);
        let cwd = dir.path().to_owned();
        let (said, reason) = drive(
            &proxies,
            &mut front,
            &EditorState::default(),
            async move |cx| {
                let mut session = open_session(&cx, &cwd).await?;
                session.send_prompt(vec![text("far away")])?;
                read_turn(&mut session).await
            },
        )
        .await;
        assert_eq!(said, echo_of(&seen_by_agent(&proxies, "far away")));
        assert_eq!(reason, StopReason::EndTurn);
        let (status, stderr) = support::finish(&mut front).await;
        assert!(status.success(), "{status}: {stderr}");
    }
    // In a library, a chain's agent is a `RemoteAgent` like any other component.
    let chain = Chain::new(RemoteAgent::new(&listening.url));
    let cwd = dir.path().to_owned();
    let said = Client.builder().connect_with(chain, async move |cx| {
        let mut session = open_session(&cx, &cwd).await?;
        session.send_prompt(vec![text("in process")])?;
        read_turn(&mut session).await
    });
    let said = guard("the in-process chain", said)
        .await
        .expect("a turn through the chain");
    assert_eq!(said, (echo_of("in process"), StopReason::EndTurn));
}

#[tokio::test]
async fn with_a_certificate_it_serves_https_and_wss() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a certificate");
    let dir = TempDir::new("tls");
    let (certificate, key) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&certificate, certified.cert.pem()).expect("the certificate written");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("the key written");
    let mut conductor = Listening::start(&[
        "--tls-cert",
        certificate.to_str().expect("a UTF-8 path"),
        "--tls-key",
        key.to_str().expect("a UTF-8 path"),
        "--",
        &echo_agent(),
    ])
    .await;
    assert!(conductor.url.starts_with("https://"), "{}", conductor.url);
    let wss = conductor.url.replacen("https://", "wss://", 1);
    for url in [conductor.url.clone(), wss] {
        let agent = RemoteAgent::new(&url).root_certificate(certified.cert.der().clone());
        let said = guard(
            "a prompt over TLS",
            Client.builder().connect_with(agent, async |cx| {
                let mut session = open_session(&cx, std::path::Path::new("/")).await?;
                session.send_prompt(vec![text("hello there")])?;
                read_turn(&mut session).await
            }),
        )
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}\n{}", conductor.stderr()));
        assert_eq!(said, (echo_of("hello there"), StopReason::EndTurn), "{url}");
    }
    // The programs: acp_client trusts the certificate it is given, and only then; so does a
    // conductor on stdio whose agent is the listening one.
    let certificate = certificate.to_str().expect("a UTF-8 path");
    let url = conductor.url.as_str();
    let untrusted = acp_client(&["--url", url, "--prompt", "hello"]).await;
    assert_eq!(untrusted.status.code(), Some(1), "{untrusted:?}");
    assert!(untrusted.stderr.contains(url), "{untrusted:?}");
    let trusted = acp_client(&[
        "--url",
        url,
        "--root-cert",
        certificate,
        "--prompt",
        "hello",
    ])
    .await;
    assert!(trusted.status.success(), "{trusted:?}");
    assert_eq!(trusted.stdout, format!("{}\n", echo_of("hello")));
    let through = acp_client(&[
        "--prompt",
        "relayed",
        "--",
        support::conductor_binary(),
        "--agent-root-cert",
        certificate,
        "--",
        url,
    ])
    .await;
    assert!(through.status.success(), "{through:?}");
    assert_eq!(through.stdout, format!("{}\n", echo_of("relayed")));
    conductor.child.start_kill().expect("ending the conductor");
    conductor.exit().await;
}
