//! Updates before the answer, also when a request is cancelled: the editor cancels a held
//! prompt with `$/cancel_request`; the echo agent says `(request cancelled) ` in the session,
//! then answers -32800. Through 0, 1 and 3 proxies that update must reach the editor before
//! the answer, as it does with the agent alone: each hop passes the cancellation on and
//! passes back the answer the next hop gives, instead of answering -32800 itself at once.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use serde_json::json;

use support::piped::{Piped, Raw, prompt};
use support::{TempDir, shapes};

#[tokio::test]
async fn an_agents_last_update_for_a_cancelled_prompt_arrives_before_the_answer() {
    for proxies in shapes() {
        let what = format!("{} proxies", proxies.len());
        let dir = TempDir::new("cancel-order");
        let mut raw = Raw::new(Piped::conductor(&proxies));
        let session = raw.open_session(dir.path()).await;
        raw.request(3, "session/prompt", prompt(&session, "/hold waiting"))
            .await;
        // The words before `/hold` (a proxy's prefix) and the one after it, then it waits.
        loop {
            let frame = raw.recv().await.expect("the turn's words");
            if frame["params"]["update"]["content"]["text"] == "waiting " {
                break;
            }
        }
        raw.send(
            json!({"jsonrpc": "2.0", "method": "$/cancel_request", "params": {"requestId": 3}}),
        )
        .await;
        let mut said_before_the_answer = Vec::new();
        let answer = loop {
            let frame = raw.recv().await.expect("the prompt's answer");
            if frame.get("method").is_none() && frame["id"] == 3 {
                break frame;
            }
            if let Some(text) = frame["params"]["update"]["content"]["text"].as_str() {
                said_before_the_answer.push(text.to_owned());
            }
        };
        assert_eq!(answer["error"]["code"], -32800, "{what}: {answer}");
        assert_eq!(
            said_before_the_answer,
            ["(request cancelled) "],
            "{what}: the agent's update must come before its answer"
        );
        raw.close_input();
        let (_, status, stderr) = raw.read_to_end().await;
        assert_eq!(status.code(), Some(0), "{what}: {status}: {stderr}");
    }
}
