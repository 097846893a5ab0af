//! Guarantee 3, nothing hangs on close, and the close rules: at clean end of input
//! `connect_to` finishes the requests already being handled, flushes every answer, then
//! returns `Ok`; requests this side sent that are still pending fail promptly with the
//! connection-closed code; a transport failure (read or write) is returned as an error, not
//! taken for a clean end of input.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::{ByteStreams, Error, Lines, UntypedMessage, UntypedRole};

use crate::support::{
    SharedWriter, error_of, guard, hang_up, pipe, poll_once, poll_to_end, request, result_of, serve,
};

/// One step of what a [`ScriptedReader`] returns.
enum Step {
    Data(Vec<u8>),
    Fail(&'static str),
    /// Stay pending forever (the peer is silent but has not hung up).
    Hang,
}

/// An `AsyncRead` that plays a script, then reports end of input (and records that it did).
struct ScriptedReader {
    steps: VecDeque<Step>,
    eof_reported: Arc<AtomicBool>,
}

impl ScriptedReader {
    fn new(steps: impl IntoIterator<Item = Step>) -> (Self, Arc<AtomicBool>) {
        let eof_reported = Arc::new(AtomicBool::new(false));
        let reader = ScriptedReader {
            steps: steps.into_iter().collect(),
            eof_reported: Arc::clone(&eof_reported),
        };
        (reader, eof_reported)
    }
}

impl futures::io::AsyncRead for ScriptedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.steps.front_mut() {
            None => {
                self.eof_reported.store(true, Ordering::SeqCst);
                Poll::Ready(Ok(0))
            }
            Some(Step::Hang) => Poll::Pending,
            Some(Step::Fail(why)) => {
                let error = io::Error::new(io::ErrorKind::ConnectionReset, *why);
                self.steps.pop_front();
                Poll::Ready(Err(error))
            }
            Some(Step::Data(data)) => {
                let n = buf.len().min(data.len());
                buf[..n].copy_from_slice(&data[..n]);
                data.drain(..n);
                if data.is_empty() {
                    self.steps.pop_front();
                }
                Poll::Ready(Ok(n))
            }
        }
    }
}

/// An `AsyncWrite` whose every write fails.
struct FailingWriter;

impl futures::io::AsyncWrite for FailingWriter {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "peer vanished",
        )))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An `AsyncWrite` whose every other write is interrupted (as a write call may be by a signal)
/// before it takes anything: `Interrupted` means "try again", not a failure.
struct InterruptedWriter {
    output: SharedWriter,
    interrupt: bool,
}

impl futures::io::AsyncWrite for InterruptedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        Pin::new(&mut self.output).poll_write(cx, bytes)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn line(text: String) -> Step {
    Step::Data(format!("{text}\n").into_bytes())
}

/// A server answering `ping` with `pong`.
fn pinger() -> switchboard::Builder<UntypedRole, impl switchboard::Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .on_receive_request(async |_: UntypedMessage, responder, _cx| {
            responder.respond(json!("pong"))
        })
}

/// Driven by hand: the input has ended, yet `connect_to` stays pending until the two spawned
/// tasks answer; each answer is on the wire as soon as it is given; then it returns `Ok`.
#[tokio::test]
async fn at_clean_eof_requests_in_flight_are_answered_and_flushed_before_ok() {
    let (release_1, wait_1) = oneshot::channel::<()>();
    let (release_2, wait_2) = oneshot::channel::<()>();
    let waits = Arc::new(Mutex::new(VecDeque::from([wait_1, wait_2])));
    let server =
        UntypedRole
            .builder()
            .on_receive_request(move |request: UntypedMessage, responder, cx| {
                let waits = Arc::clone(&waits);
                async move {
                    if request.method() == "slow" {
                        let wait = waits.lock().unwrap().pop_front().unwrap();
                        cx.spawn(async move {
                            wait.await.unwrap();
                            responder.respond(json!("slow done"))
                        });
                        Ok(())
                    } else {
                        responder.respond(json!("fast done"))
                    }
                }
            });
    let (reader, eof_reported) = ScriptedReader::new([
        line(request(json!(1), "slow", json!({}))),
        line(request(json!(2), "slow", json!({}))),
        line(request(json!(3), "fast", json!({}))),
    ]);
    let output = SharedWriter::default();
    let mut connection = Box::pin(server.connect_to(ByteStreams::new(output.clone(), reader)));

    for _ in 0..5 {
        assert!(poll_once(&mut connection).is_pending());
    }
    assert!(
        eof_reported.load(Ordering::SeqCst),
        "the input was read to its end"
    );
    assert_eq!(
        output.lines(),
        [r#"{"jsonrpc":"2.0","id":3,"result":"fast done"}"#]
    );

    release_2.send(()).unwrap();
    for _ in 0..5 {
        assert!(
            poll_once(&mut connection).is_pending(),
            "returned with a request unanswered"
        );
    }
    assert_eq!(output.lines().len(), 2);
    assert_eq!(
        output.lines()[1],
        r#"{"jsonrpc":"2.0","id":2,"result":"slow done"}"#
    );

    release_1.send(()).unwrap();
    poll_to_end(&mut connection).expect("clean end of input is Ok");
    assert_eq!(
        output.lines(),
        [
            r#"{"jsonrpc":"2.0","id":3,"result":"fast done"}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":"slow done"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":"slow done"}"#
        ]
    );
}

#[tokio::test]
async fn pending_requests_fail_with_connection_closed_when_the_input_ends() {
    let (mut peer, streams) = pipe();
    let client = tokio::spawn(UntypedRole.builder().connect_with(streams, async |cx| {
        let waiting = cx
            .send_request(UntypedMessage::new("never_answered", json!({}))?)
            .block_task()
            .await;
        // After the end of input, a new request fails at once instead of waiting.
        let later = cx
            .send_request(UntypedMessage::new("too_late", json!({}))?)
            .block_task()
            .await;
        Ok::<_, Error>((waiting, later))
    }));
    let sent = peer.recv().await;
    assert_eq!(sent["method"], "never_answered");
    peer.close_input();

    let (waiting, later) = guard("the client", client).await.unwrap().unwrap();
    for error in [waiting.unwrap_err(), later.unwrap_err()] {
        assert_eq!(error.code(), codes::CONNECTION_CLOSED, "{error}");
        assert!(error.is_connection_closed());
    }
    assert_eq!(
        peer.rest().await,
        Vec::<String>::new(),
        "too_late was never sent"
    );
}

#[tokio::test]
async fn a_request_forwarded_to_a_silent_peer_is_answered_when_the_input_ends() {
    let server =
        UntypedRole
            .builder()
            .on_receive_request(async |_: UntypedMessage, responder, cx| {
                cx.send_request(UntypedMessage::new("peer/question", json!({}))?)
                    .forward_response_to(responder);
                Ok(())
            });
    let (mut peer, server) = serve(server);
    peer.send(&request(json!(7), "forward", json!({}))).await;
    let question = peer.recv().await;
    assert_eq!(question["method"], "peer/question");
    // Hang up without answering: the forwarded request must not wait forever.
    let rest = hang_up(peer, server).await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    let answer: Value = serde_json::from_str(&rest[0]).unwrap();
    error_of(&answer, json!(7), codes::CONNECTION_CLOSED);
}

#[tokio::test]
async fn a_failing_line_stream_is_an_error_and_its_clean_end_is_not() {
    for fail in [true, false] {
        let (input, incoming) = mpsc::unbounded::<io::Result<String>>();
        let (out, written) = mpsc::unbounded::<String>();
        input
            .unbounded_send(Ok(request(json!(1), "ping", json!({}))))
            .unwrap();
        if fail {
            let cut = io::Error::new(io::ErrorKind::ConnectionReset, "wire cut");
            input.unbounded_send(Err(cut)).unwrap();
        } else {
            drop(input);
        }
        let served = guard("connect_to", pinger().connect_to(Lines::new(out, incoming))).await;
        if fail {
            let error = served.unwrap_err();
            assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
            assert!(error.message().contains("wire cut"), "{error}");
        } else {
            served.unwrap();
        }
        // Either way, the request read before the end was answered and flushed.
        let written: Vec<String> = written.collect().await;
        assert_eq!(written, [r#"{"jsonrpc":"2.0","id":1,"result":"pong"}"#]);
    }
}

#[tokio::test]
async fn a_failing_byte_reader_is_an_error() {
    let (reader, eof_reported) = ScriptedReader::new([
        line(request(json!(1), "ping", json!({}))),
        Step::Fail("socket reset"),
    ]);
    let output = SharedWriter::default();
    let error = guard(
        "connect_to",
        pinger().connect_to(ByteStreams::new(output.clone(), reader)),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    assert!(error.message().contains("socket reset"), "{error}");
    assert!(
        !eof_reported.load(Ordering::SeqCst),
        "the reader never reported EOF"
    );
    assert_eq!(
        output.lines(),
        [r#"{"jsonrpc":"2.0","id":1,"result":"pong"}"#]
    );
}

#[tokio::test]
async fn a_failing_writer_is_an_error() {
    let (reader, _) = ScriptedReader::new([line(request(json!(1), "ping", json!({}))), Step::Hang]);
    // The reader stays open: only the write failure can end this connection.
    let error = guard(
        "connect_to",
        pinger().connect_to(ByteStreams::new(FailingWriter, reader)),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
    assert!(error.message().contains("peer vanished"), "{error}");
}

#[tokio::test]
async fn pending_requests_fail_when_the_transport_fails() {
    let (input, incoming) = mpsc::unbounded::<io::Result<String>>();
    let (out, mut written) = mpsc::unbounded::<String>();
    let (report, reported) = oneshot::channel::<Result<Value, Error>>();
    let client = tokio::spawn(UntypedRole.builder().connect_with(
        Lines::new(out, incoming),
        async move |cx| {
            let answer = cx
                .send_request(UntypedMessage::new("question", json!({}))?)
                .block_task()
                .await;
            report.send(answer).unwrap();
            Ok::<_, Error>(())
        },
    ));
    let sent: Value =
        serde_json::from_str(&guard("the request", written.next()).await.unwrap()).unwrap();
    assert_eq!(sent["method"], "question");
    let cut = io::Error::new(io::ErrorKind::ConnectionReset, "wire cut");
    input.unbounded_send(Err(cut)).unwrap();

    let waiting = guard("the pending request", reported)
        .await
        .unwrap()
        .unwrap_err();
    assert!(waiting.is_connection_closed(), "{waiting}");
    assert!(waiting.message().contains("wire cut"), "{waiting}");
    // The closure finished fine, but the connection reports the transport failure.
    let error = guard("the client", client).await.unwrap().unwrap_err();
    assert_eq!(error.code(), codes::TRANSPORT_ERROR, "{error}");
}

/// With nothing in flight, end of input makes `connect_to` return `Ok` and close its output.
#[tokio::test]
async fn a_connection_with_nothing_in_flight_returns_ok_at_eof() {
    let (mut peer, server) = serve(pinger());
    peer.send(&request(json!("x"), "ping", json!({}))).await;
    assert_eq!(result_of(&peer.recv().await, json!("x")), "pong");
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn an_interrupted_write_is_retried_not_taken_for_a_failure() {
    let (reader, _) = ScriptedReader::new([
        line(request(json!(1), "ping", json!({}))),
        line(request(json!(2), "ping", json!({}))),
    ]);
    let output = SharedWriter::default();
    let writer = InterruptedWriter {
        output: output.clone(),
        interrupt: false,
    };
    guard(
        "connect_to",
        pinger().connect_to(ByteStreams::new(writer, reader)),
    )
    .await
    .expect("an interrupted write is not a transport failure");
    assert_eq!(
        output.lines(),
        [
            r#"{"jsonrpc":"2.0","id":1,"result":"pong"}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":"pong"}"#
        ]
    );
}
