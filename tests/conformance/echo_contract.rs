//! The `echo_server` contract of issue 2, driven in process: `echo_service()` over
//! `ByteStreams` on `tokio::io::duplex`, with the test writing and reading raw JSON lines so
//! the bytes on the wire are checked. Echo, add, -32602 on wrong params, sleep without
//! delaying other requests (shown by order, not time), the ask_back round trip (answered and
//! refused by the test playing the client), log + stats, -32601, notifications never
//! answered, and requests in flight still answered at end of input.

use std::collections::HashMap;

use serde_json::{Value, json};
use switchboard_examples::echo_service::echo_service;

use crate::support::{Peer, error_of, guard, hang_up, notification, request, result_of, serve};

fn start() -> (
    Peer,
    tokio::task::JoinHandle<Result<(), switchboard::Error>>,
) {
    serve(echo_service())
}

#[tokio::test]
async fn echo_and_add_answer_with_the_exact_bytes() {
    let (mut peer, server) = start();
    peer.send(r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}"#)
        .await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"result":{"text":"hi"}}"#
    );

    peer.send(r#"{"jsonrpc":"2.0","id":2,"method":"add","params":{"a":-5,"b":12}}"#)
        .await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":2,"result":{"sum":7}}"#
    );

    // Member order, spacing and escapes in the request do not matter; the text comes back.
    let text = "quote \" backslash \\ newline \n unicode ü ✓";
    let spaced = format!(
        "{{ \"params\" : {{ \"text\" : {} }} , \"method\" : \"echo\" , \"id\" : \"e\" , \"jsonrpc\" : \"2.0\" }}",
        serde_json::to_string(text).unwrap()
    );
    peer.send(&spaced).await;
    assert_eq!(
        result_of(&peer.recv().await, json!("e")),
        &json!({"text": text})
    );

    // The service documents wrapping addition.
    peer.send(&request(json!(3), "add", json!({"a": i64::MAX, "b": 1})))
        .await;
    assert_eq!(
        result_of(&peer.recv().await, json!(3)),
        &json!({"sum": i64::MIN})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn wrong_or_missing_params_get_invalid_params() {
    let (mut peer, server) = start();
    let cases = [
        ("echo", Some(json!({"text": 5})), "text"),
        ("echo", Some(json!({})), "text"),
        ("echo", None, "text"),
        ("add", Some(json!({"a": 1})), "b"),
        ("add", Some(json!({"a": "1", "b": 2})), "a"),
        ("add", Some(json!({"a": 1.5, "b": 2})), "a"),
        ("sleep", Some(json!({"ms": -1})), "ms"),
        ("ask_back", Some(json!({"txt": "typo"})), "text"),
    ];
    for (id, (method, params, field)) in cases.into_iter().enumerate() {
        let mut frame = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(params) = params {
            frame["params"] = params;
        }
        peer.send(&frame.to_string()).await;
        let answer = peer.recv().await;
        let error = error_of(&answer, json!(id), -32602);
        assert_eq!(error["data"]["field"], field, "{answer}");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn sleep_does_not_delay_other_requests() {
    let (mut peer, server) = start();
    // An hour: if sleeping held up the dispatch loop, the echo would never come back (the
    // hang guard would fail the test). Order, not time, is what is checked.
    peer.send(&request(json!(1), "sleep", json!({"ms": 3_600_000})))
        .await;
    peer.send(&request(json!(2), "echo", json!({"text": "not delayed"})))
        .await;
    peer.send(&request(json!(3), "add", json!({"a": 1, "b": 1})))
        .await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":2,"result":{"text":"not delayed"}}"#
    );
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":3,"result":{"sum":2}}"#
    );
    // The sleeping request is still owed an answer; stop the server rather than wait for it.
    server.abort();
    assert!(
        guard("the aborted server", server)
            .await
            .unwrap_err()
            .is_cancelled()
    );
}

#[tokio::test]
async fn ask_back_round_trips_through_the_client() {
    let (mut peer, server) = start();
    peer.send(&request(json!("a1"), "ask_back", json!({"text": "ping"})))
        .await;
    let asked = peer.recv().await;
    assert_eq!(asked["jsonrpc"], "2.0");
    assert_eq!(asked["method"], "client/echo");
    assert_eq!(asked["params"], json!({"text": "ping"}));
    let first_id = asked["id"].clone();
    assert!(first_id.is_u64(), "the server's ids are integers: {asked}");

    // While the server waits for the client, it keeps serving.
    peer.send(&request(json!("e1"), "echo", json!({"text": "meanwhile"})))
        .await;
    assert_eq!(
        result_of(&peer.recv().await, json!("e1")),
        &json!({"text": "meanwhile"})
    );

    // The client's result comes back as the answer to ask_back (as JSON: the service reads
    // it as a `serde_json::Value`, so member order is not kept).
    let reply =
        format!(r#"{{"jsonrpc":"2.0","id":{first_id},"result":{{"text":"pong","extra":[1,2]}}}}"#);
    peer.send(&reply).await;
    assert_eq!(
        result_of(&peer.recv().await, json!("a1")),
        &json!({"text": "pong", "extra": [1, 2]})
    );

    // The client refuses the second time: its error becomes the answer to ask_back.
    peer.send(&request(json!("a2"), "ask_back", json!({"text": "again"})))
        .await;
    let asked = peer.recv().await;
    assert_eq!(asked["method"], "client/echo");
    assert_eq!(asked["params"], json!({"text": "again"}));
    assert_ne!(asked["id"], first_id, "each request gets its own id");
    let refusal = json!({"jsonrpc": "2.0", "id": asked["id"], "error": {"code": -32050, "message": "client says no", "data": {"n": 1}}});
    peer.send(&refusal.to_string()).await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":"a2","error":{"code":-32050,"message":"client says no","data":{"n":1}}}"#
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn log_notifications_are_counted_and_never_answered() {
    let (mut peer, server) = start();
    peer.send(&request(json!(1), "stats", json!({}))).await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"result":{"notifications":0}}"#
    );

    for line in [
        notification("log", json!({"message": "one"})),
        notification(
            "log",
            json!({"message": "two", "level": "extra members are fine"}),
        ),
        // Params that do not fit: dropped, not counted, not answered.
        notification("log", json!({})),
        notification("log", json!({"message": 5})),
    ] {
        peer.send(&line).await;
    }
    // `log` sent as a request is not the notification: -32601, and not counted either.
    peer.send(&request(
        json!(2),
        "log",
        json!({"message": "as a request"}),
    ))
    .await;
    peer.send(&request(json!(3), "stats", json!({}))).await;
    // The answers come in order; nothing came for the notifications.
    error_of(&peer.recv().await, json!(2), -32601);
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":3,"result":{"notifications":2}}"#
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn unknown_methods_get_method_not_found_and_unknown_notifications_nothing() {
    let (mut peer, server) = start();
    peer.send(&notification("nope", json!({}))).await;
    peer.send(&request(json!(1), "nope", json!({}))).await;
    // The server sends client/echo; it does not answer it.
    peer.send(&request(json!(2), "client/echo", json!({"text": "x"})))
        .await;
    peer.send(r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#)
        .await;
    for id in 1..=3 {
        let answer = peer.recv().await;
        error_of(&answer, json!(id), -32601);
    }
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn at_end_of_input_requests_in_flight_are_still_answered() {
    let (mut peer, server) = start();
    peer.send(&request(json!(1), "sleep", json!({"ms": 20})))
        .await;
    peer.send(&request(
        json!(2),
        "ask_back",
        json!({"text": "unanswered"}),
    ))
    .await;
    peer.send(&request(json!(3), "echo", json!({"text": "quick"})))
        .await;
    let asked = peer.recv().await;
    assert_eq!(asked["method"], "client/echo");
    assert_eq!(
        result_of(&peer.recv().await, json!(3)),
        &json!({"text": "quick"})
    );

    // Hang up with the sleep running and ask_back waiting for a client that will never answer.
    let rest = hang_up(peer, server).await;
    let by_id: HashMap<i64, Value> = rest
        .iter()
        .map(|line| {
            let answer: Value = serde_json::from_str(line).unwrap();
            (answer["id"].as_i64().unwrap(), answer)
        })
        .collect();
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert_eq!(by_id.len(), 2, "{rest:?}");
    assert_eq!(result_of(&by_id[&1], json!(1)), &json!({}));
    error_of(
        &by_id[&2],
        json!(2),
        switchboard::error::codes::CONNECTION_CLOSED,
    );
}
