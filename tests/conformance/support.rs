//! Shared helpers: a raw-line test peer over `tokio::io::duplex`, JSON builders and
//! assertions, a hang guard, and the pieces for driving a connection's future by hand.
//!
//! The raw peer writes and reads JSON text itself, so the tests see the exact bytes a
//! connection puts on the wire. Tests that must control every interleaving poll the
//! connection's future by hand ([`poll_once`], [`poll_to_end`]) over transports made of
//! `futures` primitives, which never depend on a runtime's wake-ups.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::handler::Handler;
use switchboard::{Builder, ConnectTo, Error, UntypedRole};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;

/// How long any single await may take before the test is declared hung. It only turns a
/// hang into a failure; no test asserts anything about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(10);

/// Room in each direction of the in-memory pipe.
const PIPE_BYTES: usize = 1 << 20;

/// Awaits `future`, failing the test if it takes longer than [`HANG_GUARD`].
pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// The test's end of an in-memory byte pipe: it writes raw lines and reads raw lines.
pub(crate) struct Peer {
    /// `None` once the test has ended the connection's input.
    writer: Option<DuplexStream>,
    reader: BufReader<DuplexStream>,
}

/// Two `tokio::io::duplex` pipes: the [`Peer`] end, and `ByteStreams` for a connection.
pub(crate) fn pipe() -> (Peer, impl ConnectTo<UntypedRole>) {
    let (peer_writer, connection_reader) = tokio::io::duplex(PIPE_BYTES);
    let (connection_writer, peer_reader) = tokio::io::duplex(PIPE_BYTES);
    let peer = Peer {
        writer: Some(peer_writer),
        reader: BufReader::new(peer_reader),
    };
    (
        peer,
        switchboard::ByteStreams::tokio(connection_writer, connection_reader),
    )
}

/// Runs `builder` with `connect_to` over a pipe, as a tokio task; the test drives the peer.
pub(crate) fn serve<H>(builder: Builder<UntypedRole, H>) -> (Peer, JoinHandle<Result<(), Error>>)
where
    H: Handler<UntypedRole> + 'static,
{
    let (peer, streams) = pipe();
    (peer, tokio::spawn(builder.connect_to(streams)))
}

/// Ends the server's input, reads everything it still writes, and checks it returned `Ok`.
pub(crate) async fn hang_up(mut peer: Peer, server: JoinHandle<Result<(), Error>>) -> Vec<String> {
    let rest = peer.rest().await;
    guard("the server's connect_to", server)
        .await
        .expect("the server task panicked")
        .expect("connect_to returned an error at clean end of input");
    rest
}

impl Peer {
    /// Writes `line` and a newline.
    pub(crate) async fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes()).await;
    }

    /// Writes raw bytes (no newline added).
    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("the input was already closed");
        guard("writing to the connection", writer.write_all(bytes))
            .await
            .expect("writing to the pipe failed");
    }

    /// Reads one line (without its newline). Fails if the output ends first.
    pub(crate) async fn recv_line(&mut self) -> String {
        self.next_line()
            .await
            .expect("the connection's output ended while a line was expected")
    }

    /// Reads one line and parses it as JSON.
    pub(crate) async fn recv(&mut self) -> Value {
        let line = self.recv_line().await;
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// Ends the connection's input (the peer hangs up its writing side).
    pub(crate) fn close_input(&mut self) {
        self.writer = None;
    }

    /// Ends the input and reads every line until the output ends.
    pub(crate) async fn rest(&mut self) -> Vec<String> {
        self.close_input();
        let mut lines = Vec::new();
        while let Some(line) = self.next_line().await {
            lines.push(line);
        }
        lines
    }

    async fn next_line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let read = guard(
            "reading the connection's output",
            self.reader.read_until(b'\n', &mut line),
        )
        .await
        .expect("reading from the pipe failed");
        if read == 0 {
            return None;
        }
        assert_eq!(
            line.pop(),
            Some(b'\n'),
            "output ended in the middle of a line: {:?}",
            String::from_utf8_lossy(&line)
        );
        Some(String::from_utf8(line).expect("the connection wrote invalid UTF-8"))
    }
}

/// The text of a request frame.
pub(crate) fn request(id: Value, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// The text of a notification frame.
pub(crate) fn notification(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

/// Checks that `answer` is a successful response to `id` and returns its result.
#[track_caller]
pub(crate) fn result_of(answer: &Value, id: Value) -> &Value {
    assert_eq!(
        answer["jsonrpc"], "2.0",
        "not a JSON-RPC 2.0 answer: {answer}"
    );
    assert_eq!(answer["id"], id, "answer to the wrong id: {answer}");
    assert!(answer.get("error").is_none(), "expected a result: {answer}");
    answer.get("result").expect("an answer without a result")
}

/// Checks that `answer` is an error response to `id` with `code` and returns the error object.
#[track_caller]
pub(crate) fn error_of(answer: &Value, id: Value, code: i32) -> &Value {
    assert_eq!(
        answer["jsonrpc"], "2.0",
        "not a JSON-RPC 2.0 answer: {answer}"
    );
    assert_eq!(answer["id"], id, "answer to the wrong id: {answer}");
    assert!(
        answer.get("result").is_none(),
        "expected an error: {answer}"
    );
    let error = answer.get("error").expect("an answer without an error");
    assert_eq!(error["code"], code, "wrong error code: {answer}");
    assert!(
        error["message"].is_string(),
        "error without a message: {answer}"
    );
    error
}

/// Checks the answer to a frame refused for its size: -32600, id `null`, with the sizes.
#[track_caller]
pub(crate) fn assert_too_large(answer: &Value, frame_bytes: usize, max_frame_bytes: usize) {
    let error = error_of(answer, Value::Null, -32600);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the maximum"),
        "unclear message: {answer}"
    );
    assert_eq!(error["data"]["frameBytes"], frame_bytes);
    assert_eq!(error["data"]["maxFrameBytes"], max_frame_bytes);
}

/// Polls `future` once, with a waker that does nothing: the test decides when to poll again.
pub(crate) fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

/// Polls `future` by hand until it finishes. Only for futures whose progress needs no outside
/// event (everything they wait on is in memory and already available).
pub(crate) fn poll_to_end<F: Future + Unpin>(future: &mut F) -> F::Output {
    for _ in 0..100_000 {
        if let Poll::Ready(output) = poll_once(future) {
            return output;
        }
    }
    panic!("the future made no progress in 100000 polls");
}

/// Runs `test` on its own thread (so no runtime of the caller's leaks in), failing if it takes
/// longer than [`HANG_GUARD`]: the hang guard of the tests that run without tokio.
pub(crate) fn off_runtime<T: Send + 'static>(test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, outcome) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = done.send(test());
    });
    match outcome.recv_timeout(HANG_GUARD) {
        Ok(output) => {
            thread.join().expect("the test thread panicked");
            output
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test thread ended without a result"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("hang guard: the test did not finish within {HANG_GUARD:?}")
        }
    }
}

/// An `AsyncWrite` (the `futures` trait) whose bytes the test reads afterwards.
#[derive(Clone, Default)]
pub(crate) struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl SharedWriter {
    /// Everything written so far, as it was written.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    /// Everything written so far, as lines (each must end with a newline).
    pub(crate) fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).expect("the connection wrote invalid UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "output ends mid-line: {text:?}"
        );
        text.lines().map(str::to_owned).collect()
    }

    /// Everything written so far, each line parsed as JSON.
    pub(crate) fn values(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|line| serde_json::from_str(line).expect("not JSON"))
            .collect()
    }
}

impl futures::io::AsyncWrite for SharedWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A timer whose sleeps end when the test says so.
#[derive(Clone, Default)]
pub(crate) struct ManualTimer(Arc<std::sync::Mutex<Vec<futures::channel::oneshot::Sender<()>>>>);

impl switchboard::timer::Timer for ManualTimer {
    fn sleep(&self, _: std::time::Duration) -> futures::future::BoxFuture<'static, ()> {
        let (ring, rung) = futures::channel::oneshot::channel();
        self.0.lock().unwrap().push(ring);
        Box::pin(async move {
            let _ = rung.await;
        })
    }
}

impl ManualTimer {
    /// Ends every sleep started so far; returns how many there were.
    pub(crate) fn ring(&self) -> usize {
        let sleeps: Vec<_> = self.0.lock().unwrap().drain(..).collect();
        let count = sleeps.len();
        for ring in sleeps {
            let _ = ring.send(());
        }
        count
    }
}
