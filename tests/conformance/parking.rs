//! Early messages: a message for a session whose handler is not registered yet waits in the
//! parking lot and is replayed, in arrival order, when the handler comes. The lot is bounded
//! in count and in age; what leaves it unclaimed is answered -32601 (requests) or dropped
//! (notifications). Nothing waits forever, not even at end of input.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::dynamic::ParkKeyed;
use switchboard::error::codes;
use switchboard::{Error, UntypedRole};

use crate::session_host::{Host, Observed, RawPeer, notification, raw_peer, request};
use crate::support::guard;

/// A session host that parks unclaimed messages carrying a `sessionId`, with the given
/// parking limits, serving `lines` until end of input.
fn serve(
    observed: &Observed,
    max_messages: usize,
    max_age: Duration,
) -> (RawPeer, impl Future<Output = Result<(), Error>>) {
    let (peer, lines) = raw_peer();
    let server = UntypedRole
        .builder()
        .with_handler(ParkKeyed::new("sessionId"))
        .with_handler(Host::new(observed))
        .parking(max_messages, max_age)
        .connect_to(lines);
    (peer, server)
}

fn error_code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error answer, got {answer}"))
}

#[tokio::test]
async fn early_messages_are_replayed_in_arrival_order_when_their_handler_arrives() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 100, Duration::from_secs(3600));
    let peer_side = async move {
        peer.send(notification(
            "update",
            json!({"sessionId": "s1", "text": "one"}),
        ))
        .await;
        peer.send(request(1, "work", json!({"sessionId": "s1"})))
            .await;
        peer.send(notification(
            "update",
            json!({"sessionId": "s2", "text": "other"}),
        ))
        .await;
        peer.send(notification(
            "update",
            json!({"sessionId": "s1", "text": "two"}),
        ))
        .await;
        peer.send(request(2, "open", json!({"sessionId": "s1"})))
            .await;
        peer.send(notification(
            "update",
            json!({"sessionId": "s1", "text": "three"}),
        ))
        .await;
        peer.send(request(3, "probe", json!({}))).await;

        let opened = peer.receive().await;
        assert_eq!(opened["id"], 2);
        // Replayed right after `open`, before anything that arrived after it.
        let work = peer.receive().await;
        assert_eq!(work["id"], 1);
        assert_eq!(work["result"]["seen"], json!(["s1:update:one", "s1:work"]));
        let probe = peer.receive().await;
        assert_eq!(probe["id"], 3);
        peer.hang_up();
        (probe, peer.rest().await)
    };
    let (served, (probe, rest)) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(
        probe["result"]["log"],
        json!([
            "s1:update:one",
            "s1:work",
            "s1:update:two",
            "s1:update:three"
        ])
    );
    // The s2 update was still parked at end of input: dropped, and never answered.
    assert!(rest.is_empty(), "unexpected output: {rest:?}");
}

#[tokio::test]
async fn a_full_parking_lot_turns_away_its_oldest_message() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 2, Duration::from_secs(3600));
    let peer_side = async move {
        for id in 1..=3 {
            peer.send(request(id, "work", json!({"sessionId": "s1"})))
                .await;
        }
        // The lot holds two: the third arrival evicts the first, answered at once.
        let evicted = peer.receive().await;
        assert_eq!(evicted["id"], 1);
        assert_eq!(error_code(&evicted), i64::from(codes::METHOD_NOT_FOUND));

        peer.send(request(4, "open", json!({"sessionId": "s1"})))
            .await;
        let answers = [
            peer.receive().await,
            peer.receive().await,
            peer.receive().await,
        ];
        peer.hang_up();
        answers
    };
    let (served, answers) = futures::join!(server, peer_side);
    served.unwrap();
    let ids: Vec<&Value> = answers.iter().map(|answer| &answer["id"]).collect();
    assert_eq!(ids, [&json!(4), &json!(2), &json!(3)]);
    assert_eq!(answers[1]["result"]["session"], "s1");
    assert_eq!(observed.log(), ["s1:work", "s1:work"]);
}

#[tokio::test]
async fn a_parked_request_that_expires_is_answered_method_not_found() {
    let observed = Observed::default();
    // No message may wait at all: it expires as soon as the actor looks again.
    let (mut peer, server) = serve(&observed, 100, Duration::ZERO);
    let peer_side = async move {
        peer.send(request(1, "work", json!({"sessionId": "s1"})))
            .await;
        let expired = peer.receive().await;
        peer.send(request(2, "open", json!({"sessionId": "s1"})))
            .await;
        let opened = peer.receive().await;
        peer.hang_up();
        (expired, opened, peer.rest().await)
    };
    let (served, (expired, opened, rest)) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(expired["id"], 1);
    assert_eq!(error_code(&expired), i64::from(codes::METHOD_NOT_FOUND));
    assert_eq!(opened["id"], 2);
    assert!(rest.is_empty(), "unexpected output: {rest:?}");
    // It expired before the handler came, so the handler never saw it.
    assert!(observed.log().is_empty());
}

#[tokio::test]
async fn an_expired_notification_is_dropped_without_an_answer() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 100, Duration::ZERO);
    let peer_side = async move {
        peer.send(notification(
            "update",
            json!({"sessionId": "s1", "text": "late"}),
        ))
        .await;
        peer.send(request(1, "open", json!({"sessionId": "s1"})))
            .await;
        peer.send(request(2, "probe", json!({}))).await;
        let answers = [peer.receive().await, peer.receive().await];
        peer.hang_up();
        (answers, peer.rest().await)
    };
    let (served, (answers, rest)) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[1]["id"], 2);
    assert_eq!(answers[1]["result"]["log"], json!([]));
    assert!(rest.is_empty(), "unexpected output: {rest:?}");
}

/// With the connection idle (no further input), the age limit still ends a parked
/// request's wait: the timer wakes the incoming actor.
#[tokio::test]
async fn an_idle_connection_still_expires_parked_requests() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 100, Duration::from_millis(20));
    let peer_side = async move {
        peer.send(request(1, "work", json!({"sessionId": "s1"})))
            .await;
        // Nothing else is sent until the answer comes.
        let expired = guard("the expiry", peer.receive()).await;
        peer.hang_up();
        expired
    };
    let (served, expired) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(expired["id"], 1);
    assert_eq!(error_code(&expired), i64::from(codes::METHOD_NOT_FOUND));
}

#[tokio::test]
async fn requests_still_parked_at_end_of_input_are_answered() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 100, Duration::from_secs(3600));
    let peer_side = async move {
        peer.send(request(1, "work", json!({"sessionId": "s1"})))
            .await;
        peer.send(notification(
            "update",
            json!({"sessionId": "s1", "text": "x"}),
        ))
        .await;
        peer.hang_up();
        peer.rest().await
    };
    let (served, rest) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(rest.len(), 1, "one answer, for the request only: {rest:?}");
    assert_eq!(rest[0]["id"], 1);
    assert_eq!(error_code(&rest[0]), i64::from(codes::METHOD_NOT_FOUND));
}

#[tokio::test]
async fn messages_without_the_key_are_not_parked() {
    let observed = Observed::default();
    let (mut peer, server) = serve(&observed, 100, Duration::from_secs(3600));
    let peer_side = async move {
        peer.send(request(1, "unknown", json!({"other": 1}))).await;
        let answer = peer.receive().await;
        peer.hang_up();
        answer
    };
    let (served, answer) = futures::join!(server, peer_side);
    served.unwrap();
    assert_eq!(answer["id"], 1);
    assert_eq!(error_code(&answer), i64::from(codes::METHOD_NOT_FOUND));
}
