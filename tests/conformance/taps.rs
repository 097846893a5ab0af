//! What a forwarder or a conductor uses to watch a connection: `ConnectionTo::input_ended`,
//! `SentRequest::map_err`, `Transport::inspect` (and the `Inspect` component), and
//! `Transport::on_input_end`.

use std::future::{Future, ready};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::channel::{mpsc, oneshot};
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::transport::Transport;
use switchboard::transport::{FrameDirection, Inspect, TransportConfig};
use switchboard::{Channel, ConnectTo, Error, Lines, Responder, Role, UntypedMessage, UntypedRole};

use crate::support::{guard, off_runtime, pipe, poll_once, poll_to_end, request};

/// A peer on `end` that answers every request `"here"` until one named `wait` comes: it takes
/// that one and hangs up without answering it. Its main returns the responder, so that
/// nothing answers the request on its way out.
fn hangs_up_on_first_request(
    end: Channel,
) -> impl Future<Output = Result<Responder<Value>, Error>> + Send + 'static {
    let (arrived_tx, arrived) = oneshot::channel();
    let mut arrived_tx = Some(arrived_tx);
    UntypedRole
        .builder()
        .on_receive_request(move |request: UntypedMessage, responder, _cx| {
            if request.method() != "wait" {
                return ready(responder.respond(json!("here")));
            }
            if let Some(arrived_tx) = arrived_tx.take() {
                let _ = arrived_tx.send(responder);
            }
            ready(Ok(()))
        })
        .connect_with(end, async move |_cx| {
            arrived
                .await
                .map_err(|_| Error::internal_error("no request arrived"))
        })
}

fn message(method: &str) -> UntypedMessage {
    UntypedMessage::new(method, json!({})).unwrap()
}

// ---- ConnectionTo::input_ended ----

#[tokio::test]
async fn input_ended_resolves_when_the_peer_hangs_up_with_requests_failed_by_then() {
    let (ours_end, theirs_end) = Channel::duplex();
    let peer = tokio::spawn(hangs_up_on_first_request(theirs_end));
    let ours = UntypedRole.builder().connect_with(ours_end, async |cx| {
        let mut ended = Box::pin(cx.input_ended());
        // The peer answers this one, and hangs up only at `wait`: the input is still open.
        let here = cx.send_request(message("probe")).block_task().await?;
        assert_eq!(here, "here");
        assert!(
            poll_once(&mut ended).is_pending(),
            "ended while the peer is there"
        );

        let waiting = cx.send_request(message("wait")).block_task();
        ended.await;
        // Requests this side sent failed before `input_ended` resolved.
        match waiting.now_or_never() {
            Some(Err(error)) => Ok(error),
            other => panic!("the request was not failed when the input ended: {other:?}"),
        }
    });
    let failed = guard("our connection", ours).await.unwrap();
    assert!(failed.is_connection_closed(), "{failed}");
    let held = guard("the peer", peer).await.unwrap();
    assert!(held.is_ok(), "the peer never got `wait`");
}

#[tokio::test]
async fn input_ended_resolves_when_the_connection_ends_while_the_peer_stays() {
    let (ours_end, theirs_end) = Channel::duplex();
    // The peer serves until its input ends: it does not hang up first.
    let peer = tokio::spawn(UntypedRole.builder().connect_to(theirs_end));
    let (noticed, ended) = oneshot::channel();
    let ours = UntypedRole.builder().connect_with(ours_end, async |cx| {
        let ended = cx.input_ended();
        tokio::spawn(async move {
            ended.await;
            let _ = noticed.send(());
        });
        // The connection ends when this closure returns.
        Ok(())
    });
    guard("our connection", ours).await.unwrap();
    guard("input_ended after the connection ended", ended)
        .await
        .expect("the waiting task was dropped before input_ended resolved");
    guard("the peer", peer).await.unwrap().unwrap();
}

#[tokio::test]
async fn input_ended_resolves_when_reading_fails() {
    let (to_us, incoming) = mpsc::unbounded::<io::Result<String>>();
    let (outgoing, _from_us) = mpsc::unbounded::<String>();
    let saw_end = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&saw_end);
    let ours =
        UntypedRole
            .builder()
            .connect_with(Lines::new(outgoing, incoming), async move |cx| {
                to_us
                    .unbounded_send(Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")))
                    .unwrap();
                cx.input_ended().await;
                seen.store(true, Ordering::SeqCst);
                Ok(())
            });
    // The read failure is what the connection returns; `input_ended` resolved before that.
    let error = guard("our connection", ours).await.unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    assert!(saw_end.load(Ordering::SeqCst));
}

// ---- SentRequest::map_err ----

#[tokio::test]
async fn map_err_rewrites_error_answers_and_leaves_results_alone() {
    let (client_end, server_end) = Channel::duplex();
    let server = UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, _cx| {
            match request.method() {
                "fine" => responder.respond(json!("all good")),
                _ => responder.respond_with_error(Error::new(-32000, "no such thing")),
            }
        })
        .connect_to(server_end);
    let server = tokio::spawn(server);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let client = UntypedRole
        .builder()
        .connect_with(client_end, async move |cx| {
            let fine = cx
                .send_request(message("fine"))
                .map_err(move |error| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    error
                })
                .block_task()
                .await;
            let refused = cx
                .send_request(message("refused"))
                .map_err(|error| {
                    Error::new(
                        -32001,
                        format!("mapped ({}): {}", error.code(), error.message()),
                    )
                })
                .block_task()
                .await;
            Ok((fine, refused))
        });
    let (fine, refused) = guard("the client", client).await.unwrap();
    assert_eq!(fine.unwrap(), json!("all good"));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "map_err ran on a result");
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), -32001);
    assert_eq!(refused.message(), "mapped (-32000): no such thing");
    guard("the server", server).await.unwrap().unwrap();
}

#[tokio::test]
async fn map_err_sees_the_connection_close_under_a_pending_request() {
    let (ours_end, theirs_end) = Channel::duplex();
    let peer = tokio::spawn(hangs_up_on_first_request(theirs_end));
    let ours = UntypedRole.builder().connect_with(ours_end, async |cx| {
        let failed = cx
            .send_request(message("wait"))
            .map_err(|error| {
                Error::new(
                    -32002,
                    format!("gone ({}): {}", error.code(), error.message()),
                )
            })
            .block_task()
            .await;
        Ok((failed, cx))
    });
    let (failed, cx) = guard("our connection", ours).await.unwrap();
    let failed = failed.unwrap_err();
    assert_eq!(failed.code(), -32002);
    let closed = format!("gone ({}): ", codes::CONNECTION_CLOSED);
    assert!(failed.message().starts_with(&closed), "{failed}");
    let held = guard("the peer", peer).await.unwrap();
    assert!(held.is_ok(), "the peer never got `wait`");

    // A request that cannot even be sent (the connection is gone) fails through it too.
    let unsent = cx
        .send_request(message("late"))
        .map_err(|error| Error::new(-32003, format!("unsent ({})", error.code())))
        .block_task();
    let unsent = guard("a request on a closed connection", unsent)
        .await
        .unwrap_err();
    assert_eq!(unsent.code(), -32003, "{unsent}");
}

// ---- Transport::inspect and Inspect ----

/// What a tap saw: each frame with its direction, as text.
type Seen = Arc<Mutex<Vec<(FrameDirection, String)>>>;

/// A tap that records into a fresh [`Seen`].
fn recorder() -> (Seen, impl Fn(FrameDirection, &[u8]) + Send + Sync + 'static) {
    let seen = Seen::default();
    let log = Arc::clone(&seen);
    let tap = move |direction, frame: &[u8]| {
        let text = String::from_utf8(frame.to_vec()).expect("a frame is UTF-8");
        log.lock().unwrap().push((direction, text));
    };
    (seen, tap)
}

/// The frames of `seen` that went `direction`.
fn frames(seen: &Seen, direction: FrameDirection) -> Vec<String> {
    let seen = seen.lock().unwrap();
    seen.iter()
        .filter(|(way, _)| *way == direction)
        .map(|(_, frame)| frame.clone())
        .collect()
}

#[tokio::test]
async fn inspect_shows_every_frame_both_ways_in_order() {
    let (client_end, server_end) = Channel::duplex();
    let (client_seen, client_tap) = recorder();
    let (server_seen, server_tap) = recorder();
    // The server's transport is inspected twice: both taps see everything.
    let (second_seen, second_tap) = recorder();
    let server = UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, cx| {
            cx.send_notification(UntypedMessage::new(
                "progress",
                json!({"of": request.method()}),
            )?)?;
            responder.respond(json!({"echo": request.method()}))
        })
        .connect_to(Inspect::new(
            Inspect::new(server_end, server_tap),
            second_tap,
        ));
    let server = tokio::spawn(server);
    let client =
        UntypedRole
            .builder()
            .connect_with(Inspect::new(client_end, client_tap), async |cx| {
                cx.send_notification(message("hello"))?;
                let first = cx.send_request(message("one"));
                let second = cx.send_request(message("two"));
                cx.send_notification(message("bye"))?;
                Ok((first.block_task().await?, second.block_task().await?))
            });
    let (one, two) = guard("the client", client).await.unwrap();
    assert_eq!(
        (one["echo"].as_str(), two["echo"].as_str()),
        (Some("one"), Some("two"))
    );
    guard("the server", server).await.unwrap().unwrap();

    let sent = frames(&client_seen, FrameDirection::Sent);
    let methods: Vec<Value> = sent
        .iter()
        .map(|frame| serde_json::from_str::<Value>(frame).unwrap()["method"].clone())
        .collect();
    assert_eq!(methods, ["hello", "one", "two", "bye"]);
    // Each side's sent frames are the other side's received ones, byte for byte, in order.
    assert_eq!(frames(&server_seen, FrameDirection::Received), sent);
    let answered = frames(&server_seen, FrameDirection::Sent);
    assert_eq!(answered.len(), 4, "{answered:?}");
    assert_eq!(frames(&client_seen, FrameDirection::Received), answered);
    assert_eq!(*second_seen.lock().unwrap(), *server_seen.lock().unwrap());
    for (_, frame) in client_seen.lock().unwrap().iter() {
        assert!(
            !frame.contains('\n'),
            "a frame with its line ending: {frame:?}"
        );
    }
}

#[tokio::test]
async fn inspect_over_byte_streams_shows_each_frame_of_a_batch_once() {
    let (mut peer, streams) = pipe();
    let (seen, tap) = recorder();
    // "burst" makes the server queue four notifications and the answer back to back: the
    // byte transport writes them out in batches, the tap sees them one by one.
    let server = UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, cx| {
            if request.method() == "burst" {
                for i in 0..4 {
                    cx.send_notification(UntypedMessage::new("tick", json!({"i": i}))?)?;
                }
            }
            responder.respond(json!(request.method()))
        })
        .connect_to(Inspect::new(streams, tap));
    let server = tokio::spawn(server);
    let written = [
        request(json!(1), "burst", json!({})),
        request(json!(2), "plain", json!({})),
        request(json!(3), "burst", json!({})),
    ];
    // All three requests in one write: one read, split into frames.
    peer.send_bytes(format!("{}\n", written.join("\n")).as_bytes())
        .await;
    let mut read = Vec::new();
    for _ in 0..(5 + 1 + 5) {
        read.push(peer.recv_line().await);
    }
    peer.close_input();
    guard("the server", server).await.unwrap().unwrap();

    assert_eq!(frames(&seen, FrameDirection::Received), written);
    assert_eq!(frames(&seen, FrameDirection::Sent), read);
    let last: Value = serde_json::from_str(&read[10]).unwrap();
    assert_eq!(last["result"], "burst", "{read:?}");
}

// ---- Transport::on_input_end ----

/// A component whose transport runs `hook` when its input ends.
struct EndHook<C, H> {
    component: C,
    hook: H,
}

impl<R, C, H> ConnectTo<R> for EndHook<C, H>
where
    R: Role,
    C: ConnectTo<R>,
    H: Future<Output = ()> + Send + 'static,
{
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        Ok(self
            .component
            .into_transport(config)?
            .on_input_end(self.hook))
    }
}

#[test]
fn a_pending_request_fails_only_after_the_input_end_hook_finished() {
    // Polled by hand, without a runtime: the test decides what runs when.
    off_runtime(|| {
        let started = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let (open_gate, gate) = oneshot::channel::<()>();
        let hook = {
            let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
            async move {
                started.store(true, Ordering::SeqCst);
                let _ = gate.await;
                finished.store(true, Ordering::SeqCst);
            }
        };
        let (ours_end, theirs_end) = Channel::duplex();
        let mut peer = Box::pin(hangs_up_on_first_request(theirs_end));
        let component = EndHook {
            component: ours_end,
            hook,
        };
        let mut ours = Box::pin(
            UntypedRole
                .builder()
                .connect_with(component, async move |cx| {
                    let failed = cx.send_request(message("wait")).block_task().await;
                    // Read as soon as the request has failed.
                    Ok((failed, finished.load(Ordering::SeqCst)))
                }),
        );

        let mut held = None;
        for _ in 0..100_000 {
            if started.load(Ordering::SeqCst) {
                break;
            }
            if held.is_none()
                && let std::task::Poll::Ready(responder) = poll_once(&mut peer)
            {
                held = Some(responder.expect("the peer failed"));
            }
            assert!(
                poll_once(&mut ours).is_pending(),
                "ended before the hook ran"
            );
        }
        assert!(started.load(Ordering::SeqCst), "the hook never ran");
        // However often the connection is polled, the request waits while the hook does.
        for _ in 0..1_000 {
            assert!(
                poll_once(&mut ours).is_pending(),
                "ended while the hook ran"
            );
        }
        open_gate.send(()).unwrap();
        let (failed, hook_had_finished) = poll_to_end(&mut ours).unwrap();
        assert!(
            hook_had_finished,
            "the request failed before the hook finished"
        );
        assert!(failed.unwrap_err().is_connection_closed());
        drop(held);
    });
}

#[tokio::test]
async fn the_input_end_hook_runs_when_reading_fails_too() {
    let (to_us, incoming) = mpsc::unbounded::<io::Result<String>>();
    let (outgoing, _from_us) = mpsc::unbounded::<String>();
    let ran = Arc::new(AtomicBool::new(false));
    let hook = {
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::SeqCst) }
    };
    let ran_when_failed = Arc::clone(&ran);
    let component = EndHook {
        component: Lines::new(outgoing, incoming),
        hook,
    };
    let (report, reported) = oneshot::channel();
    let ours = UntypedRole
        .builder()
        .connect_with(component, async move |cx| {
            let waiting = cx.send_request(message("never answered"));
            to_us
                .unbounded_send(Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone")))
                .unwrap();
            let failed = waiting.block_task().await;
            // Read as soon as the request has failed.
            let _ = report.send((failed, ran_when_failed.load(Ordering::SeqCst)));
            Ok(())
        });
    // The connection returns the read failure itself.
    let error = guard("our connection", ours).await.unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    let (failed, hook_had_run) = reported.await.expect("the closure reported nothing");
    assert!(hook_had_run, "the request failed before the hook ran");
    assert!(failed.unwrap_err().is_connection_closed());
}
