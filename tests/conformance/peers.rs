//! Peers: an endpoint of role `Member` reaches the peers `Left` and `Right` through its
//! counterpart, a `Relay`, which tells them apart by the method prefixes `"left/"` and
//! `"right/"`.
//!
//! This file proves that the per-peer handlers (`on_receive_request_from`,
//! `on_receive_notification_from`, `on_receive_dispatch_from`) see only their peer's messages,
//! unwrapped, and answer under the wrapped request's id; that the relay's own messages (no
//! prefix) reach the plain handlers only; that a peer handler which does not claim a message
//! passes it on with its wire method intact; that `send_request_to`, `send_notification_to`
//! and `send_proxied_message_to` put the prefixed method on the wire and route the answer
//! back; and that a request nobody serves gets -32601 naming the method as it was on the wire.

use std::future::{Future, ready};
use std::io;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::channel::mpsc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::{
    Builder, Channel, ConnectionTo, Dispatch, Error, Handler, JsonRpcNotification, JsonRpcRequest,
    JsonRpcResponse, Lines, Role, UntypedMessage,
};
use switchboard_examples::relay::{Left, Member, Relay, Right};

use crate::support::{guard, request, result_of};

// The messages and helpers below are shared with `forwarding.rs`.

#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ping", response = Pong)]
pub(crate) struct Ping {
    pub(crate) n: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
pub(crate) struct Pong {
    pub(crate) n: u64,
    pub(crate) by: String,
}

pub(crate) fn pong(n: u64, by: impl Into<String>) -> Pong {
    Pong { n, by: by.into() }
}

#[derive(Debug, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "note")]
pub(crate) struct Note {
    pub(crate) text: String,
}

/// What handlers saw, in order, shared with the test.
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// A notification handler that logs `"<method> <params>"` for every notification.
fn log_notifications<Cp: Role>(
    log: &Log,
) -> impl FnMut(UntypedMessage, ConnectionTo<Cp>) -> std::future::Ready<Result<(), Error>> + Send + 'static
{
    let log = Arc::clone(log);
    move |notification, _cx| {
        let params = notification.params_value().unwrap();
        push(&log, format!("{} {params}", notification.method()));
        ready(Ok(()))
    }
}

pub(crate) fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

pub(crate) fn snapshot(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// An untyped message with JSON params.
pub(crate) fn message(method: &str, params: Value) -> UntypedMessage {
    UntypedMessage::new(method, params).unwrap()
}

/// Runs `member` (`connect_to`) against a relay whose `main` the test writes; returns what
/// `main` returns, after checking that the member ended cleanly when the relay hung up.
async fn with_relay<H, T, F, Fut>(member: Builder<Member, H>, main: F) -> T
where
    H: Handler<Relay> + 'static,
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Member>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (member_end, relay_end) = Channel::duplex();
    let relay = Relay.builder().name("relay").connect_with(relay_end, main);
    let member = member.name("member").connect_to(member_end);
    let (answer, served) = guard("the relay and the member", async {
        tokio::join!(relay, member)
    })
    .await;
    served.expect("the member's connect_to failed");
    answer.expect("the relay's main failed")
}

/// A member whose `Left` handler answers `ping` with `by: "left"`, and whose plain request
/// handler answers anything with the method and params it saw.
fn member_with_left_and_plain(seen_by_left: Log) -> Builder<Member, impl Handler<Relay>> {
    Member
        .builder()
        .on_receive_request_from(Left, move |ping: Ping, responder, _cx| {
            push(&seen_by_left, format!("left ping {}", ping.n));
            ready(responder.respond(pong(ping.n, "left")))
        })
        .on_receive_request(|request: UntypedMessage, responder, _cx| {
            ready(request.params_value().and_then(|params| {
                responder.respond(json!({"plain": request.method(), "params": params}))
            }))
        })
}

#[tokio::test]
async fn left_requests_reach_the_left_handler_unwrapped_and_nothing_else_does() {
    let seen_by_left = Log::default();
    let member = member_with_left_and_plain(Arc::clone(&seen_by_left));
    let answers = with_relay(member, async |cx| {
        let mut answers = Vec::new();
        for (method, n) in [
            ("left/ping", 1),
            ("right/ping", 2),
            ("ping", 3),
            ("leftping", 4),
        ] {
            let sent = cx.send_request(message(method, json!({"n": n})));
            answers.push(sent.block_task().await?);
        }
        Ok(answers)
    })
    .await;
    assert_eq!(
        answers,
        [
            json!({"n": 1, "by": "left"}),
            json!({"plain": "right/ping", "params": {"n": 2}}),
            json!({"plain": "ping", "params": {"n": 3}}),
            json!({"plain": "leftping", "params": {"n": 4}}),
        ]
    );
    assert_eq!(snapshot(&seen_by_left), ["left ping 1"]);
}

/// The test's end of a `Lines` transport: it writes and reads JSON text itself.
struct RawRelay {
    to_member: mpsc::UnboundedSender<io::Result<String>>,
    from_member: mpsc::UnboundedReceiver<String>,
}

type RawLines = Lines<mpsc::UnboundedSender<String>, mpsc::UnboundedReceiver<io::Result<String>>>;

fn raw_relay() -> (RawRelay, RawLines) {
    let (to_member, member_reads) = mpsc::unbounded();
    let (member_writes, from_member) = mpsc::unbounded();
    let relay = RawRelay {
        to_member,
        from_member,
    };
    (relay, Lines::new(member_writes, member_reads))
}

impl RawRelay {
    fn send(&self, line: String) {
        self.to_member.unbounded_send(Ok(line)).unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = guard("the member's next line", self.from_member.next())
            .await
            .expect("the member's output ended");
        serde_json::from_str(&line).unwrap()
    }
}

#[tokio::test]
async fn a_peer_request_is_answered_under_the_id_of_the_wrapped_request() {
    let member = Member
        .builder()
        .on_receive_request_from(Left, |ping: Ping, responder, _cx| {
            ready(responder.respond(pong(ping.n, "left")))
        })
        .on_receive_request_from(Right, |ping: Ping, responder, _cx| {
            ready(responder.respond(pong(ping.n, "right")))
        });
    let (mut relay, lines) = raw_relay();
    let served = tokio::spawn(member.connect_to(lines));

    relay.send(request(json!("relay-7"), "left/ping", json!({"n": 5})));
    let answer = relay.recv().await;
    assert_eq!(
        result_of(&answer, json!("relay-7")),
        &json!({"n": 5, "by": "left"})
    );
    relay.send(request(json!(8), "right/ping", json!({"n": 6})));
    let answer = relay.recv().await;
    assert_eq!(
        result_of(&answer, json!(8)),
        &json!({"n": 6, "by": "right"})
    );

    drop(relay.to_member);
    guard("the member's connect_to", served)
        .await
        .unwrap()
        .expect("the member ended with an error");
    assert_eq!(
        relay.from_member.next().await,
        None,
        "nothing more was written"
    );
}

#[tokio::test]
async fn right_notifications_reach_only_the_right_handler_unwrapped() {
    let log = Log::default();
    let member = Member
        .builder()
        .on_receive_notification_from(Right, {
            let log = Arc::clone(&log);
            move |note: Note, _cx| {
                push(&log, format!("right: {}", note.text));
                ready(Ok(()))
            }
        })
        .on_receive_notification({
            let log = Arc::clone(&log);
            move |notification: UntypedMessage, _cx| {
                push(&log, format!("plain: {}", notification.method()));
                ready(Ok(()))
            }
        })
        .on_receive_request({
            let log = Arc::clone(&log);
            move |_report: UntypedMessage, responder, _cx| {
                ready(responder.respond(json!(snapshot(&log))))
            }
        });
    let seen = with_relay(member, async |cx| {
        for (method, text) in [
            ("right/note", "a"),
            ("left/note", "b"),
            ("note", "c"),
            ("right/note", "d"),
        ] {
            cx.send_notification(message(method, json!({"text": text})))?;
        }
        // Dispatch is in arrival order, so the report sees every notification above.
        cx.send_request(message("report", json!({})))
            .block_task()
            .await
    })
    .await;
    assert_eq!(
        seen,
        json!(["right: a", "plain: left/note", "plain: note", "right: d"])
    );
}

#[tokio::test]
async fn dispatch_from_left_takes_left_requests_and_notifications() {
    let log = Log::default();
    let member = Member
        .builder()
        .on_receive_dispatch_from(Left, {
            let log = Arc::clone(&log);
            move |dispatch: Dispatch<Ping, Note, Relay>, _cx| {
                ready(match dispatch {
                    Dispatch::Request(ping, responder) => {
                        push(&log, format!("left ping {}", ping.n));
                        responder.respond(pong(ping.n, "left dispatch"))
                    }
                    Dispatch::Notification(note) => {
                        push(&log, format!("left note {}", note.text));
                        Ok(())
                    }
                    Dispatch::Response(..) => unreachable!("typed handlers never see responses"),
                })
            }
        })
        .on_receive_notification({
            let log = Arc::clone(&log);
            move |notification: UntypedMessage, _cx| {
                push(&log, format!("plain {}", notification.method()));
                ready(Ok(()))
            }
        })
        .on_receive_request({
            let log = Arc::clone(&log);
            move |request: UntypedMessage, responder, _cx| {
                ready(responder.respond(json!({"plain": request.method(), "log": snapshot(&log)})))
            }
        });
    let (left, right, report) = with_relay(member, async |cx| {
        cx.send_notification(message("left/note", json!({"text": "x"})))?;
        let left = cx.send_request(message("left/ping", json!({"n": 4})));
        cx.send_notification(message("right/note", json!({"text": "y"})))?;
        let right = cx.send_request(message("right/ping", json!({"n": 5})));
        let report = cx.send_request(message("report", json!({})));
        Ok((
            left.block_task().await?,
            right.block_task().await?,
            report.block_task().await?,
        ))
    })
    .await;
    assert_eq!(left, json!({"n": 4, "by": "left dispatch"}));
    assert_eq!(right["plain"], "right/ping");
    assert_eq!(
        report["log"],
        json!(["left note x", "left ping 4", "plain right/note"])
    );
}

#[tokio::test]
async fn a_peer_handler_that_does_not_claim_passes_the_message_on_as_it_arrived() {
    let log = Log::default();
    let member = Member
        .builder()
        // Typed for `ping` and `note`: `left/other` is unwrapped, offered, refused and
        // must be re-wrapped before the next handler sees it.
        .on_receive_request_from(Left, |ping: Ping, responder, _cx| {
            ready(responder.respond(pong(ping.n, "left")))
        })
        .on_receive_notification_from(Left, |_note: Note, _cx| {
            ready(Err(Error::internal_error("left notes are not sent here")))
        })
        .on_receive_dispatch_from(Right, |_dispatch: Dispatch<Ping, Note, Relay>, _cx| {
            ready(Err(Error::internal_error("right pings are not sent here")))
        })
        .on_receive_notification(log_notifications(&log))
        .on_receive_request({
            let log = Arc::clone(&log);
            move |request: UntypedMessage, responder, _cx| {
                ready(request.params_value().and_then(|params| {
                    responder.respond(json!({
                        "method": request.method(),
                        "params": params,
                        "log": snapshot(&log),
                    }))
                }))
            }
        });
    let (left, right, left_ping) = with_relay(member, async |cx| {
        cx.send_notification(message("left/other-note", json!({"y": 1})))?;
        cx.send_notification(message("right/other-note", json!({"y": 2})))?;
        let left = cx.send_request(message("left/other", json!({"x": 1})));
        let right = cx.send_request(message("right/other", json!({"x": 2})));
        let left_ping = cx.send_request(message("left/ping", json!({"n": 3})));
        Ok((
            left.block_task().await?,
            right.block_task().await?,
            left_ping.block_task().await?,
        ))
    })
    .await;
    assert_eq!(
        left,
        json!({
            "method": "left/other",
            "params": {"x": 1},
            "log": ["left/other-note {\"y\":1}", "right/other-note {\"y\":2}"],
        })
    );
    assert_eq!(right["method"], "right/other");
    assert_eq!(right["params"], json!({"x": 2}));
    assert_eq!(left_ping, json!({"n": 3, "by": "left"}));
}

#[tokio::test]
async fn send_request_to_and_send_notification_to_put_the_peer_prefix_on_the_wire() {
    let (member_end, relay_end) = Channel::duplex();
    let log = Log::default();
    // The relay answers a ping with the method it saw on the wire, and a report with the
    // notifications it saw.
    let relay = Relay
        .builder()
        .on_receive_notification(log_notifications(&log))
        .on_receive_request({
            let log = Arc::clone(&log);
            move |request: UntypedMessage, responder, _cx| {
                ready(if request.method() == "report" {
                    responder.respond(json!(snapshot(&log)))
                } else {
                    request.params_value().and_then(|params| {
                        responder.respond(json!({"n": params["n"], "by": request.method()}))
                    })
                })
            }
        })
        .connect_to(relay_end);
    let member = Member.builder().connect_with(member_end, async |cx| {
        cx.send_notification_to(
            Right,
            Note {
                text: "hi right".into(),
            },
        )?;
        let left = cx.send_request_to(Left, Ping { n: 9 });
        cx.send_notification_to(
            Left,
            Note {
                text: "hi left".into(),
            },
        )?;
        let right = cx.send_request_to(Right, Ping { n: 10 });
        let report = cx.send_request(message("report", json!({})));
        Ok((
            left.block_task().await?,
            right.block_task().await?,
            report.block_task().await?,
        ))
    });
    let (answers, served) = guard("the member and the relay", async {
        tokio::join!(member, relay)
    })
    .await;
    served.expect("the relay's connect_to failed");
    let (left, right, report) = answers.expect("the member's main failed");
    assert_eq!(left, pong(9, "left/ping"));
    assert_eq!(right, pong(10, "right/ping"));
    assert_eq!(
        report,
        json!([
            "right/note {\"text\":\"hi right\"}",
            "left/note {\"text\":\"hi left\"}"
        ])
    );
}

#[tokio::test]
async fn send_proxied_message_to_wraps_a_forwarded_message_and_routes_its_answer_back() {
    let (member_end, relay_end) = Channel::duplex();
    // The member forwards whatever the relay itself sends: requests to Left, notifications
    // to Right. The relay answers what comes back wrapped.
    let member = Member
        .builder()
        .on_receive_request(
            |request: UntypedMessage, responder, cx: ConnectionTo<Relay>| {
                ready(cx.send_proxied_message_to(
                    Left,
                    Dispatch::<UntypedMessage, UntypedMessage>::Request(request, responder),
                ))
            },
        )
        .on_receive_notification(|notification: UntypedMessage, cx: ConnectionTo<Relay>| {
            ready(cx.send_proxied_message_to(
                Right,
                Dispatch::<UntypedMessage, UntypedMessage>::Notification(notification),
            ))
        })
        .connect_to(member_end);
    let log = Log::default();
    let relay = Relay
        .builder()
        .on_receive_notification({
            let log = Arc::clone(&log);
            move |notification: UntypedMessage, _cx| {
                push(&log, notification.method());
                ready(Ok(()))
            }
        })
        .on_receive_request({
            let log = Arc::clone(&log);
            move |request: UntypedMessage, responder, _cx| {
                ready(request.params_value().and_then(|params| {
                    responder.respond(json!({
                        "wire": request.method(),
                        "params": params,
                        "notes": snapshot(&log),
                    }))
                }))
            }
        })
        .connect_with(relay_end, async |cx| {
            cx.send_notification(message("tell", json!({})))?;
            cx.send_request(message("ask", json!({"q": 1})))
                .block_task()
                .await
        });
    let (answer, served) = guard("the member and the relay", async {
        tokio::join!(relay, member)
    })
    .await;
    served.expect("the member's connect_to failed");
    assert_eq!(
        answer.expect("the relay's request failed"),
        json!({"wire": "left/ask", "params": {"q": 1}, "notes": ["right/tell"]})
    );
}

#[tokio::test]
async fn a_request_from_a_peer_nobody_handles_gets_method_not_found() {
    let seen_by_left = Log::default();
    let member = Member.builder().on_receive_request_from(Left, {
        let seen_by_left = Arc::clone(&seen_by_left);
        move |ping: Ping, responder, _cx| {
            push(&seen_by_left, format!("left ping {}", ping.n));
            ready(responder.respond(pong(ping.n, "left")))
        }
    });
    let answers = with_relay(member, async |cx| {
        let mut answers = Vec::new();
        for method in ["right/ping", "left/unknown", "left/ping"] {
            let sent = cx.send_request(message(method, json!({"n": 1})));
            answers.push(sent.block_task().await);
        }
        Ok(answers)
    })
    .await;
    let [right, unknown, ping] = <[_; 3]>::try_from(answers).unwrap();
    for (answer, method) in [(right, "right/ping"), (unknown, "left/unknown")] {
        let error = answer.expect_err("nobody serves this request");
        assert_eq!(error.code(), codes::METHOD_NOT_FOUND, "{method}: {error}");
        assert_eq!(
            error.data(),
            Some(&json!({"method": method})),
            "the error names the method as it was on the wire"
        );
    }
    assert_eq!(ping.unwrap(), json!({"n": 1, "by": "left"}));
    assert_eq!(snapshot(&seen_by_left), ["left ping 1"]);
}

#[tokio::test]
async fn a_request_to_a_peer_the_relay_does_not_serve_gets_method_not_found() {
    let (member_end, relay_end) = Channel::duplex();
    let relay = Relay.builder().connect_to(relay_end);
    let member = Member.builder().connect_with(member_end, async |cx| {
        Ok(cx.send_request_to(Left, Ping { n: 1 }).block_task().await)
    });
    let (answer, served) = guard("the member and the relay", async {
        tokio::join!(member, relay)
    })
    .await;
    served.expect("the relay's connect_to failed");
    let error = answer
        .expect("the member's main failed")
        .expect_err("the relay has no handler for left/ping");
    assert_eq!(error.code(), codes::METHOD_NOT_FOUND);
    assert_eq!(error.data(), Some(&json!({"method": "left/ping"})));
}
