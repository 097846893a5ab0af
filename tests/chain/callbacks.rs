//! The agent's requests to the client cross every hop, up and back: the echo agent reads a
//! file (`@PATH`) and asks permission before writing one (`>PATH`), through chains of 0, 1
//! and 3 transparent proxies, and the example client serves both.

use switchboard_acp::schema::StopReason;
use switchboard_examples::acp_client_app::{ClientOptions, client, run};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{PROXY_COUNTS, TempFile, drive, transparent};

/// Runs the example client's `run` with `prompt` through `n` proxies to the echo agent;
/// returns the agent's text and the stop reason.
async fn ask(n: usize, prompt: String, yes: bool) -> (String, StopReason) {
    let options = ClientOptions {
        yes,
        cwd: std::env::temp_dir(),
        prompt,
        cancel_after: None,
    };
    drive(
        transparent(echo_agent(), n),
        client(&options),
        async move |cx| {
            let mut said = String::new();
            let reason = run(&cx, &options, |text| said.push_str(text)).await?;
            Ok((said, reason))
        },
    )
    .await
}

#[tokio::test]
async fn the_agent_reads_a_file_through_every_hop() {
    for n in PROXY_COUNTS {
        let file = TempFile::with("read", &format!("first line for {n}\nsecond line\n"));
        let path = file.display();
        let (said, reason) = ask(n, format!("look at @{path} please"), false).await;
        assert_eq!(reason, StopReason::EndTurn, "{n} proxies");
        assert_eq!(
            said,
            format!("look at @{path} [{path}: first line for {n}] please "),
            "{n} proxies"
        );
    }
}

#[tokio::test]
async fn a_read_the_client_refuses_comes_back_as_its_error() {
    for n in PROXY_COUNTS {
        let missing = TempFile::new("missing");
        let path = missing.display();
        let (said, reason) = ask(n, format!("@{path}"), false).await;
        assert_eq!(reason, StopReason::EndTurn, "{n} proxies");
        // The client's own error message reached the agent, through every hop.
        assert!(
            said.starts_with(&format!("@{path} [{path}: ")),
            "{n}: {said}"
        );
        assert!(
            said.contains(&format!("cannot read {path}: ")),
            "{n}: {said}"
        );
    }
}

#[tokio::test]
async fn an_allowed_write_asks_permission_and_writes_through_every_hop() {
    for n in PROXY_COUNTS {
        let file = TempFile::new("allowed");
        let path = file.display();
        let prompt = format!("keep this for {n} >{path}");
        let (said, reason) = ask(n, prompt.clone(), true).await;
        assert_eq!(reason, StopReason::EndTurn, "{n} proxies");
        assert_eq!(
            said,
            format!("keep this for {n} >{path} [wrote {path}] "),
            "{n} proxies"
        );
        let written = std::fs::read_to_string(file.path()).expect("the file was written");
        assert_eq!(written, prompt, "{n} proxies");
    }
}

#[tokio::test]
async fn a_refused_write_leaves_the_file_alone() {
    for n in PROXY_COUNTS {
        let file = TempFile::new("refused");
        let path = file.display();
        let (said, reason) = ask(n, format!("keep this >{path}"), false).await;
        assert_eq!(reason, StopReason::EndTurn, "{n} proxies");
        assert_eq!(
            said,
            format!("keep this >{path} [not allowed to write {path}] "),
            "{n} proxies"
        );
        assert!(
            !file.path().exists(),
            "{n} proxies: written without permission"
        );
    }
}
