//! The agent's requests to the client: the echo agent reads files (`@PATH`) and asks
//! permission before writing them (`>PATH`); the example client serves both.

use switchboard_acp::schema::{InitializeRequest, NewSessionRequest, ProtocolVersion, StopReason};
use switchboard_acp::{AcpClient, Client};
use switchboard_examples::acp_client_app::{ClientOptions, client, run};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{TempFile, chunk_text, talk};

/// Runs the example client's `run` with `prompt` against the echo agent; returns the agent's
/// text and the stop reason.
async fn ask(prompt: String, yes: bool) -> (String, StopReason) {
    let options = ClientOptions {
        yes,
        cwd: std::env::temp_dir(),
        prompt,
        cancel_after: None,
    };
    talk(echo_agent(), client(&options), async move |cx| {
        let mut said = String::new();
        let reason = run(&cx, &options, |text| said.push_str(text)).await?;
        Ok((said, reason))
    })
    .await
}

#[tokio::test]
async fn at_file_makes_the_agent_read_it_through_the_client() {
    let file = TempFile::with("read", "the first line\nthe second line\n");
    let path = file.display();
    let (said, reason) = ask(format!("look at @{path} please"), false).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(
        said,
        format!("look at @{path} [{path}: the first line] please ")
    );
}

#[tokio::test]
async fn a_file_the_client_cannot_read_comes_back_as_its_error() {
    let missing = TempFile::new("missing");
    let path = missing.display();
    let (said, reason) = ask(format!("@{path}"), false).await;
    assert_eq!(reason, StopReason::EndTurn);
    // The client's error message, as the agent got it.
    let start = format!("@{path} [{path}: ");
    assert!(said.starts_with(&start), "{said}");
    assert!(said.contains(&format!("cannot read {path}: ")), "{said}");
}

#[tokio::test]
async fn a_client_without_the_fs_capability_is_not_asked_to_read() {
    let file = TempFile::with("unasked", "secret\n");
    let prompt = format!("@{}", file.display());
    let said = talk(echo_agent(), Client.builder(), async move |cx| {
        // No capabilities: the client could not answer fs/read_text_file (it has no handler
        // for it either, so a request would come back -32601 and show up in the text).
        cx.initialize(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let mut said = String::new();
        session
            .prompt(prompt, |update| said.extend(chunk_text(&update)))
            .await?;
        Ok(said)
    })
    .await;
    assert!(said.ends_with("(the client cannot read files) "), "{said}");
    assert!(!said.contains("secret"), "{said}");
}

#[tokio::test]
async fn gt_file_with_permission_writes_the_prompt_to_the_file() {
    let file = TempFile::new("allowed");
    let path = file.display();
    let prompt = format!("keep this >{path}");
    let (said, reason) = ask(prompt.clone(), true).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(said, format!("keep this >{path} [wrote {path}] "));
    let written = std::fs::read_to_string(file.path()).expect("the file was written");
    assert_eq!(written, prompt);
}

#[tokio::test]
async fn gt_file_without_permission_leaves_the_file_alone() {
    let file = TempFile::new("refused");
    let path = file.display();
    let (said, reason) = ask(format!("keep this >{path}"), false).await;
    assert_eq!(reason, StopReason::EndTurn);
    assert_eq!(
        said,
        format!("keep this >{path} [not allowed to write {path}] ")
    );
    assert!(
        !file.path().exists(),
        "nothing may be written without permission"
    );
}

/// Reads frames until the prompt answer `id`, answering the agent's permission request with
/// `answer` (a JSON-RPC answer without its id); returns the agent's text and the prompt's
/// answer.
async fn prompt_answering_permission_with(
    peer: &mut crate::support::RawPeer,
    session: &serde_json::Value,
    id: u64,
    text: &str,
    answer: serde_json::Value,
) -> (String, serde_json::Value) {
    use serde_json::json;
    peer.request(
        id,
        "session/prompt",
        json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]}),
    )
    .await;
    let mut said = String::new();
    loop {
        let frame = peer.recv().await;
        if frame["method"] == "session/request_permission" {
            let mut reply = answer.clone();
            reply["jsonrpc"] = json!("2.0");
            reply["id"] = frame["id"].clone();
            peer.send(reply).await;
        } else if frame["method"] == "session/update" {
            said.extend(
                frame["params"]["update"]["content"]["text"]
                    .as_str()
                    .map(str::to_owned),
            );
        } else if frame.get("method").is_none() && frame["id"] == id {
            return (said, frame);
        }
    }
}

/// A client that answers the permission request with something that is not an answer, or
/// with an error, ends that turn with a message saying so; the agent and its session carry on.
#[tokio::test]
async fn a_bad_permission_answer_ends_the_turn_with_a_message_and_the_agent_carries_on() {
    use serde_json::json;
    let (mut peer, agent) = crate::support::raw_peer(echo_agent());
    let fs = json!({"fs": {"readTextFile": true, "writeTextFile": true}});
    peer.request(
        1,
        "initialize",
        json!({"protocolVersion": 1, "clientCapabilities": fs}),
    )
    .await;
    peer.answer(1).await;
    let cwd = std::env::temp_dir();
    peer.request(2, "session/new", json!({"cwd": cwd, "mcpServers": []}))
        .await;
    let (session, _) = peer.answer(2).await;
    let session = session["result"]["sessionId"].clone();
    let file = TempFile::new("never-written");
    let write = format!(">{}", file.display());
    for (id, answer) in [
        (3, json!({"result": {"outcome": 42}})),
        (
            4,
            json!({"error": {"code": -32000, "message": "the user closed the dialog"}}),
        ),
    ] {
        let (said, answered) =
            prompt_answering_permission_with(&mut peer, &session, id, &write, answer).await;
        assert_eq!(answered["result"]["stopReason"], "end_turn", "{answered}");
        assert!(said.contains("the answer was bad"), "{said}");
    }
    assert!(
        !file.path().exists(),
        "nothing may be written without permission"
    );
    let (said, answered) =
        prompt_answering_permission_with(&mut peer, &session, 5, "still here", json!({})).await;
    assert_eq!(answered["result"]["stopReason"], "end_turn", "{answered}");
    assert_eq!(said, "still here ");
    peer.hang_up(agent).await;
}
