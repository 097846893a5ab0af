//! Forwarding: a chain of three in-process connections, client → forwarder → server, where
//! the forwarder passes every request and notification on with `send_proxied_message`, in
//! both directions.
//!
//! This file proves that requests cross with their ids translated (the server sees the
//! forwarder's ids, the client gets each answer under its own id, even when the server answers
//! out of order); that notifications and requests arrive in send order; that error answers
//! (code, message, data) and -32601 pass through unchanged; that the server's requests cross
//! to the client and their answers come back; and that a forwarded request in flight fails
//! with a connection-closed error when the server goes away, instead of hanging.
//!
//! The pieces forwarding is made of are tested one by one in `forwarding_pieces.rs`.

use std::future::ready;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::{
    Builder, Channel, ConnectTo, ConnectionTo, Dispatch, Error, Handled, Handler, Responder,
    UntypedMessage, UntypedRole,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::peers::{Log, Note, message, push, snapshot};
use crate::support::{guard, pipe, request, result_of};

/// Starts the forwarder between `client_side` and `server_side` as a task, and returns once
/// both of its connections run, so the server may send at once. Also returns the forwarder's
/// two connections (client side, server side), to look at what they hold.
///
/// Its server-side connection runs `connect_with`; inside, its client-side connection runs
/// `connect_to` and ends when the client hangs up, which ends the whole forwarder. The
/// server-side handler reaches the client through a cell the client-side connection fills
/// when it starts.
async fn start_forwarder(
    client_side: impl ConnectTo<UntypedRole>,
    server_side: impl ConnectTo<UntypedRole>,
) -> (
    JoinHandle<Result<(), Error>>,
    [ConnectionTo<UntypedRole>; 2],
) {
    let to_client = Arc::new(OnceLock::<ConnectionTo<UntypedRole>>::new());
    let (started, is_started) = oneshot::channel();
    let forwarder = UntypedRole
        .builder()
        .name("forwarder, server side")
        .on_receive_dispatch({
            let to_client = Arc::clone(&to_client);
            move |dispatch: Dispatch, _to_server| {
                let to_client = to_client.get().expect("the client side runs first");
                ready(to_client.send_proxied_message(dispatch))
            }
        })
        .connect_with(server_side, move |to_server| {
            let server_side = to_server.clone();
            UntypedRole
                .builder()
                .name("forwarder, client side")
                .on_receive_dispatch(move |dispatch: Dispatch, _to_client| {
                    ready(to_server.send_proxied_message(dispatch))
                })
                .with_spawned(move |cx| {
                    to_client.set(cx.clone()).expect("started once");
                    let _ = started.send([cx, server_side]);
                    ready(Ok(()))
                })
                .connect_to(client_side)
        });
    let task = tokio::spawn(forwarder);
    let sides = guard("the forwarder to start", is_started)
        .await
        .expect("the forwarder stopped before it started");
    (task, sides)
}

/// Awaits a connection task and checks it ended cleanly.
async fn ended_ok(what: &str, task: JoinHandle<Result<(), Error>>) {
    guard(what, task)
        .await
        .unwrap_or_else(|panic| panic!("{what} panicked: {panic}"))
        .unwrap_or_else(|error| panic!("{what} ended with an error: {error}"));
}

/// Runs `client_main` as the client of `server` through a forwarder, and returns its output
/// once the client, the forwarder and the server have all ended cleanly.
async fn through_forwarder<H, T, F, Fut>(server: Builder<UntypedRole, H>, client_main: F) -> T
where
    H: Handler<UntypedRole> + 'static,
    T: Send + 'static,
    F: FnOnce(ConnectionTo<UntypedRole>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let server = tokio::spawn(server.name("server").connect_to(server_end));
    let (forwarder, _) = start_forwarder(forwarder_client_side, forwarder_server_side).await;
    let client = UntypedRole.builder().name("client");
    let output = guard("the client", client.connect_with(client_end, client_main))
        .await
        .expect("the client's main failed");
    ended_ok("the forwarder", forwarder).await;
    ended_ok("the server", server).await;
    output
}

#[tokio::test]
async fn requests_cross_with_translated_ids_and_answers_reach_their_own_requests() {
    // The server holds the first request and answers the second one first, each with the id
    // it saw: answers can only reach the right requests by id.
    let mut held: Option<(Value, Responder<Value>)> = None;
    let server = UntypedRole.builder().on_receive_request(
        move |request: UntypedMessage, responder: Responder<Value>, _cx| {
            let answer = request.params_value().map(|params| {
                json!({"method": request.method(), "params": params, "seen_id": responder.id()})
            });
            ready(answer.and_then(|answer| match held.take() {
                None => {
                    held = Some((answer, responder));
                    Ok(())
                }
                Some((first_answer, first)) => {
                    responder.respond(answer)?;
                    first.respond(first_answer)
                }
            }))
        },
    );
    let (mut client, client_side) = pipe();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let server = tokio::spawn(server.connect_to(server_end));
    let (forwarder, _) = start_forwarder(client_side, forwarder_server_side).await;

    client
        .send(&request(json!(41), "first", json!({"a": 1})))
        .await;
    client
        .send(&request(json!("c-x"), "second", json!({"b": 2})))
        .await;
    let answer_to_second = client.recv().await;
    let answer_to_first = client.recv().await;

    let second = result_of(&answer_to_second, json!("c-x"));
    assert_eq!(second["method"], "second");
    assert_eq!(second["params"], json!({"b": 2}));
    let first = result_of(&answer_to_first, json!(41));
    assert_eq!(first["method"], "first");
    assert_eq!(first["params"], json!({"a": 1}));

    // The server saw ids of the forwarder's own: integers, distinct, not the client's.
    let seen = [first["seen_id"].as_u64(), second["seen_id"].as_u64()];
    assert!(seen.iter().all(Option::is_some), "not integers: {seen:?}");
    assert_ne!(seen[0], seen[1]);
    assert_ne!(seen[0], Some(41));

    assert!(
        client.rest().await.is_empty(),
        "nothing else reached the client"
    );
    ended_ok("the forwarder", forwarder).await;
    ended_ok("the server", server).await;
}

#[tokio::test]
async fn notifications_and_requests_arrive_in_the_order_they_were_sent() {
    let arrivals = Log::default();
    let server = UntypedRole
        .builder()
        .on_receive_notification({
            let arrivals = Arc::clone(&arrivals);
            move |note: Note, _cx| {
                push(&arrivals, format!("note {}", note.text));
                ready(Ok(()))
            }
        })
        .on_receive_request({
            let arrivals = Arc::clone(&arrivals);
            move |request: UntypedMessage, responder, _cx| {
                let answer = match request.method() {
                    "arrivals" => json!(snapshot(&arrivals)),
                    _ => {
                        let name = request.params_value().unwrap()["name"].clone();
                        push(&arrivals, format!("request {}", name.as_str().unwrap()));
                        json!({"answered": name})
                    }
                };
                ready(responder.respond(answer))
            }
        });
    // Notifications and requests interleaved; nothing waits until everything is sent.
    let sent: Vec<String> = (0..30)
        .map(|i| match i % 3 {
            1 => format!("request r{i}"),
            _ => format!("note n{i}"),
        })
        .collect();
    let plan = sent.clone();
    let arrived = through_forwarder(server, async move |cx| {
        let mut pending = Vec::new();
        for step in &plan {
            let (kind, name) = step.split_once(' ').unwrap();
            if kind == "note" {
                cx.send_notification(Note { text: name.into() })?;
            } else {
                let sent = cx.send_request(message("call", json!({"name": name})));
                pending.push((name.to_owned(), sent));
            }
        }
        for (name, sent) in pending {
            assert_eq!(sent.block_task().await?, json!({"answered": name}));
        }
        cx.send_request(message("arrivals", json!({})))
            .block_task()
            .await
    })
    .await;
    assert_eq!(arrived, json!(sent));
}

#[tokio::test]
async fn error_answers_cross_unchanged() {
    let server =
        UntypedRole
            .builder()
            .on_receive_request(|request: UntypedMessage, responder, _cx| {
                ready(match request.method() {
                    "answer-with-error" => responder.respond_with_error(
                        Error::new(-32001, "nope")
                            .with_data(json!({"why": 1, "list": [true, null]})),
                    ),
                    // Returning the error answers with it too; this one has no data.
                    _ => Err(Error::new(-32002, "bare")),
                })
            });
    let (with_data, bare) = through_forwarder(server, async |cx| {
        let with_data = cx.send_request(message("answer-with-error", json!({})));
        let bare = cx.send_request(message("fail", json!({})));
        Ok((with_data.block_task().await, bare.block_task().await))
    })
    .await;
    assert_eq!(
        with_data.expect_err("the server answered with an error"),
        Error::new(-32001, "nope").with_data(json!({"why": 1, "list": [true, null]}))
    );
    let bare = bare.expect_err("the server answered with an error");
    assert_eq!(bare, Error::new(-32002, "bare"));
    assert_eq!(bare.data(), None, "no data was added on the way");
}

#[tokio::test]
async fn server_requests_cross_to_the_client_and_their_answers_come_back() {
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let (forwarder, _) = start_forwarder(forwarder_client_side, forwarder_server_side).await;

    let notes = Log::default();
    let (done, is_done) = oneshot::channel::<()>();
    let client = UntypedRole
        .builder()
        .on_receive_notification({
            let notes = Arc::clone(&notes);
            move |note: Note, _cx| {
                push(&notes, note.text);
                ready(Ok(()))
            }
        })
        .on_receive_request({
            let notes = Arc::clone(&notes);
            move |request: UntypedMessage, responder, _cx| {
                ready(match request.method() {
                    "refuse" => {
                        Err(Error::new(-32003, "refused").with_data(json!("by the client")))
                    }
                    method => request.params_value().and_then(|params| {
                        responder.respond(json!({
                            "client_answered": method,
                            "params": params,
                            "notes": snapshot(&notes),
                        }))
                    }),
                })
            }
        })
        .connect_with(client_end, async move |_cx| {
            is_done.await.map_err(Error::internal_error)
        });
    let client = tokio::spawn(client);

    let server = UntypedRole.builder().connect_with(server_end, async |cx| {
        cx.send_notification(message("note", json!({"text": "heads up"})))?;
        let ask = cx.send_request(message("ask", json!({"q": 1})));
        let refuse = cx.send_request(message("refuse", json!({})));
        Ok((ask.block_task().await?, refuse.block_task().await))
    });
    let (asked, refused) = guard("the server's requests", server)
        .await
        .expect("the server's main failed");
    assert_eq!(
        asked,
        json!({"client_answered": "ask", "params": {"q": 1}, "notes": ["heads up"]})
    );
    assert_eq!(
        refused.expect_err("the client refused"),
        Error::new(-32003, "refused").with_data(json!("by the client"))
    );

    done.send(()).unwrap();
    ended_ok("the client", client).await;
    ended_ok("the forwarder", forwarder).await;
}

/// Records the method of every request and notification, and passes it on.
struct RecordMethods(Log);

impl Handler<UntypedRole> for RecordMethods {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        if let Some(method) = dispatch.method() {
            push(&self.0, method);
        }
        Ok(Handled::pass(dispatch))
    }
}

#[tokio::test]
async fn method_not_found_from_the_server_reaches_the_client_unchanged() {
    let seen_by_server = Log::default();
    let server = UntypedRole
        .builder()
        .with_handler(RecordMethods(Arc::clone(&seen_by_server)));
    let answer = through_forwarder(server, async |cx| {
        Ok(cx
            .send_request(message("no/such/method", json!({})))
            .block_task()
            .await)
    })
    .await;
    let error = answer.expect_err("nobody serves no/such/method");
    assert_eq!(error.code(), codes::METHOD_NOT_FOUND);
    assert_eq!(error, Error::method_not_found("no/such/method"));
    // It was the server that answered: the forwarder passed the request on.
    assert_eq!(snapshot(&seen_by_server), ["no/such/method"]);
}

#[tokio::test]
async fn a_forwarded_request_in_flight_fails_with_connection_closed_when_the_server_ends() {
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let (forwarder, _) = start_forwarder(forwarder_client_side, forwarder_server_side).await;

    // The server keeps the responder unanswered, says so, and ends when told.
    let held: Arc<Mutex<Vec<Responder<Value>>>> = Arc::default();
    let (arrived, mut has_arrived) = mpsc::unbounded_channel::<()>();
    let (stop, is_stopped) = oneshot::channel::<()>();
    let server = UntypedRole
        .builder()
        .on_receive_request({
            let held = Arc::clone(&held);
            move |_request: UntypedMessage, responder, _cx| {
                held.lock().unwrap().push(responder);
                ready(arrived.send(()).map_err(Error::internal_error))
            }
        })
        .connect_with(server_end, async move |_cx| {
            is_stopped.await.map_err(Error::internal_error)
        });
    let server = tokio::spawn(server);

    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let in_flight = cx.send_request(message("hold", json!({})));
        let failed = in_flight.block_task().await;
        // Once the server is gone, a new request fails at once too.
        let after = cx
            .send_request(message("hold", json!({})))
            .block_task()
            .await;
        Ok((failed, after))
    });
    let client = tokio::spawn(client);

    guard("the request to reach the server", has_arrived.recv()).await;
    stop.send(()).unwrap();
    ended_ok("the server", server).await;

    let (failed, after) = guard("the client", client)
        .await
        .unwrap()
        .expect("the client's main failed");
    for (what, answer) in [("in flight", failed), ("sent after", after)] {
        let error = answer.expect_err("the server ended without answering");
        assert_eq!(error.code(), codes::CONNECTION_CLOSED, "{what}: {error}");
        assert!(error.is_connection_closed());
    }
    assert_eq!(held.lock().unwrap().len(), 1, "only the first reached it");
    ended_ok("the forwarder", forwarder).await;
}

#[tokio::test]
async fn ten_thousand_forwarded_requests_leave_nothing_behind() {
    const REQUESTS: usize = 10_000;
    // Answered at once, so many answers are in before the forwarder's next look.
    let server = UntypedRole.builder().on_receive_request(
        async |request: UntypedMessage, responder: Responder<Value>, _cx| {
            responder.respond(request.params_value()?)
        },
    );
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let server = tokio::spawn(server.name("server").connect_to(server_end));
    let (forwarder, sides) = start_forwarder(forwarder_client_side, forwarder_server_side).await;
    let client = UntypedRole.builder().name("client");
    let census = client.connect_with(client_end, async move |cx| {
        let mut answered = 0;
        for round in 0..REQUESTS / 100 {
            let sent: Vec<_> = (0..100)
                .map(|n| {
                    cx.send_request(message("echo", json!({"n": round * 100 + n})))
                        .block_task()
                })
                .collect();
            for answer in futures::future::join_all(sent).await {
                answer?;
                answered += 1;
            }
        }
        Ok((answered, cx.census()))
    });
    let (answered, client_census) = guard("the client", census).await.expect("the client");
    assert_eq!(answered, REQUESTS);
    for (side, cx) in ["client side", "server side"].iter().zip(&sides) {
        let census = cx.census();
        assert_eq!(census.awaiting_answers, 0, "forwarder, {side}: {census:?}");
        assert_eq!(
            census.unanswered_requests, 0,
            "forwarder, {side}: {census:?}"
        );
        assert_eq!(
            census.cancellation_registrations, 0,
            "forwarder, {side}: {census:?}"
        );
    }
    assert_eq!(client_census.awaiting_answers, 0, "{client_census:?}");
    drop(sides);
    ended_ok("the forwarder", forwarder).await;
    ended_ok("the server", server).await;
}

/// A forwarded request that its caller cancels passes the cancellation on and waits for the
/// next hop's answer; a next hop that never answers it is given
/// `FORWARDED_CANCEL_GRACE`, then the caller gets -32800 from the forwarder.
#[tokio::test]
async fn a_cancelled_forwarded_request_the_next_hop_never_answers_gets_32800_after_the_grace() {
    use switchboard::cancel::FORWARDED_CANCEL_GRACE;
    use switchboard::{ConnectionTo, SentRequest};

    use crate::cancel::CONVENTION;

    // The next hop reads everything and answers nothing, cancellations included.
    let (silent_end, forwarder_next) = Channel::duplex();
    let silent = tokio::spawn(
        UntypedRole
            .builder()
            .on_receive_request(
                async |_: UntypedMessage, responder: Responder<Value>, _cx| {
                    std::mem::forget(responder);
                    Ok(())
                },
            )
            .connect_to(silent_end),
    );
    let (next_hop, ready_to_forward) = oneshot::channel::<ConnectionTo<UntypedRole>>();
    let next = tokio::spawn(UntypedRole.builder().cancellation(CONVENTION).connect_with(
        forwarder_next,
        async move |cx| {
            next_hop.send(cx.clone()).ok().unwrap();
            cx.input_ended().await;
            Ok(())
        },
    ));
    let to_next = guard("the next hop", ready_to_forward).await.unwrap();
    let forwarder = UntypedRole
        .builder()
        .cancellation(CONVENTION)
        .on_receive_request(
            move |request: UntypedMessage, responder: Responder<Value>, _cx| {
                let sent: SentRequest<Value> = to_next.send_request(request);
                sent.forward_response_to(responder);
                ready(Ok(()))
            },
        );
    let (mut peer, served) = crate::support::serve(forwarder);
    peer.send(&crate::support::request(json!(1), "work", json!({})))
        .await;
    peer.send(&crate::support::notification(
        "$/cancel_request",
        json!({"requestId": 1}),
    ))
    .await;
    let started = std::time::Instant::now();
    let answer = peer.recv().await;
    assert_eq!(
        answer["error"]["code"],
        codes::REQUEST_CANCELLED,
        "{answer}"
    );
    assert!(
        started.elapsed() >= FORWARDED_CANCEL_GRACE,
        "answered before the grace"
    );
    assert!(crate::support::hang_up(peer, served).await.is_empty());
    next.abort();
    silent.abort();
}
