//! Cancellation in a notification convention (here ACP's, `$/cancel_request` `{"requestId":
//! id}`, set on each plain connection with `Builder::cancellation`; the other conventions are
//! in `cancel_conventions.rs`): a `SentRequest` that is cancelled,
//! dropped unconsumed, or whose `block_task()` future is dropped before the answer (polled or
//! not) tells the peer (and a detached one does not); a handler sees the cancellation through its responder,
//! and a cancelled request dropped unanswered is answered -32800; a request that times out
//! fails with a timeout and is cancelled. The peer here is the test,
//! reading and writing raw lines, so every frame on the wire is checked exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use switchboard::cancel::Cancellation;
use switchboard::{ConnectionTo, Error, Responder, UntypedMessage, UntypedRole};

use crate::support::{
    ManualTimer, error_of, guard, hang_up, notification, pipe, poll_once, request, serve,
};

/// The convention every connection in this file speaks.
pub(crate) const CONVENTION: Cancellation = Cancellation::notification("$/cancel_request");

fn cancel_line(id: Value) -> String {
    notification("$/cancel_request", json!({ "requestId": id }))
}

fn ask(method: &str) -> UntypedMessage {
    UntypedMessage::new(method, json!({})).unwrap()
}

#[tokio::test]
async fn a_dropped_or_cancelled_request_is_cancelled_on_the_wire_and_a_detached_one_is_not() {
    let (mut peer, component) = pipe();
    let client =
        UntypedRole
            .builder()
            .cancellation(CONVENTION)
            .connect_with(component, async |cx| {
                drop(cx.send_request(ask("dropped")));
                cx.send_request(ask("cancelled")).cancel();
                cx.send_request(ask("detached")).detach();
                let mut waiting = Box::pin(cx.send_request(ask("abandoned")).block_task());
                assert!(poll_once(&mut waiting).is_pending());
                drop(waiting);
                // Never polled: it must still cancel, and leave nothing in the pending map.
                drop(cx.send_request(ask("unpolled")).block_task());
                cx.send_request(ask("last")).block_task().await
            });
    let client = tokio::spawn(client);

    let mut lines = Vec::new();
    for _ in 0..10 {
        lines.push(peer.recv().await);
    }
    let expected: Vec<Value> = [
        request(json!(1), "dropped", json!({})),
        cancel_line(json!(1)),
        request(json!(2), "cancelled", json!({})),
        cancel_line(json!(2)),
        request(json!(3), "detached", json!({})),
        request(json!(4), "abandoned", json!({})),
        cancel_line(json!(4)),
        request(json!(5), "unpolled", json!({})),
        cancel_line(json!(5)),
        request(json!(6), "last", json!({})),
    ]
    .iter()
    .map(|line| serde_json::from_str(line).unwrap())
    .collect();
    assert_eq!(lines, expected);

    // Answers to cancelled or detached requests are dropped; the last one is delivered.
    for id in 1..=5 {
        peer.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"late"}}"#))
            .await;
    }
    peer.send(r#"{"jsonrpc":"2.0","id":6,"result":"on time"}"#)
        .await;
    let answer = guard("the client", client).await.unwrap().unwrap();
    assert_eq!(answer, json!("on time"));
}

#[tokio::test]
async fn an_answered_request_is_not_cancelled_when_its_handle_goes() {
    let (mut peer, component) = pipe();
    let client = tokio::spawn(UntypedRole.builder().cancellation(CONVENTION).connect_with(
        component,
        async |cx| {
            let first = cx.send_request(ask("first")).block_task().await?;
            let second = cx.send_request(ask("second")).block_task().await?;
            Ok::<_, Error>((first, second))
        },
    ));
    assert_eq!(peer.recv().await["method"], "first");
    peer.send(r#"{"jsonrpc":"2.0","id":1,"result":1}"#).await;
    // The very next line is the second request: no cancellation of the first went out.
    assert_eq!(peer.recv().await["method"], "second");
    peer.send(r#"{"jsonrpc":"2.0","id":2,"result":2}"#).await;
    let answers = guard("the client", client).await.unwrap().unwrap();
    assert_eq!(answers, (json!(1), json!(2)));
}

/// `slow` waits for its cancellation in a spawned task and then drops its responder;
/// `stubborn` checks `is_cancelled` once cancelled and answers anyway; notifications are
/// counted, to show the cancellation itself is not one a handler sees.
fn server(
    notifications: Arc<AtomicUsize>,
) -> switchboard::Builder<UntypedRole, impl switchboard::Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .cancellation(CONVENTION)
        .on_receive_request(
            |request: UntypedMessage,
             responder: Responder<Value>,
             cx: ConnectionTo<UntypedRole>| {
                let method = request.method().to_owned();
                cx.spawn(async move {
                    match method.as_str() {
                        "slow" => {
                            responder.cancelled().await;
                            drop(responder);
                            Ok(())
                        }
                        "stubborn" => {
                            responder.cancelled().await;
                            let seen = responder.is_cancelled();
                            responder.respond(json!({ "sawCancellation": seen }))
                        }
                        _ => {
                            let cancelled = responder.is_cancelled();
                            responder.respond(json!({ "cancelled": cancelled }))
                        }
                    }
                });
                std::future::ready(Ok(()))
            },
        )
        .on_receive_notification(move |_: UntypedMessage, _cx: ConnectionTo<UntypedRole>| {
            notifications.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(()))
        })
}

#[tokio::test]
async fn a_cancelled_request_dropped_unanswered_is_answered_request_cancelled() {
    let notifications = Arc::new(AtomicUsize::new(0));
    let (mut peer, server) = serve(server(Arc::clone(&notifications)));
    peer.send(&request(json!("a"), "slow", json!({}))).await;
    peer.send(&request(json!("b"), "stubborn", json!({}))).await;
    peer.send(&cancel_line(json!("a"))).await;
    let answer = peer.recv().await;
    let error = error_of(&answer, json!("a"), -32800);
    assert_eq!(error["message"], "Request cancelled");

    peer.send(&cancel_line(json!("b"))).await;
    assert_eq!(
        peer.recv().await,
        json!({"jsonrpc": "2.0", "id": "b", "result": {"sawCancellation": true}})
    );

    // Cancelling an unknown id, or with malformed params, changes nothing; the connection
    // goes on, and a request never cancelled does not look cancelled.
    peer.send(&cancel_line(json!(99))).await;
    peer.send(&notification("$/cancel_request", json!({ "id": 1 })))
        .await;
    peer.send(&request(json!(3), "quick", json!({}))).await;
    assert_eq!(
        peer.recv().await,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"cancelled": false}})
    );
    assert!(hang_up(peer, server).await.is_empty());
    assert_eq!(
        notifications.load(Ordering::SeqCst),
        0,
        "handlers never see $/cancel_request"
    );
}

/// client → forwarder → server: the client gives up on its request, and the server's handler,
/// two hops away, sees the cancellation.
#[tokio::test]
async fn a_cancellation_travels_through_a_forwarder_hop_by_hop() {
    use futures::channel::oneshot;
    use switchboard::{Channel, Dispatch};

    let (seen, server_saw) = oneshot::channel::<()>();
    let seen = std::sync::Mutex::new(Some(seen));
    let server = UntypedRole
        .builder()
        .cancellation(CONVENTION)
        .on_receive_request(
            move |_: UntypedMessage, responder: Responder<Value>, cx: ConnectionTo<UntypedRole>| {
                let seen = seen.lock().unwrap().take();
                cx.spawn(async move {
                    responder.cancelled().await;
                    if let Some(seen) = seen {
                        let _ = seen.send(());
                    }
                    Ok(())
                });
                std::future::ready(Ok(()))
            },
        );
    let (client_end, forwarder_end) = Channel::duplex();
    let (to_server, server_end) = Channel::duplex();
    let server = tokio::spawn(server.connect_to(server_end));
    let forwarder = tokio::spawn(UntypedRole.builder().cancellation(CONVENTION).connect_with(
        to_server,
        async |to_server| {
            UntypedRole
                .builder()
                .cancellation(CONVENTION)
                .on_receive_dispatch(move |dispatch: Dispatch, _to_client| {
                    std::future::ready(to_server.send_proxied_message(dispatch))
                })
                .connect_to(forwarder_end)
                .await
        },
    ));
    let client =
        UntypedRole
            .builder()
            .cancellation(CONVENTION)
            .connect_with(client_end, async |cx| {
                // Sent, then given up on: the cancellation follows the request on every hop.
                let mut waiting = Box::pin(cx.send_request(ask("long")).block_task());
                assert!(poll_once(&mut waiting).is_pending());
                drop(waiting);
                guard("the server seeing the cancellation", server_saw)
                    .await
                    .map_err(|_| Error::internal_error("the server never saw the cancellation"))
            });
    guard("the client", client).await.unwrap();
    server.abort();
    forwarder.abort();
}

#[tokio::test]
async fn a_request_that_times_out_fails_with_a_timeout_and_is_cancelled_on_the_wire() {
    use std::time::Duration;
    let timer = ManualTimer::default();
    let (mut peer, component) = pipe();
    let (answered, callback_heard) = futures::channel::oneshot::channel();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .cancellation(CONVENTION)
            .timer(timer.clone())
            .connect_with(component, async |cx| {
                // One waited on, one with a callback: both hear of the timeout.
                let waited = cx
                    .send_request(ask("slow"))
                    .timeout(Duration::from_secs(5))
                    .block_task();
                cx.send_request(ask("slower"))
                    .timeout(Duration::from_secs(5))
                    .on_receiving_result(async move |result: Result<Value, Error>| {
                        let _ = answered.send(result);
                        Ok(())
                    });
                let waited = waited.await;
                let heard = callback_heard.await;
                Ok::<_, Error>((waited, heard))
            }),
    );
    assert_eq!(peer.recv().await["method"], "slow");
    assert_eq!(peer.recv().await["method"], "slower");
    assert_eq!(
        timer.ring(),
        2,
        "each request started its timer when it was sent"
    );

    let (waited, heard) = guard("the client", client).await.unwrap().unwrap();
    let error = waited.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.code(), switchboard::error::codes::TIMED_OUT);
    assert!(heard.unwrap().unwrap_err().is_timeout());
    let mut cancels = vec![peer.recv().await, peer.recv().await];
    cancels.sort_by_key(|cancel| cancel["params"]["requestId"].as_i64());
    let expected: Vec<Value> = [cancel_line(json!(1)), cancel_line(json!(2))]
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(cancels, expected);
}

#[tokio::test]
async fn the_connection_default_timeout_does_nothing_once_the_answer_is_in() {
    use std::time::Duration;
    let timer = ManualTimer::default();
    let (mut peer, component) = pipe();
    let (go_on, gone_on) = futures::channel::oneshot::channel::<()>();
    let (got_first, first_in) = futures::channel::oneshot::channel::<()>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .cancellation(CONVENTION)
            .timer(timer.clone())
            .request_timeout(Duration::from_secs(1))
            .connect_with(component, async |cx| {
                let first = cx.send_request(ask("first")).block_task().await?;
                // The test rings the timer now, after the answer was taken.
                let _ = got_first.send(());
                let _ = gone_on.await;
                let second = cx.send_request(ask("second")).block_task().await?;
                Ok::<_, Error>((first, second))
            }),
    );
    assert_eq!(peer.recv().await["method"], "first");
    peer.send(r#"{"jsonrpc":"2.0","id":1,"result":1}"#).await;
    guard("the first answer", first_in).await.unwrap();
    let rung = timer.ring();
    assert_eq!(
        rung, 1,
        "the default timeout started with the first request"
    );
    go_on.send(()).unwrap();
    // No cancellation for the answered request: the next line is the second request.
    assert_eq!(peer.recv().await["method"], "second");
    peer.send(r#"{"jsonrpc":"2.0","id":2,"result":2}"#).await;
    let answers = guard("the client", client).await.unwrap().unwrap();
    assert_eq!(answers, (json!(1), json!(2)));
}
