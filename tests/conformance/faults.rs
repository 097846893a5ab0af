//! Faults that strike while this side has requests in flight: the input fails after frames
//! were read and answered, the peer stops reading (the writer breaks after some bytes), the
//! peer hangs up half-way through a frame, a spawned task panics, a handler panics among
//! several requests in flight. In each case every future returns, and every pending request
//! learns what happened.
//!
//! `close.rs` covers each fault on a connection with nothing of its own in flight; here the
//! point is the requests this side is waiting on. Each is waited on where it can still be
//! seen after the connection ends: in the closure, when the closure outlives the fault; by the
//! test, which is handed the request's `block_task()` future and awaits it outside the
//! connection; or by an `on_receiving_result` callback (the last test).
//!
//! The transport is a reader fed chunk by chunk (or error by error) from a channel the test
//! holds, and a writer whose bytes the test reads, which breaks once a byte budget is used up.
//! `support::guard` is the only timeout, and only turns a hang into a failure.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::{ByteStreams, Channel, Error, UntypedMessage, UntypedRole};

use crate::support::guard;

/// An `AsyncRead` that returns what the test feeds it: chunks of bytes, or read errors. When
/// the test drops its sender, the input ends.
struct FedReader {
    chunks: mpsc::UnboundedReceiver<io::Result<Vec<u8>>>,
    /// What is left of the chunk being read.
    current: Vec<u8>,
}

impl futures::io::AsyncRead for FedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        while self.current.is_empty() {
            match self.chunks.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.current = chunk,
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error)),
                Poll::Ready(None) => return Poll::Ready(Ok(0)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.drain(..n);
        Poll::Ready(Ok(n))
    }
}

/// An `AsyncWrite` that passes its bytes to the test. With a budget, it takes that many bytes
/// and then fails every write with `BrokenPipe`: the peer is gone.
struct BreakingWriter {
    bytes: mpsc::UnboundedSender<Vec<u8>>,
    budget: Option<usize>,
}

impl futures::io::AsyncWrite for BreakingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = match self.budget {
            Some(0) => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the peer is gone",
                )));
            }
            Some(left) => {
                let n = left.min(bytes.len());
                self.budget = Some(left - n);
                n
            }
            None => bytes.len(),
        };
        // The test may have stopped listening; the bytes are then of no interest.
        let _ = self.bytes.unbounded_send(bytes[..n].to_vec());
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The test's end of the transport: it feeds the connection's input and reads its output.
struct Wire {
    input: Option<mpsc::UnboundedSender<io::Result<Vec<u8>>>>,
    output: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Output bytes read but not yet returned as a line.
    buffer: Vec<u8>,
}

/// A `ByteStreams` over a [`FedReader`] and a [`BreakingWriter`], and the test's [`Wire`].
fn transport(write_budget: Option<usize>) -> (Wire, ByteStreams<BreakingWriter, FedReader>) {
    let (input, chunks) = mpsc::unbounded();
    let (bytes, output) = mpsc::unbounded();
    let wire = Wire {
        input: Some(input),
        output,
        buffer: Vec::new(),
    };
    let reader = FedReader {
        chunks,
        current: Vec::new(),
    };
    let writer = BreakingWriter {
        bytes,
        budget: write_budget,
    };
    (wire, ByteStreams::new(writer, reader))
}

impl Wire {
    /// Feeds raw bytes to the connection.
    fn feed(&self, bytes: &str) {
        self.input
            .as_ref()
            .expect("the input was already ended")
            .unbounded_send(Ok(bytes.as_bytes().to_vec()))
            .unwrap();
    }

    /// Feeds one frame and its newline.
    fn feed_line(&self, frame: Value) {
        self.feed(&format!("{frame}\n"));
    }

    /// Makes the connection's next read fail.
    fn fail_reading(&self, why: &str) {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, why.to_owned());
        self.input
            .as_ref()
            .unwrap()
            .unbounded_send(Err(error))
            .unwrap();
    }

    /// Ends the connection's input.
    fn end_input(&mut self) {
        self.input = None;
    }

    /// The next line the connection wrote, without its newline.
    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return String::from_utf8(line[..end].to_vec()).unwrap();
            }
            let bytes = guard("the connection's output", self.output.next())
                .await
                .expect("the output ended while a line was expected");
            self.buffer.extend(bytes);
        }
    }

    /// Everything still written, once the connection has ended (its writer dropped).
    async fn rest(mut self) -> String {
        while let Some(bytes) = guard("the rest of the output", self.output.next()).await {
            self.buffer.extend(bytes);
        }
        String::from_utf8(self.buffer).unwrap()
    }
}

/// A successful answer frame.
fn answer(id: u64, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn message(method: &str) -> Result<UntypedMessage, Error> {
    UntypedMessage::new(method, ())
}

/// The exact frame this side writes for request `id` of `method` (no params).
fn request_frame(id: u64, method: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"}}"#)
}

/// A `block_task()` future handed out of the connection, so the test can await it after the
/// connection has ended.
type Waiting = BoxFuture<'static, Result<Value, Error>>;

#[track_caller]
fn assert_error(result: Result<Value, Error>, code: i32, message: &str) {
    let error = result.expect_err("expected the request to fail");
    assert_eq!(error.code(), code, "{error}");
    assert_eq!(error.message(), message, "{error}");
}

/// The input fails after an answer and a request were read (and the request answered): the
/// request awaited in the closure and the one awaited outside it both fail with "Connection
/// closed: reading failed: ...", and `connect_with` returns the read error although its
/// closure succeeded.
#[tokio::test]
async fn a_read_failure_mid_stream_fails_every_request_in_flight() {
    let (mut wire, streams) = transport(None);
    let (hand_out, handed_out) = oneshot::channel::<Waiting>();
    let (first_told, first) = oneshot::channel::<Result<Value, Error>>();
    let (in_main_told, in_main) = oneshot::channel::<Result<Value, Error>>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .on_receive_request(async |_: UntypedMessage, responder, _cx| {
                responder.respond(json!("pong"))
            })
            .connect_with(streams, async move |cx| {
                let first = cx.send_request(message("first")?);
                let in_main = cx.send_request(message("in_main")?);
                let outside = cx.send_request(message("outside")?);
                hand_out.send(Box::pin(outside.block_task())).ok().unwrap();
                first_told.send(first.block_task().await).unwrap();
                in_main_told.send(in_main.block_task().await).unwrap();
                Ok::<_, Error>(())
            }),
    );

    for (id, method) in [(1, "first"), (2, "in_main"), (3, "outside")] {
        assert_eq!(wire.line().await, request_frame(id, method));
    }
    // Frames are read and answered both ways before the fault.
    wire.feed_line(answer(1, json!("one")));
    wire.feed_line(json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}));
    assert_eq!(
        wire.line().await,
        r#"{"jsonrpc":"2.0","id":"p","result":"pong"}"#
    );
    assert_eq!(
        guard("the first answer", first).await.unwrap().unwrap(),
        "one"
    );

    wire.fail_reading("socket reset");
    let why = "Connection closed: reading failed: Transport error: socket reset";
    let outside = guard("handing out", handed_out).await.unwrap();
    let outside = guard("the request awaited outside", outside).await;
    assert_error(outside, codes::CONNECTION_CLOSED, why);
    let in_main = guard("the request awaited in the closure", in_main).await;
    assert_error(in_main.unwrap(), codes::CONNECTION_CLOSED, why);
    let error = guard("connect_with", client).await.unwrap().unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    assert_eq!(error.message(), "Transport error: socket reset");
    assert_eq!(wire.rest().await, "", "nothing more was written");
}

/// The peer stops reading after the first frame and ten bytes of the next, while the input
/// stays open: the write fails with `BrokenPipe`, `connect_with` returns that error at once
/// (its closure still waiting), and the request awaited outside fails with it.
#[tokio::test]
async fn a_write_failure_with_requests_pending_ends_the_connection_and_fails_them() {
    let first_frame = request_frame(1, "first");
    let (mut wire, streams) = transport(Some(first_frame.len() + 1 + 10));
    let (hand_out, handed_out) = oneshot::channel::<Waiting>();
    let (first_told, first) = oneshot::channel::<Result<Value, Error>>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .connect_with(streams, async move |cx| {
                let first = cx.send_request(message("first")?);
                first_told.send(first.block_task().await).unwrap();
                let outside = cx.send_request(message("outside")?);
                hand_out.send(Box::pin(outside.block_task())).ok().unwrap();
                let in_main = cx.send_request(message("in_main")?);
                Ok::<_, Error>(in_main.block_task().await)
            }),
    );

    assert_eq!(wire.line().await, first_frame);
    wire.feed_line(answer(1, json!("one")));
    assert_eq!(
        guard("the first answer", first).await.unwrap().unwrap(),
        "one"
    );

    let why = "Transport error: the peer is gone";
    let error = guard("connect_with", client).await.unwrap().unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    assert_eq!(error.message(), why);
    let outside = guard("handing out", handed_out).await.unwrap();
    let outside = guard("the request awaited outside", outside).await;
    assert_error(
        outside,
        codes::CONNECTION_CLOSED,
        "Connection closed: Transport error: the peer is gone",
    );
    assert!(wire.input.is_some(), "the input never ended");
    assert_eq!(
        wire.rest().await,
        r#"{"jsonrpc""#,
        "ten bytes, then nothing"
    );
}

/// The peer sends one whole answer, then half of the next, and hangs up: the half frame is the
/// last frame (wire.md), not valid JSON, so it is answered -32700 with id `null`; the request
/// it was meant to answer fails with connection-closed like the other one still waiting, and
/// `connect_with` returns the closure's output.
#[tokio::test]
async fn a_frame_cut_by_the_end_of_input_is_a_parse_error_and_pending_requests_fail() {
    let (mut wire, streams) = transport(None);
    let (hand_out, handed_out) = oneshot::channel::<Waiting>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .connect_with(streams, async move |cx| {
                let answered = cx.send_request(message("answered")?);
                let cut = cx.send_request(message("cut")?);
                let outside = cx.send_request(message("outside")?);
                hand_out.send(Box::pin(outside.block_task())).ok().unwrap();
                let answered = answered.block_task().await;
                Ok::<_, Error>((answered, cut.block_task().await))
            }),
    );

    for (id, method) in [(1, "answered"), (2, "cut"), (3, "outside")] {
        assert_eq!(wire.line().await, request_frame(id, method));
    }
    wire.feed_line(answer(1, json!("one")));
    wire.feed(r#"{"jsonrpc":"2.0","id":2,"resu"#);
    wire.end_input();

    let why = "Connection closed: the peer ended the input";
    let (answered, cut) = guard("connect_with", client).await.unwrap().unwrap();
    assert_eq!(answered.unwrap(), "one");
    assert_error(cut, codes::CONNECTION_CLOSED, why);
    let outside = guard("handing out", handed_out).await.unwrap();
    let outside = guard("the request awaited outside", outside).await;
    assert_error(outside, codes::CONNECTION_CLOSED, why);
    assert_eq!(
        wire.rest().await,
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error: \
         EOF while parsing a string (at column 29)\"}}\n"
    );
}

/// A critical task (`spawn_critical`) panics while requests wait: `connect_with` returns
/// -32094 naming the panic, and the request awaited outside fails with connection closed,
/// naming it too.
#[tokio::test]
async fn a_panicking_critical_task_ends_the_connection_and_fails_pending_requests() {
    let (mut wire, streams) = transport(None);
    let (hand_out, handed_out) = oneshot::channel::<Waiting>();
    let (release, released) = oneshot::channel::<()>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .connect_with(streams, async move |cx| {
                cx.spawn_critical(async move {
                    released.await.unwrap();
                    panic!("kaboom")
                });
                let outside = cx.send_request(message("outside")?);
                hand_out.send(Box::pin(outside.block_task())).ok().unwrap();
                let in_main = cx.send_request(message("in_main")?);
                Ok::<_, Error>(in_main.block_task().await)
            }),
    );

    for (id, method) in [(1, "outside"), (2, "in_main")] {
        assert_eq!(wire.line().await, request_frame(id, method));
    }
    release.send(()).unwrap();

    let why = "a critical task panicked: kaboom";
    let error = guard("connect_with", client).await.unwrap().unwrap_err();
    assert_eq!(error.code(), codes::TASK_FAILED, "{error}");
    assert_eq!(error.message(), why);
    let outside = guard("handing out", handed_out).await.unwrap();
    let outside = guard("the request awaited outside", outside).await;
    assert_error(
        outside,
        codes::CONNECTION_CLOSED,
        "Connection closed: a critical task panicked: kaboom",
    );
    assert_eq!(wire.rest().await, "", "nothing more was written");
}

/// A handler panics while the client has four requests in flight, one of them held by a task
/// the test releases last: only the request that panicked gets -32603; the three others,
/// before and after it on the wire, are answered, and both ends finish cleanly.
#[tokio::test]
async fn a_panicking_handler_fails_only_its_request_among_several_in_flight() {
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let server =
        UntypedRole
            .builder()
            .on_receive_request(move |request: UntypedMessage, responder, cx| {
                let released = Arc::clone(&released);
                async move {
                    match request.method() {
                        "slow" => {
                            let wait = released.lock().unwrap().take().unwrap();
                            cx.spawn(async move {
                                wait.await.unwrap();
                                responder.respond(json!("slow done"))
                            });
                            Ok(())
                        }
                        "panic" => panic!("boom"),
                        other => responder.respond(json!(other)),
                    }
                }
            });
    let (others_told, others_answered) = oneshot::channel::<()>();
    let (client_end, server_end) = Channel::duplex();
    let client = UntypedRole
        .builder()
        .connect_with(client_end, async move |cx| {
            let slow = cx.send_request(message("slow")?);
            let panics = cx.send_request(message("panic")?);
            let fine = cx.send_request(message("fine")?);
            let after = cx.send_request(message("after")?);
            let panics = panics.block_task().await;
            let fine = fine.block_task().await;
            let after = after.block_task().await;
            // `slow` is still in flight: its answer waits for the test.
            others_told.send(()).unwrap();
            Ok::<_, Error>([slow.block_task().await, panics, fine, after])
        });
    let releaser = async move {
        others_answered.await.unwrap();
        release.send(()).unwrap();
    };
    let (answers, served, ()) = guard("both ends", async {
        futures::join!(client, server.connect_to(server_end), releaser)
    })
    .await;
    let [slow, panics, fine, after] = answers.unwrap();
    assert_eq!(slow.unwrap(), "slow done");
    assert_error(
        panics,
        codes::INTERNAL_ERROR,
        "Internal error: the handler panicked: boom",
    );
    assert_eq!(fine.unwrap(), "fine");
    assert_eq!(after.unwrap(), "after");
    served.unwrap();
}

/// How a [`callback_client`]'s connection meets its fault.
#[derive(Clone, Copy)]
enum Fault {
    /// The input ends cleanly.
    EndOfInput,
    /// The next read fails.
    ReadFails,
    /// The peer reads the two request frames, then every write fails.
    WriteFails,
    /// A critical task panics.
    TaskPanics,
}

/// A client that sends `callback` (its answer to an `on_receiving_result` callback) and then
/// `in_main`, awaited in the closure, which returns as soon as `in_main` fails. Returns what
/// the callback received, once `connect_with` has returned.
async fn callback_client(fault: Fault) -> Result<Value, Error> {
    let frames = [request_frame(1, "callback"), request_frame(2, "in_main")];
    let budget = matches!(fault, Fault::WriteFails)
        .then(|| frames.iter().map(|frame| frame.len() + 1).sum::<usize>());
    let (mut wire, streams) = transport(budget);
    let (callback_told, callback) = oneshot::channel::<Result<Value, Error>>();
    let (release, released) = oneshot::channel::<()>();
    let client = tokio::spawn(
        UntypedRole
            .builder()
            .connect_with(streams, async move |cx| {
                cx.spawn_critical(async move {
                    if released.await.is_ok() {
                        panic!("kaboom");
                    }
                    Ok(())
                });
                cx.send_request(message("callback")?)
                    .on_receiving_result(async move |result| {
                        callback_told.send(result).unwrap();
                        Ok(())
                    });
                let in_main = cx.send_request(message("in_main")?);
                if matches!(fault, Fault::WriteFails) {
                    // The writer has room for the two requests only.
                    cx.send_notification(message("one_more")?)?;
                }
                let _failed = in_main.block_task().await;
                Ok::<_, Error>(())
            }),
    );
    for frame in &frames {
        assert_eq!(&wire.line().await, frame);
    }
    match fault {
        Fault::EndOfInput => wire.end_input(),
        Fault::ReadFails => wire.fail_reading("socket reset"),
        Fault::WriteFails => {}
        Fault::TaskPanics => release.send(()).unwrap(),
    }
    // Its outcome for each fault is checked by the tests above.
    let _ = guard("connect_with", client).await.unwrap();
    guard("the callback", callback)
        .await
        .expect("the callback was dropped without being called")
}

/// Every fault, with the closure returning as soon as its own request fails: the callback of
/// the other request must be called with the error that ended it, like a `block_task()`
/// waiter, not dropped unheard.
///
/// This once failed in all four cases: at end of input the callbacks were queued as tasks that
/// the closing connection dropped unrun, and after a write failure or a failed task they were
/// dropped outright. Now a connection does not close while such callbacks are owed, and those
/// still waiting when it ends run with the error before it returns.
#[tokio::test]
async fn a_callback_on_a_request_in_flight_hears_of_every_fault() {
    for (fault, code, why) in [
        (
            Fault::EndOfInput,
            codes::CONNECTION_CLOSED,
            "Connection closed: the peer ended the input",
        ),
        (
            Fault::ReadFails,
            codes::CONNECTION_CLOSED,
            "Connection closed: reading failed: Transport error: socket reset",
        ),
        (
            Fault::WriteFails,
            codes::CONNECTION_CLOSED,
            "Connection closed: Transport error: the peer is gone",
        ),
        (
            Fault::TaskPanics,
            codes::CONNECTION_CLOSED,
            "Connection closed: a critical task panicked: kaboom",
        ),
    ] {
        assert_error(callback_client(fault).await, code, why);
    }
}
