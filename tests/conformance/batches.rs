//! JSON-RPC 2.0 batches on input: the answers to a batch come back as one array; `[]` is
//! answered with one -32600 (not an array); a batch of notifications gets no output at all;
//! each invalid member gets its own -32600; mixed batches answer exactly their requests and
//! invalid members. A member that takes long does not hold up messages after the batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use serde_json::{Value, json};
use switchboard::{UntypedMessage, UntypedRole};
use switchboard_examples::echo_service::echo_service;

use crate::support::{error_of, hang_up, notification, request, result_of, serve};

/// Reads one line that must be a JSON array, and returns its members by id (as text).
async fn recv_batch(peer: &mut crate::support::Peer, len: usize) -> HashMap<String, Value> {
    let answer = peer.recv().await;
    let members = answer
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {answer}"));
    assert_eq!(members.len(), len, "{answer}");
    let by_id: HashMap<String, Value> = members
        .iter()
        .map(|member| (member["id"].to_string(), member.clone()))
        .collect();
    by_id
}

fn batch(members: &[String]) -> String {
    format!("[{}]", members.join(","))
}

#[tokio::test]
async fn a_batch_of_requests_is_answered_with_one_array() {
    let (mut peer, server) = serve(echo_service());
    peer.send(&batch(&[
        request(json!(1), "echo", json!({"text": "a"})),
        request(json!("two"), "add", json!({"a": 2, "b": 3})),
        request(json!(3), "stats", json!({})),
    ]))
    .await;
    let answers = recv_batch(&mut peer, 3).await;
    assert_eq!(result_of(&answers["1"], json!(1)), &json!({"text": "a"}));
    assert_eq!(
        result_of(&answers["\"two\""], json!("two")),
        &json!({"sum": 5})
    );
    assert_eq!(
        result_of(&answers["3"], json!(3)),
        &json!({"notifications": 0})
    );
    assert!(
        hang_up(peer, server).await.is_empty(),
        "one array, nothing else"
    );
}

#[tokio::test]
async fn an_empty_batch_gets_one_invalid_request() {
    let (mut peer, server) = serve(echo_service());
    peer.send("[]").await;
    peer.send(" [ ] ").await;
    for _ in 0..2 {
        let answer = peer.recv().await;
        assert!(
            answer.is_object(),
            "a single answer, not an array: {answer}"
        );
        error_of(&answer, Value::Null, -32600);
    }
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn a_batch_of_notifications_gets_no_output() {
    let (mut peer, server) = serve(echo_service());
    peer.send(&batch(&[
        notification("log", json!({"message": "a"})),
        notification("log", json!({"message": "b"})),
        notification("unknown", json!({})),
    ]))
    .await;
    peer.send(&request(json!(1), "stats", json!({}))).await;
    // The batch was handled (two logs counted) and said nothing: the next line is the stats.
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"result":{"notifications":2}}"#
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn each_invalid_member_gets_its_own_invalid_request() {
    let (mut peer, server) = serve(echo_service());
    peer.send("[1, \"x\", null, {\"foo\": \"bar\"}]").await;
    let answer = peer.recv().await;
    let members = answer
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {answer}"));
    assert_eq!(members.len(), 4, "{answer}");
    for member in members {
        error_of(member, Value::Null, -32600);
    }
    // A member with a readable id but no valid shape is answered with that id.
    peer.send(r#"[{"jsonrpc":"1.0","id":5,"method":"echo"}]"#)
        .await;
    let answer = peer.recv().await;
    error_of(&answer.as_array().unwrap()[0], json!(5), -32600);
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn a_mixed_batch_answers_its_requests_and_invalid_members_only() {
    let (mut peer, server) = serve(echo_service());
    peer.send(&batch(&[
        request(json!(1), "echo", json!({"text": "a"})),
        notification("log", json!({"message": "counted"})),
        "42".to_owned(),
        request(json!(2), "nope", json!({})),
        request(json!(3), "add", json!({"a": "x", "b": 1})),
        notification("nope", json!({})),
        // A response to a request this side never sent: not answered.
        r#"{"jsonrpc":"2.0","id":99,"result":"stray"}"#.to_owned(),
        request(json!(4), "stats", json!({})),
    ]))
    .await;
    let answers = recv_batch(&mut peer, 5).await;
    assert_eq!(result_of(&answers["1"], json!(1)), &json!({"text": "a"}));
    error_of(&answers["null"], Value::Null, -32600);
    error_of(&answers["2"], json!(2), -32601);
    assert_eq!(
        error_of(&answers["3"], json!(3), -32602)["data"]["field"],
        "a"
    );
    // Members are dispatched in order: the log before it was counted.
    assert_eq!(
        result_of(&answers["4"], json!(4)),
        &json!({"notifications": 1})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn a_batch_that_is_not_json_is_one_parse_error() {
    let (mut peer, server) = serve(echo_service());
    peer.send(r#"[{"jsonrpc":"2.0","id":1,"method":"echo"},"#)
        .await;
    let answer = peer.recv().await;
    assert!(answer.is_object(), "{answer}");
    error_of(&answer, Value::Null, -32700);
    assert!(hang_up(peer, server).await.is_empty());
}

/// The array waits for its slowest member, but messages after the batch are not held up: the
/// slow member is answered from a task the test releases.
#[tokio::test]
async fn a_slow_member_delays_its_array_but_not_later_messages() {
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let server =
        UntypedRole
            .builder()
            .on_receive_request(move |request: UntypedMessage, responder, cx| {
                let released = Arc::clone(&released);
                async move {
                    if request.method() == "slow" {
                        let wait = released.lock().unwrap().take().unwrap();
                        cx.spawn(async move {
                            wait.await.unwrap();
                            responder.respond(json!("slow"))
                        });
                        Ok(())
                    } else {
                        responder.respond(json!(request.method()))
                    }
                }
            });
    let (mut peer, server) = serve(server);
    peer.send(&batch(&[
        request(json!(1), "slow", json!({})),
        request(json!(2), "quick", json!({})),
    ]))
    .await;
    peer.send(&request(json!(3), "after", json!({}))).await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":3,"result":"after"}"#
    );

    release.send(()).unwrap();
    let answers = recv_batch(&mut peer, 2).await;
    assert_eq!(result_of(&answers["1"], json!(1)), "slow");
    assert_eq!(result_of(&answers["2"], json!(2)), "quick");
    assert!(hang_up(peer, server).await.is_empty());
}
