//! Streams: a request answered by items and then its answer, with a credit window.
//!
//! What each test proves:
//! - `items_arrive_in_order_and_all_before_the_answer`: order, and guarantee 1 for streams.
//! - `the_producer_is_never_more_than_the_window_ahead`: the credit window, by counting.
//! - `without_credits_a_full_buffer_holds_the_producer`: LSP-like conventions, held by the
//!   transport once the caller's buffer is full.
//! - `dropping_the_stream_stops_the_producer`: cancel mid-stream.
//! - `an_error_answer_comes_after_the_items_sent_before_it`.
//! - `a_closed_connection_ends_the_stream_with_an_error` (guarantee 3).
//! - `a_dropped_sink_still_answers_once` (guarantee 4).
//! - `a_producer_waiting_for_credit_fails_when_the_caller_hangs_up` (guarantee 3, the
//!   responder's side).
//! - `through_one_and_three_forwarders_the_window_still_holds`: forwarding, credits relayed.
//! - `a_cancel_crosses_the_forwarders`.
//! - `a_forwarder_translates_between_conventions`: a caller without credits, a responder with.
//!
//! The counting tests run every connection on one `LocalPool` and call `run_until_stalled`:
//! when it returns, nothing can move until the test lets the consumer go on, so what the
//! producer has sent is exactly as far as the window let it. No sleeps, no timing.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use futures::executor::{LocalPool, LocalSpawner, block_on};
use futures::task::LocalSpawnExt;
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::stream::{ItemSink, ItemStream, Streamed, Streaming};
use switchboard::{
    Builder, Channel, ConnectTo, ConnectionTo, Dispatch, Error, Responder, UntypedMessage,
    UntypedRole,
};

/// A server that streams `0..count` to each `count` request and answers `"done"`, counting
/// what it has sent in `sent` and telling `ended` how its producing ended.
fn counting_server(
    sent: Arc<AtomicU64>,
    ended: Option<oneshot::Sender<Result<(), Error>>>,
) -> Builder<UntypedRole, impl switchboard::Handler<UntypedRole>> {
    let mut ended = ended;
    UntypedRole.builder().on_receive_streaming_request(
        move |request: UntypedMessage,
              mut items: ItemSink<u64>,
              responder: Responder<Value>,
              _cx| {
            let sent = Arc::clone(&sent);
            let ended = ended.take();
            async move {
                let count = request.params_value()?["count"].as_u64().unwrap_or(0);
                let mut outcome = Ok(());
                for n in 0..count {
                    if let Err(error) = items.send(n).await {
                        outcome = Err(error);
                        break;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                }
                let failed = outcome.is_err();
                if let Some(ended) = ended {
                    let _ = ended.send(outcome);
                }
                if failed {
                    return Ok(());
                }
                responder.respond(json!("done"))
            }
        },
    )
}

fn count(n: u64) -> UntypedMessage {
    UntypedMessage::new("count", json!({ "count": n })).unwrap()
}

/// What a consumer read: the items, then the answer or error (if the stream got that far).
type Read = (Vec<u64>, Option<Result<Value, Error>>);

/// Reads a whole stream: its items, then its answer or error.
async fn read_all(mut stream: ItemStream<u64, Value>) -> Read {
    let mut items = Vec::new();
    let mut last = None;
    while let Some(next) = stream.next().await {
        match next {
            Ok(Streamed::Item(item)) => {
                assert!(last.is_none(), "an item after the answer");
                items.push(item);
            }
            Ok(Streamed::Answer(answer)) => last = Some(Ok(answer)),
            Err(error) => last = Some(Err(error)),
        }
    }
    (items, last)
}

#[test]
fn items_arrive_in_order_and_all_before_the_answer() {
    let (client_end, server_end) = Channel::duplex();
    let server = counting_server(Arc::default(), None);
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        Ok(read_all(cx.send_streaming_request(count(2000), 8)).await)
    });
    let (read, _) = block_on(futures::future::join(client, server.connect_to(server_end)));
    let (items, last) = read.unwrap();
    assert_eq!(items, (0..2000).collect::<Vec<_>>());
    assert_eq!(last.unwrap().unwrap(), json!("done"));
}

/// The consumer's side of a counting test: reads `steps[i]` items, reports how many it has
/// read on `read`, and waits for `go` before each next step; then reads the rest.
async fn stepping_consumer(
    cx: ConnectionTo<UntypedRole>,
    total: u64,
    window: u32,
    mut go: mpsc::Receiver<u64>,
    read: Arc<AtomicU64>,
) -> Result<Read, Error> {
    let mut stream: ItemStream<u64, Value> = cx.send_streaming_request(count(total), window);
    let mut items = Vec::new();
    while let Some(step) = go.next().await {
        for _ in 0..step {
            match stream.next().await {
                Some(Ok(Streamed::Item(item))) => items.push(item),
                other => panic!("expected an item, got {other:?}"),
            }
            read.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (rest, last) = read_all(stream).await;
    items.extend(rest);
    Ok((items, last))
}

/// Spawns a client→server pair (with `forwarders` in between) on `spawner`, the client
/// stepping as told; returns the step sender, the counters and the client's result.
struct Counting {
    go: mpsc::Sender<u64>,
    sent: Arc<AtomicU64>,
    read: Arc<AtomicU64>,
    result: oneshot::Receiver<Read>,
}

fn spawn_counting(spawner: &LocalSpawner, total: u64, window: u32, forwarders: usize) -> Counting {
    let sent = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let (go, steps) = mpsc::channel(16);
    let (done, result) = oneshot::channel();
    let (client_end, mut next_end) = Channel::duplex();
    for _ in 0..forwarders {
        let (towards_server, far_end) = Channel::duplex();
        spawn_forwarder(spawner, next_end, towards_server);
        next_end = far_end;
    }
    let server = counting_server(Arc::clone(&sent), None);
    spawner
        .spawn_local(async move {
            let _ = server.connect_to(next_end).await;
        })
        .unwrap();
    let client = UntypedRole.builder().connect_with(client_end, {
        let read = Arc::clone(&read);
        move |cx| stepping_consumer(cx, total, window, steps, read)
    });
    spawner
        .spawn_local(async move {
            let _ = done.send(client.await.unwrap());
        })
        .unwrap();
    Counting {
        go,
        sent,
        read,
        result,
    }
}

/// A forwarder passing everything from `client_side` on to `server_side`.
fn spawn_forwarder(
    spawner: &LocalSpawner,
    client_side: impl ConnectTo<UntypedRole> + 'static,
    server_side: impl ConnectTo<UntypedRole> + 'static,
) {
    let forwarder = UntypedRole
        .builder()
        .connect_with(server_side, async move |to_server| {
            UntypedRole
                .builder()
                .on_receive_dispatch(move |dispatch: Dispatch, _to_client| {
                    ready(to_server.send_proxied_message(dispatch))
                })
                .connect_to(client_side)
                .await
        });
    spawner
        .spawn_local(async move {
            let _ = forwarder.await;
        })
        .unwrap();
}

fn check_window_held(forwarders: usize) {
    const WINDOW: u32 = 4;
    const TOTAL: u64 = 40;
    let mut pool = LocalPool::new();
    let mut counting = spawn_counting(&pool.spawner(), TOTAL, WINDOW, forwarders);
    // Steps of whole grant batches (half the window), so the bound is met exactly.
    for step in [0, 2, 4, 6, 2] {
        counting.go.try_send(step).unwrap();
        pool.run_until_stalled();
        let read = counting.read.load(Ordering::SeqCst);
        let sent = counting.sent.load(Ordering::SeqCst);
        assert_eq!(
            sent,
            read + u64::from(WINDOW),
            "with {read} read, the producer must have sent exactly the window more ({forwarders} forwarders)"
        );
    }
    counting.go.close_channel();
    pool.run_until_stalled();
    let (items, last) = counting.result.try_recv().unwrap().unwrap();
    assert_eq!(items, (0..TOTAL).collect::<Vec<_>>());
    assert_eq!(last.unwrap().unwrap(), json!("done"));
}

#[test]
fn the_producer_is_never_more_than_the_window_ahead() {
    check_window_held(0);
}

#[test]
fn through_one_and_three_forwarders_the_window_still_holds() {
    check_window_held(1);
    check_window_held(3);
}

#[test]
fn without_credits_a_full_buffer_holds_the_producer() {
    // LSP's shape: no credits, so only the caller's buffer and the transport hold the
    // producer. It stalls with at most the window buffered plus what the queues hold.
    const LSP_LIKE: Streaming = Streaming::items("progress")
        .request_token("partialResultToken")
        .item_value("value");
    const TOTAL: u64 = 100_000;
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let sent = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let (mut go, steps) = mpsc::channel(4);
    let (client_end, server_end) = Channel::duplex();
    let server = counting_server(Arc::clone(&sent), None)
        .streaming(LSP_LIKE)
        .max_outgoing_bytes(4096);
    spawner
        .spawn_local(async move {
            let _ = server.connect_to(server_end).await;
        })
        .unwrap();
    let client = UntypedRole
        .builder()
        .streaming(LSP_LIKE)
        .connect_with(client_end, {
            let read = Arc::clone(&read);
            move |cx| stepping_consumer(cx, TOTAL, 8, steps, read)
        });
    let (done, result) = oneshot::channel();
    spawner
        .spawn_local(async move {
            let _ = done.send(client.await.unwrap());
        })
        .unwrap();
    let mut result = result;
    go.try_send(0).unwrap();
    pool.run_until_stalled();
    let held = sent.load(Ordering::SeqCst);
    assert!(held > 8, "the producer filled at least the window: {held}");
    assert!(
        held < 10_000,
        "with nothing read, the producer must be held (it sent {held} of {TOTAL})"
    );
    // What is held is the window plus what the queues in between hold; reading frees room
    // for no more than what was read.
    go.try_send(3000).unwrap();
    pool.run_until_stalled();
    let after = sent.load(Ordering::SeqCst);
    assert!(
        after > held && after - 3000 <= held + 64,
        "reading 3000 lets at most about 3000 more go: {held} → {after}"
    );
    go.close_channel();
    pool.run_until_stalled();
    let (items, last) = result.try_recv().unwrap().unwrap();
    assert_eq!(items.len() as u64, TOTAL);
    assert!(items.windows(2).all(|pair| pair[0] + 1 == pair[1]));
    assert_eq!(last.unwrap().unwrap(), json!("done"));
}

/// Runs a client that reads `read` items of a long stream and then drops it, against a
/// counting server behind `forwarders`; returns how the producer ended and what it sent.
fn drop_midway(forwarders: usize, read: usize) -> (Result<(), Error>, u64) {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let sent = Arc::new(AtomicU64::new(0));
    let (ended, producer_end) = oneshot::channel();
    let (client_end, mut next_end) = Channel::duplex();
    for _ in 0..forwarders {
        let (towards_server, far_end) = Channel::duplex();
        spawn_forwarder(&spawner, next_end, towards_server);
        next_end = far_end;
    }
    let server = counting_server(Arc::clone(&sent), Some(ended));
    spawner
        .spawn_local(async move {
            let _ = server.connect_to(next_end).await;
        })
        .unwrap();
    let client = UntypedRole
        .builder()
        .connect_with(client_end, async move |cx| {
            let mut stream: ItemStream<u64, Value> = cx.send_streaming_request(count(1_000_000), 4);
            for expected in 0..read as u64 {
                assert!(
                    matches!(stream.next().await, Some(Ok(Streamed::Item(n))) if n == expected)
                );
            }
            drop(stream);
            // Served on until the producer has noticed.
            Ok(producer_end.await.unwrap())
        });
    let outcome = pool.run_until(client).unwrap();
    (outcome, sent.load(Ordering::SeqCst))
}

/// Drops the stream after 5 items, with `forwarders` between: the producer is told
/// (-32800) and has sent no more than those 5 and a window (4).
fn assert_dropping_stops_the_producer(forwarders: usize) {
    let (outcome, sent) = drop_midway(forwarders, 5);
    let error = outcome.unwrap_err();
    assert_eq!(error.code(), codes::REQUEST_CANCELLED, "{error}");
    assert!(
        sent <= 5 + 4,
        "the producer stopped within the window: {sent}"
    );
}

#[test]
fn dropping_the_stream_stops_the_producer() {
    assert_dropping_stops_the_producer(0);
}

#[test]
fn a_cancel_crosses_the_forwarders() {
    assert_dropping_stops_the_producer(3);
}

#[test]
fn an_error_answer_comes_after_the_items_sent_before_it() {
    let (client_end, server_end) = Channel::duplex();
    let server = UntypedRole.builder().on_receive_streaming_request(
        |_: UntypedMessage, mut items: ItemSink<u64>, responder: Responder<Value>, _cx| async move {
            for n in 0..3 {
                items.send(n).await?;
            }
            responder.respond_with_error(Error::new(-32000, "ran out of numbers"))
        },
    );
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        Ok(read_all(cx.send_streaming_request(count(10), 16)).await)
    });
    let (read, _) = block_on(futures::future::join(client, server.connect_to(server_end)));
    let (items, last) = read.unwrap();
    assert_eq!(items, vec![0, 1, 2]);
    let error = last.unwrap().unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        (-32000, "ran out of numbers")
    );
}

#[test]
fn a_closed_connection_ends_the_stream_with_an_error() {
    let (client_end, server_end) = Channel::duplex();
    let (two_sent, hang_up) = oneshot::channel::<()>();
    let mut two_sent = Some(two_sent);
    let server = UntypedRole
        .builder()
        .on_receive_streaming_request(
            move |_: UntypedMessage, mut items: ItemSink<u64>, responder: Responder<Value>, _cx| {
                let two_sent = two_sent.take();
                async move {
                    items.send(0).await?;
                    items.send(1).await?;
                    if let Some(two_sent) = two_sent {
                        let _ = two_sent.send(());
                    }
                    // Never answers: the connection goes first.
                    futures::future::pending::<()>().await;
                    drop(responder);
                    Ok(())
                }
            },
        )
        .connect_with(server_end, async |_cx| {
            let _ = hang_up.await;
            Ok(())
        });
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        Ok(read_all(cx.send_streaming_request(count(10), 16)).await)
    });
    let (read, served) = block_on(futures::future::join(client, server));
    served.unwrap();
    let (items, last) = read.unwrap();
    assert_eq!(items, vec![0, 1]);
    let error = last.unwrap().unwrap_err();
    assert!(error.is_connection_closed(), "{error}");
}

#[test]
fn a_dropped_sink_still_answers_once() {
    let (client_end, server_end) = Channel::duplex();
    let server = UntypedRole.builder().on_receive_streaming_request(
        |_: UntypedMessage, mut items: ItemSink<u64>, responder: Responder<Value>, _cx| async move {
            items.send(7).await?;
            drop(items);
            responder.respond(json!("only the answer is left"))
        },
    );
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let streamed = read_all(cx.send_streaming_request(count(1), 4)).await;
        // And a plain request on the same connection is answered as usual: the streaming
        // handler answers a request that asked for no stream too.
        let plain = cx.send_request(count(1)).block_task().await;
        Ok((streamed, plain))
    });
    let (read, _) = block_on(futures::future::join(client, server.connect_to(server_end)));
    let ((items, last), plain) = read.unwrap();
    assert_eq!(items, vec![7]);
    assert_eq!(last.unwrap().unwrap(), json!("only the answer is left"));
    let error = plain.unwrap_err();
    assert_eq!(
        error.code(),
        codes::INVALID_REQUEST,
        "send fails without a stream: {error}"
    );
}

#[test]
fn a_forwarder_translates_between_conventions() {
    // The client speaks an LSP-like convention (no credits), the server Switchboard's own:
    // the forwarder asks the server for a window of its own and grants it as it passes items on.
    const LSP_LIKE: Streaming = Streaming::items("progress")
        .request_token("partialResultToken")
        .item_value("value");
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let forwarder =
        UntypedRole
            .builder()
            .connect_with(forwarder_server_side, async move |to_server| {
                UntypedRole
                    .builder()
                    .streaming(LSP_LIKE)
                    .on_receive_dispatch(move |dispatch: Dispatch, _to_client| {
                        ready(to_server.send_proxied_message(dispatch))
                    })
                    .connect_to(forwarder_client_side)
                    .await
            });
    let server = counting_server(Arc::default(), None).connect_to(server_end);
    let client = UntypedRole
        .builder()
        .streaming(LSP_LIKE)
        .connect_with(client_end, async |cx| {
            Ok(read_all(cx.send_streaming_request(count(500), 4)).await)
        });
    let (read, _, _) = block_on(futures::future::join3(client, forwarder, server));
    let (items, last) = read.unwrap();
    assert_eq!(items, (0..500).collect::<Vec<_>>());
    assert_eq!(last.unwrap().unwrap(), json!("done"));
}

#[test]
fn a_producer_waiting_for_credit_fails_when_the_caller_hangs_up() {
    let (client_end, server_end) = Channel::duplex();
    let (ended, producer_end) = oneshot::channel();
    let sent = Arc::new(AtomicU64::new(0));
    let server = counting_server(Arc::clone(&sent), Some(ended)).connect_to(server_end);
    // The client takes one item and hangs up with its stream still open (it is handed out of
    // the closure, so it is not dropped, and nothing cancels it): no credit can come now.
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let mut stream: ItemStream<u64, Value> = cx.send_streaming_request(count(1_000), 2);
        assert!(matches!(stream.next().await, Some(Ok(Streamed::Item(0)))));
        Ok(stream)
    });
    let (stream, served) = block_on(futures::future::join(client, server));
    served.unwrap();
    let outcome = block_on(producer_end).expect("the producer ended");
    drop(stream);
    assert!(outcome.is_err(), "the producer's send failed");
    assert!(
        sent.load(Ordering::SeqCst) <= 2 + 1,
        "it never got past the window"
    );
}
