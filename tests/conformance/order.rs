//! Guarantee 1, order: what one task sends leaves in the order it was sent; a notification
//! sent before a response is on the wire before that response; incoming messages are
//! dispatched in arrival order, and a handler finishes before the next message is dispatched.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use serde_json::{Value, json};
use switchboard::{Error, Lines, SentRequest, UntypedMessage, UntypedRole};

use crate::support::{
    guard, notification, pipe, poll_once, poll_to_end, request, result_of, serve,
};

/// The values of `"n"` in `lines` sent by `sender`, in wire order.
fn sequence_of(lines: &[Value], sender: &str) -> Vec<u64> {
    lines
        .iter()
        .filter(|line| line["params"]["sender"] == sender)
        .map(|line| line["params"]["n"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn what_one_task_sends_leaves_in_send_order() {
    const COUNT: u64 = 60;
    let (mut peer, streams) = pipe();
    // Two senders: the connect_with closure and a task it spawns. Each sends notifications
    // and requests interleaved, yielding now and then; each one's messages must leave in its
    // own order, whatever the interleaving between the two.
    let client = UntypedRole.builder().connect_with(streams, async |cx| {
        let spawned = cx.clone();
        cx.spawn(async move {
            for n in 0..COUNT {
                spawned.send_notification(UntypedMessage::new(
                    "note",
                    json!({"sender": "task", "n": n}),
                )?)?;
                if n % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            Ok(())
        });
        let mut requests: Vec<(u64, SentRequest<Value>)> = Vec::new();
        for n in 0..COUNT {
            let params = json!({"sender": "main", "n": n});
            if n % 3 == 0 {
                requests.push((n, cx.send_request(UntypedMessage::new("req", params)?)));
            } else {
                cx.send_notification(UntypedMessage::new("note", params)?)?;
            }
            // Yield now and then: the writer takes what is queued so far, and the spawned
            // task's messages interleave with these.
            if n % 5 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let mut answers = Vec::new();
        for (n, sent) in requests {
            answers.push((n, sent.block_task().await?));
        }
        Ok::<_, Error>(answers)
    });
    let client = tokio::spawn(client);

    let mut lines = Vec::new();
    for _ in 0..2 * COUNT {
        lines.push(peer.recv().await);
    }
    let expected: Vec<u64> = (0..COUNT).collect();
    assert_eq!(sequence_of(&lines, "main"), expected);
    assert_eq!(sequence_of(&lines, "task"), expected);
    // Requests carry ids, notifications do not; answer the requests in reverse order.
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("id").is_some())
        .collect();
    assert_eq!(requests.len(), COUNT.div_ceil(3) as usize);
    for line in requests.iter().rev() {
        assert_eq!(line["method"], "req");
        let answer =
            json!({"jsonrpc": "2.0", "id": line["id"], "result": {"echo": line["params"]["n"]}});
        peer.send(&answer.to_string()).await;
    }
    let answers = guard("the client", client).await.unwrap().unwrap();
    for (n, answer) in answers {
        assert_eq!(
            answer,
            json!({"echo": n}),
            "the answer reached the wrong request"
        );
    }
}

#[tokio::test]
async fn a_notification_sent_before_the_response_is_on_the_wire_before_it() {
    let server =
        UntypedRole
            .builder()
            .on_receive_request(async |request: UntypedMessage, responder, cx| {
                let send_all = move |cx: switchboard::ConnectionTo<UntypedRole>| {
                    cx.send_notification(UntypedMessage::new("progress", json!({"step": 1}))?)?;
                    cx.send_request(UntypedMessage::new("peer/ask", json!({}))?)
                        .on_receiving_result(async |_| Ok(()));
                    cx.send_notification(UntypedMessage::new("progress", json!({"step": 2}))?)?;
                    responder.respond(json!("done"))
                };
                if request.method() == "work_in_task" {
                    // The same sequence, sent later from a spawned task.
                    let task_cx = cx.clone();
                    cx.spawn(async move { send_all(task_cx) });
                    Ok(())
                } else {
                    send_all(cx)
                }
            });
    let (mut peer, server) = serve(server);
    for (id, method) in [(1, "work"), (2, "work_in_task")] {
        peer.send(&request(json!(id), method, json!({}))).await;
        assert_eq!(
            peer.recv_line().await,
            r#"{"jsonrpc":"2.0","method":"progress","params":{"step":1}}"#
        );
        let ask = peer.recv().await;
        assert_eq!(ask["method"], "peer/ask");
        assert_eq!(
            peer.recv_line().await,
            r#"{"jsonrpc":"2.0","method":"progress","params":{"step":2}}"#
        );
        assert_eq!(
            peer.recv_line().await,
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"done"}}"#)
        );
        let reply = json!({"jsonrpc": "2.0", "id": ask["id"], "result": null});
        peer.send(&reply.to_string()).await;
    }
    assert_eq!(
        crate::support::hang_up(peer, server).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn incoming_messages_are_dispatched_in_arrival_order() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (on_note, on_request) = (Arc::clone(&log), Arc::clone(&log));
    let server = UntypedRole
        .builder()
        .on_receive_notification(move |note: UntypedMessage, _cx| {
            let n = note.params_value().unwrap()["n"].clone();
            on_note.lock().unwrap().push(format!("note {n}"));
            async { Ok(()) }
        })
        .on_receive_request(move |request: UntypedMessage, responder, _cx| {
            let log = Arc::clone(&on_request);
            async move {
                if request.method() == "order" {
                    let seen = log.lock().unwrap().clone();
                    return responder.respond(json!(seen));
                }
                let n = request.params_value()?["n"].clone();
                log.lock().unwrap().push(format!("req {n}"));
                responder.respond(n)
            }
        });
    let (mut peer, server) = serve(server);

    // All frames in one write: the connection sees them arrive together.
    let mut burst = String::new();
    let mut expected = Vec::new();
    for n in 0..100 {
        if n % 4 == 0 {
            burst += &request(json!(n), "req", json!({"n": n}));
            expected.push(format!("req {n}"));
        } else {
            burst += &notification("note", json!({"n": n}));
            expected.push(format!("note {n}"));
        }
        burst.push('\n');
    }
    peer.send_bytes(burst.as_bytes()).await;
    peer.send(&request(json!("last"), "order", json!({}))).await;

    for n in (0..100).step_by(4) {
        assert_eq!(result_of(&peer.recv().await, json!(n)), &json!(n));
    }
    let order = peer.recv().await;
    assert_eq!(result_of(&order, json!("last")), &json!(expected));
    assert!(crate::support::hang_up(peer, server).await.is_empty());
}

/// Drives the connection by hand: while the first handler is parked on a oneshot the test
/// holds, polling the connection again neither dispatches the second message nor pulls it
/// from the transport.
#[tokio::test]
async fn a_handler_finishes_before_the_next_message_is_dispatched() {
    let events = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let pulled = Arc::new(AtomicUsize::new(0));

    let frames = [
        request(json!(1), "first", json!({})),
        request(json!(2), "second", json!({})),
        notification("third", json!({})),
    ];
    let counter = Arc::clone(&pulled);
    let incoming = futures::stream::iter(frames)
        .inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .map(Ok::<_, io::Error>);
    let (out, mut written) = mpsc::unbounded::<String>();

    let (on_request, on_note) = (Arc::clone(&events), Arc::clone(&events));
    let server = UntypedRole
        .builder()
        .on_receive_request(move |request: UntypedMessage, responder, _cx| {
            let events = Arc::clone(&on_request);
            let released = Arc::clone(&released);
            async move {
                if request.method() == "first" {
                    events.lock().unwrap().push("first: start");
                    let wait = released.lock().unwrap().take().unwrap();
                    wait.await.unwrap();
                    events.lock().unwrap().push("first: end");
                } else {
                    events.lock().unwrap().push("second");
                }
                responder.respond(json!(request.method()))
            }
        })
        .on_receive_notification(move |_: UntypedMessage, _cx| {
            on_note.lock().unwrap().push("third");
            async { Ok(()) }
        });
    let mut connection = Box::pin(server.connect_to(Lines::new(out, incoming)));

    for _ in 0..5 {
        assert!(poll_once(&mut connection).is_pending());
        assert_eq!(*events.lock().unwrap(), ["first: start"]);
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            1,
            "read past a running handler"
        );
        assert!(written.try_recv().is_err(), "nothing is answered yet");
    }

    release.send(()).unwrap();
    poll_to_end(&mut connection).unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        ["first: start", "first: end", "second", "third"]
    );
    // The connection's future is done, so it dropped the sink: the stream ends.
    let answers: Vec<String> = written.collect().await;
    assert_eq!(
        answers,
        [
            r#"{"jsonrpc":"2.0","id":1,"result":"first"}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":"second"}"#
        ]
    );
}
