//! Cancellation is the protocol's: with no convention nothing is sent and nothing is taken;
//! a convention may name the request in a field of its own (LSP's `id`); under "no answer
//! follows" (MCP's rule) a cancelled request gets no answer at all, batches included; and a
//! forwarder between two conventions translates both ways. The peers here are the test,
//! reading and writing raw lines.

use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use serde_json::{Value, json};
use switchboard::cancel::Cancellation;
use switchboard::{ConnectionTo, Error, Responder, SentRequest, UntypedMessage, UntypedRole};

use crate::support::{
    ManualTimer, Peer, error_of, guard, hang_up, notification, pipe, poll_once, request, serve,
};

const ACP_STYLE: Cancellation = Cancellation::notification("$/cancel_request");
const LSP_STYLE: Cancellation = Cancellation::notification("$/cancelRequest").id_field("id");
const MCP_STYLE: Cancellation = Cancellation::notification("notifications/cancelled")
    .reason_field("reason")
    .no_answer_follows();

fn ask(method: &str) -> UntypedMessage {
    UntypedMessage::new(method, json!({})).unwrap()
}

fn parsed(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

/// `slow` waits for its cancellation and drops its responder; `stubborn` waits for it and
/// answers anyway; anything else is answered `"done"` at once. Notifications the handlers see
/// are recorded.
fn server(
    convention: Cancellation,
    seen: Arc<Mutex<Vec<String>>>,
) -> switchboard::Builder<UntypedRole, impl switchboard::Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .cancellation(convention)
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
                            responder.respond(json!("answered anyway"))
                        }
                        _ => responder.respond(json!("done")),
                    }
                });
                std::future::ready(Ok(()))
            },
        )
        .on_receive_notification(move |notification: UntypedMessage, _cx| {
            seen.lock().unwrap().push(notification.method().to_owned());
            std::future::ready(Ok(()))
        })
}

#[tokio::test]
async fn without_a_convention_nothing_is_sent_and_the_notification_is_an_ordinary_one() {
    let (mut peer, component) = pipe();
    let client = tokio::spawn(UntypedRole.builder().connect_with(component, async |cx| {
        drop(cx.send_request(ask("dropped")));
        cx.send_request(ask("last")).block_task().await
    }));
    // The dropped request goes out, and nothing follows it but the next request.
    assert_eq!(
        peer.recv().await,
        parsed(&request(json!(1), "dropped", json!({})))
    );
    assert_eq!(
        peer.recv().await,
        parsed(&request(json!(2), "last", json!({})))
    );
    peer.send(r#"{"jsonrpc":"2.0","id":2,"result":"ok"}"#).await;
    assert_eq!(guard("the client", client).await.unwrap().unwrap(), "ok");

    // Another protocol's cancellation is just a notification here: handlers see it, and the
    // request it names runs to its answer.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (mut peer, served) = serve(server(Cancellation::NONE, Arc::clone(&seen)));
    peer.send(&request(json!(1), "quick", json!({}))).await;
    peer.send(&notification("$/cancel_request", json!({"requestId": 1})))
        .await;
    assert_eq!(peer.recv().await["result"], "done");
    assert!(hang_up(peer, served).await.is_empty());
    assert_eq!(*seen.lock().unwrap(), ["$/cancel_request"]);
}

#[tokio::test]
async fn a_convention_names_the_request_in_its_own_field() {
    let (mut peer, component) = pipe();
    let client = tokio::spawn(UntypedRole.builder().cancellation(LSP_STYLE).connect_with(
        component,
        async |cx| {
            let mut waiting = Box::pin(cx.send_request(ask("hover")).block_task());
            assert!(poll_once(&mut waiting).is_pending());
            drop(waiting);
            Ok::<_, Error>(())
        },
    ));
    assert_eq!(peer.recv().await["method"], "hover");
    assert_eq!(
        peer.recv().await,
        parsed(&notification("$/cancelRequest", json!({"id": 1})))
    );
    guard("the client", client).await.unwrap().unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let (mut peer, served) = serve(server(LSP_STYLE, Arc::clone(&seen)));
    peer.send(&request(json!("a"), "slow", json!({}))).await;
    peer.send(&notification("$/cancelRequest", json!({"id": "a"})))
        .await;
    error_of(&peer.recv().await, json!("a"), -32800);
    assert!(hang_up(peer, served).await.is_empty());
    assert!(
        seen.lock().unwrap().is_empty(),
        "handlers saw a cancellation"
    );
}

#[tokio::test]
async fn where_no_answer_follows_a_cancelled_request_is_never_answered() {
    // Sending side: the reason travels with the id.
    let (mut peer, component) = pipe();
    let client = tokio::spawn(UntypedRole.builder().cancellation(MCP_STYLE).connect_with(
        component,
        async |cx| {
            cx.send_request(ask("tool")).cancel();
            Ok::<_, Error>(())
        },
    ));
    assert_eq!(peer.recv().await["method"], "tool");
    let cancel = peer.recv().await;
    assert_eq!(cancel["method"], "notifications/cancelled");
    assert_eq!(cancel["params"]["requestId"], 1);
    assert!(cancel["params"]["reason"].is_string(), "{cancel}");
    guard("the client", client).await.unwrap().unwrap();

    // Receiving side: neither the -32800 of a dropped responder nor a late answer goes out,
    // alone or in a batch; other requests are answered as usual.
    let (mut peer, served) = serve(server(MCP_STYLE, Arc::default()));
    let cancel = |id: Value| notification("notifications/cancelled", json!({"requestId": id}));
    peer.send(&request(json!(1), "slow", json!({}))).await;
    peer.send(&request(json!(2), "stubborn", json!({}))).await;
    peer.send(&cancel(json!(1))).await;
    peer.send(&cancel(json!(2))).await;
    let batch = format!(
        "[{},{}]",
        request(json!(3), "slow", json!({})),
        request(json!(4), "quick", json!({}))
    );
    peer.send(&batch).await;
    peer.send(&cancel(json!(3))).await;
    // At the end of input the connection waits for every responder, so all is written.
    let mut lines = hang_up_after(&mut peer, request(json!(5), "quick", json!({}))).await;
    // Spawned handlers finish in any order; what matters is what was written at all.
    lines.sort_by_key(Value::is_array);
    assert_eq!(
        lines,
        [
            json!({"jsonrpc": "2.0", "id": 5, "result": "done"}),
            json!([{"jsonrpc": "2.0", "id": 4, "result": "done"}]),
        ],
    );
    guard("the server", served).await.unwrap().unwrap();
}

/// Sends `last`, ends the input, and returns every line the connection wrote from now on.
async fn hang_up_after(peer: &mut Peer, last: String) -> Vec<Value> {
    peer.send(&last).await;
    peer.rest().await.iter().map(|line| parsed(line)).collect()
}

/// A forwarder speaking `upstream` to the test's raw `client` and `downstream` to the test's
/// raw `next` hop; its next-hop connection has a timer that never rings, so no grace runs out.
struct Forwarder {
    client: Peer,
    next: Peer,
    served: tokio::task::JoinHandle<Result<(), Error>>,
    next_connection: tokio::task::JoinHandle<Result<(), Error>>,
}

async fn forwarder(upstream: Cancellation, downstream: Cancellation) -> Forwarder {
    let (next, next_streams) = pipe();
    let (ready, to_next) = oneshot::channel::<ConnectionTo<UntypedRole>>();
    let next_connection = tokio::spawn(
        UntypedRole
            .builder()
            .cancellation(downstream)
            .timer(ManualTimer::default())
            .connect_with(next_streams, async move |cx| {
                let _ = ready.send(cx.clone());
                cx.input_ended().await;
                Ok(())
            }),
    );
    let to_next = guard("the next hop", to_next).await.unwrap();
    let forwarding = UntypedRole
        .builder()
        .cancellation(upstream)
        .on_receive_request(
            move |request: UntypedMessage, responder: Responder<Value>, _cx| {
                let sent: SentRequest<Value> = to_next.send_request(request);
                sent.forward_response_to(responder);
                std::future::ready(Ok(()))
            },
        );
    let (client, served) = serve(forwarding);
    Forwarder {
        client,
        next,
        served,
        next_connection,
    }
}

#[tokio::test]
async fn a_forwarder_translates_a_cancellation_into_the_next_hops_convention_both_ways() {
    // Towards a hop that answers nothing once cancelled: the caller gets -32800 at once
    // (the forwarder's timer never rings, so no grace could have run out).
    let Forwarder {
        mut client,
        mut next,
        served,
        next_connection,
    } = forwarder(ACP_STYLE, MCP_STYLE).await;
    client.send(&request(json!(7), "work", json!({}))).await;
    assert_eq!(next.recv().await["method"], "work");
    client
        .send(&notification("$/cancel_request", json!({"requestId": 7})))
        .await;
    let cancel = next.recv().await;
    assert_eq!(cancel["method"], "notifications/cancelled", "{cancel}");
    assert_eq!(cancel["params"]["requestId"], 1);
    error_of(&client.recv().await, json!(7), -32800);
    assert!(hang_up(client, served).await.is_empty());
    drop(next);
    let _ = guard("the next hop's connection", next_connection).await;

    // From a caller that wants no answer: the next hop's -32800 stops at the forwarder.
    let Forwarder {
        mut client,
        mut next,
        served,
        next_connection,
    } = forwarder(MCP_STYLE, ACP_STYLE).await;
    client.send(&request(json!(7), "work", json!({}))).await;
    assert_eq!(next.recv().await["method"], "work");
    client
        .send(&notification(
            "notifications/cancelled",
            json!({"requestId": 7, "reason": "user"}),
        ))
        .await;
    assert_eq!(
        next.recv().await,
        parsed(&notification("$/cancel_request", json!({"requestId": 1})))
    );
    next.send(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32800,"message":"Request cancelled"}}"#)
        .await;
    client.send(&request(json!(8), "more", json!({}))).await;
    assert_eq!(next.recv().await["id"], 2);
    next.send(r#"{"jsonrpc":"2.0","id":2,"result":"more"}"#)
        .await;
    // The first line the caller gets is the answer to its second request.
    let lines = hang_up_after(&mut client, notification("bye", json!({}))).await;
    assert_eq!(
        lines,
        [json!({"jsonrpc": "2.0", "id": 8, "result": "more"})]
    );
    let _ = guard("the forwarder", served).await;
    drop(next);
    let _ = guard("the next hop's connection", next_connection).await;
}
