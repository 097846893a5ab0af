//! Guarantee 5, bounded memory: a slow handler makes the reader stop reading (counted in
//! frames pulled from a `Lines` stream and in bytes pulled from a reader, while the handler
//! is parked on a oneshot the test holds); a peer that does not read our answers stops us
//! reading too; sending is refused while the outgoing queue is full, and `writable()` waits
//! for room; a frame over `max_frame_bytes` is refused with id `null`, the connection goes on,
//! and the frame is never buffered whole.
//!
//! Every test here drives the connection's future by hand, so "stopped" means: polled again
//! and again, it did not move.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;
use futures::{Sink, StreamExt};
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::wire::{FrameEvent, NewlineDecoder};
use switchboard::{ByteStreams, Error, Lines, UntypedMessage, UntypedRole};

use crate::support::{
    SharedWriter, assert_too_large, notification, poll_once, poll_to_end, request, result_of,
};

/// A server whose `slow` request waits for `released` inside its handler; every other request
/// is answered at once with `answer`.
fn server(
    released: oneshot::Receiver<()>,
    answer: Value,
) -> switchboard::Builder<UntypedRole, impl switchboard::Handler<UntypedRole> + 'static> {
    let released = Arc::new(Mutex::new(Some(released)));
    UntypedRole
        .builder()
        .on_receive_request(move |request: UntypedMessage, responder, _cx| {
            let released = Arc::clone(&released);
            let answer = answer.clone();
            async move {
                if request.method() == "slow" {
                    let wait = released.lock().unwrap().take().unwrap();
                    wait.await.unwrap();
                }
                responder.respond(answer)
            }
        })
}

/// Polls `connection` until `progress()` stops changing, then checks that ten more polls do
/// not change it either, and returns where it stopped.
fn assert_stalled<F: std::future::Future + Unpin>(
    connection: &mut F,
    progress: impl Fn() -> usize,
) -> usize {
    let mut last = usize::MAX;
    for _ in 0..100 {
        assert!(poll_once(connection).is_pending());
        let now = progress();
        if now == last {
            for _ in 0..10 {
                assert!(poll_once(connection).is_pending());
                assert_eq!(progress(), now, "moved on although nothing changed");
            }
            return now;
        }
        last = now;
    }
    panic!("still moving after 100 polls: nothing holds it back");
}

#[tokio::test]
async fn a_slow_handler_stops_the_reader_pulling_frames() {
    const FLOOD: usize = 1000;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let frames = std::iter::once(request(json!(0), "slow", json!({})))
        .chain((1..=FLOOD).map(|id| request(json!(id), "ping", json!({}))));
    let incoming = futures::stream::iter(frames)
        .inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .map(Ok::<_, io::Error>);
    let (out, written) = futures::channel::mpsc::unbounded::<String>();
    let (release, released) = oneshot::channel();
    let mut connection =
        Box::pin(server(released, json!("ok")).connect_to(Lines::new(out, incoming)));

    let stalled_at = assert_stalled(&mut connection, || pulled.load(Ordering::SeqCst));
    assert_eq!(stalled_at, 1, "only the frame being handled was pulled");

    release.send(()).unwrap();
    poll_to_end(&mut connection).unwrap();
    assert_eq!(pulled.load(Ordering::SeqCst), FLOOD + 1);
    let written: Vec<String> = written.collect().await;
    assert_eq!(
        written.len(),
        FLOOD + 1,
        "everything was answered in the end"
    );
}

#[tokio::test]
async fn spawned_work_at_its_limit_stops_the_reader() {
    const REQUESTS: usize = 6;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let frames = (1..=REQUESTS).map(|id| request(json!(id), "work", json!({})));
    let incoming = futures::stream::iter(frames)
        .inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .map(Ok::<_, io::Error>);
    let (out, written) = futures::channel::mpsc::unbounded::<String>();
    // Each request's work waits in a spawned task until the test releases it.
    let releases = Arc::new(Mutex::new(VecDeque::<oneshot::Sender<()>>::new()));
    let handler_releases = Arc::clone(&releases);
    let builder = UntypedRole
        .builder()
        .max_running_tasks(2)
        .on_receive_request(
            move |_: UntypedMessage,
                  responder: switchboard::Responder<Value>,
                  cx: switchboard::ConnectionTo<UntypedRole>| {
                let (release, released) = oneshot::channel::<()>();
                handler_releases.lock().unwrap().push_back(release);
                cx.spawn(async move {
                    let _ = released.await;
                    responder.respond(json!("done"))
                });
                std::future::ready(Ok(()))
            },
        );
    let mut connection = Box::pin(builder.connect_to(Lines::new(out, incoming)));
    let progress = || pulled.load(Ordering::SeqCst);

    assert_eq!(
        assert_stalled(&mut connection, progress),
        2,
        "two tasks, then no reading"
    );
    let release_one = || {
        releases
            .lock()
            .unwrap()
            .pop_front()
            .unwrap()
            .send(())
            .unwrap()
    };
    release_one();
    assert_eq!(
        assert_stalled(&mut connection, progress),
        3,
        "one finished, one more read"
    );

    for _ in 0..REQUESTS * 10 {
        while let Some(release) = releases.lock().unwrap().pop_front() {
            release.send(()).unwrap();
        }
        if let Poll::Ready(served) = poll_once(&mut connection) {
            served.unwrap();
            let written: Vec<String> = written.collect().await;
            assert_eq!(written.len(), REQUESTS, "every request answered in the end");
            return;
        }
    }
    panic!("the connection did not finish once every task was released");
}

/// Part of what a [`Segments`] reader hands out.
enum Segment {
    Bytes(Vec<u8>),
    /// `count` copies of one byte, generated as they are read.
    Repeat(u8, usize),
}

/// An `AsyncRead` that fills every read as far as it can, counting the bytes handed out and
/// the largest buffer it was offered (the size of the decoder's read buffer).
struct Segments {
    segments: VecDeque<Segment>,
    bytes_read: Arc<AtomicUsize>,
    largest_buffer: Arc<AtomicUsize>,
}

impl Segments {
    fn new(
        segments: impl IntoIterator<Item = Segment>,
    ) -> (Self, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (bytes_read, largest_buffer) = (Arc::default(), Arc::default());
        let reader = Segments {
            segments: segments.into_iter().collect(),
            bytes_read: Arc::clone(&bytes_read),
            largest_buffer: Arc::clone(&largest_buffer),
        };
        (reader, bytes_read, largest_buffer)
    }
}

impl futures::io::AsyncRead for Segments {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.largest_buffer.fetch_max(buf.len(), Ordering::SeqCst);
        let mut filled = 0;
        while filled < buf.len() {
            let Some(segment) = self.segments.front_mut() else {
                break;
            };
            let room = buf.len() - filled;
            let done = match segment {
                Segment::Bytes(bytes) => {
                    let n = room.min(bytes.len());
                    buf[filled..filled + n].copy_from_slice(&bytes[..n]);
                    bytes.drain(..n);
                    filled += n;
                    bytes.is_empty()
                }
                Segment::Repeat(byte, count) => {
                    let n = room.min(*count);
                    buf[filled..filled + n].fill(*byte);
                    *count -= n;
                    filled += n;
                    *count == 0
                }
            };
            if done {
                self.segments.pop_front();
            }
        }
        self.bytes_read.fetch_add(filled, Ordering::SeqCst);
        Poll::Ready(Ok(filled))
    }
}

fn line(text: String) -> Segment {
    Segment::Bytes(format!("{text}\n").into_bytes())
}

#[tokio::test]
async fn a_slow_handler_stops_the_reader_pulling_bytes() {
    const FLOOD: usize = 20_000;
    let segments = std::iter::once(line(request(json!(0), "slow", json!({}))))
        .chain((1..=FLOOD).map(|id| line(request(json!(id), "ping", json!({})))));
    let (reader, bytes_read, _) = Segments::new(segments);
    let total: usize = (0..=FLOOD)
        .map(|id| request(json!(id), if id == 0 { "slow" } else { "ping" }, json!({})).len() + 1)
        .sum();
    let output = SharedWriter::default();
    let (release, released) = oneshot::channel();
    let mut connection = Box::pin(
        server(released, json!("ok")).connect_to(ByteStreams::new(output.clone(), reader)),
    );

    let stalled_at = assert_stalled(&mut connection, || bytes_read.load(Ordering::SeqCst));
    assert!(
        stalled_at <= 64 * 1024,
        "read {stalled_at} bytes ahead of a parked handler"
    );
    assert!(stalled_at < total / 10);
    assert!(output.lines().is_empty());

    release.send(()).unwrap();
    poll_to_end(&mut connection).unwrap();
    assert_eq!(bytes_read.load(Ordering::SeqCst), total);
    assert_eq!(output.lines().len(), FLOOD + 1);
}

/// A sink of lines that accepts nothing until the test opens it: a peer that does not read.
#[derive(Clone, Default)]
struct GatedSink(Arc<Mutex<Gate>>);

#[derive(Default)]
struct Gate {
    open: bool,
    lines: Vec<String>,
    waker: Option<Waker>,
}

impl GatedSink {
    fn open(&self) {
        let mut gate = self.0.lock().unwrap();
        gate.open = true;
        if let Some(waker) = gate.waker.take() {
            waker.wake();
        }
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().lines.clone()
    }
}

impl Sink<String> for GatedSink {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut gate = self.0.lock().unwrap();
        if gate.open {
            Poll::Ready(Ok(()))
        } else {
            gate.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn start_send(self: Pin<&mut Self>, line: String) -> io::Result<()> {
        self.0.lock().unwrap().lines.push(line);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The outgoing bound used below, and the size of each frame sent under it.
const LIMIT: usize = 4096;
const FRAME_BYTES: usize = 256;

#[tokio::test]
async fn a_peer_that_does_not_read_our_answers_stops_us_reading() {
    const FLOOD: usize = 1000;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let incoming =
        futures::stream::iter((0..FLOOD).map(|id| request(json!(id), "ping", json!({}))))
            .inspect(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .map(Ok::<_, io::Error>);
    // Each answer is about FRAME_BYTES long.
    let answer = json!("p".repeat(FRAME_BYTES - 40));
    let gated = GatedSink::default();
    let server = UntypedRole
        .builder()
        .max_outgoing_bytes(LIMIT)
        .on_receive_request(move |_: UntypedMessage, responder, _cx| {
            let answer = answer.clone();
            async move { responder.respond(answer) }
        });
    let mut connection = Box::pin(server.connect_to(Lines::new(gated.clone(), incoming)));

    let stalled_at = assert_stalled(&mut connection, || pulled.load(Ordering::SeqCst));
    // What waits is the queue (dispatch stops once it holds half the bound) plus one batch the
    // writer took before the sink blocked: a small multiple of the bound, not the flood.
    assert!(
        stalled_at * FRAME_BYTES <= 3 * LIMIT,
        "dispatched {stalled_at} requests for a peer that reads nothing"
    );
    assert!(gated.lines().is_empty());

    gated.open();
    poll_to_end(&mut connection).unwrap();
    let lines = gated.lines();
    assert_eq!(lines.len(), FLOOD);
    for (id, line) in lines.iter().enumerate() {
        let answer: Value = serde_json::from_str(line).unwrap();
        result_of(&answer, json!(id));
    }
}

#[tokio::test]
async fn sending_is_refused_while_the_outgoing_queue_is_full() {
    const COUNT: usize = 200;
    let gated = GatedSink::default();
    let (accepted, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (accepted_in, refused_in) = (Arc::clone(&accepted), Arc::clone(&refused));
    let client = UntypedRole
        .builder()
        .max_outgoing_bytes(LIMIT)
        .connect_with(
            Lines::new(
                gated.clone(),
                futures::stream::pending::<io::Result<String>>(),
            ),
            async move |cx| {
                for n in 0..COUNT {
                    let note = UntypedMessage::new(
                        "note",
                        json!({"n": n, "pad": "x".repeat(FRAME_BYTES - 60)}),
                    )?;
                    loop {
                        match cx.send_notification(note.clone()) {
                            Ok(()) => break,
                            Err(error) => {
                                assert_eq!(error.code(), codes::OUTGOING_QUEUE_FULL, "{error}");
                                assert!(error.message().contains("writable"), "{error}");
                                // A request is refused the same way, through its SentRequest.
                                let more = UntypedMessage::new("more", json!({}))?;
                                let refused = cx.send_request(more).block_task().await;
                                let refused = refused.unwrap_err();
                                assert_eq!(refused.code(), codes::OUTGOING_QUEUE_FULL);
                                refused_in.fetch_add(1, Ordering::SeqCst);
                                cx.writable().await;
                            }
                        }
                    }
                    accepted_in.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<_, Error>(())
            },
        );
    let mut connection = Box::pin(client);

    let stalled_at = assert_stalled(&mut connection, || accepted.load(Ordering::SeqCst));
    assert!(
        refused.load(Ordering::SeqCst) >= 1,
        "the full queue refused a notification"
    );
    assert!(
        stalled_at * FRAME_BYTES <= 3 * LIMIT,
        "accepted {stalled_at} notifications for a peer that reads nothing"
    );

    gated.open();
    poll_to_end(&mut connection).unwrap();
    let ns: Vec<u64> = gated
        .lines()
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["params"]["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ns,
        (0..COUNT as u64).collect::<Vec<_>>(),
        "none lost, none reordered"
    );
}

/// A request's answer is queued even when requests and notifications are refused, so the
/// request is still answered; the incoming side is what slows down.
#[tokio::test]
async fn answers_are_queued_even_when_the_outgoing_queue_is_full() {
    let gated = GatedSink::default();
    let outcome = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&outcome);
    let server = UntypedRole
        .builder()
        .max_outgoing_bytes(LIMIT)
        .on_receive_request(move |_: UntypedMessage, responder, cx| {
            let seen = Arc::clone(&seen);
            async move {
                let pad = "x".repeat(FRAME_BYTES - 60);
                let mut sent = 0;
                let refusal = loop {
                    match cx.send_notification(UntypedMessage::new("note", json!({ "pad": pad }))?)
                    {
                        Ok(()) => sent += 1,
                        Err(error) => break error,
                    }
                };
                let answered = responder.respond(json!(sent));
                *seen.lock().unwrap() = Some((refusal, answered));
                Ok(())
            }
        });
    let incoming = futures::stream::iter([Ok(request(json!(1), "fill", json!({})))]);
    let mut connection = Box::pin(server.connect_to(Lines::new(gated.clone(), incoming)));
    assert!(poll_once(&mut connection).is_pending());

    let (refusal, answered) = outcome.lock().unwrap().take().unwrap();
    assert_eq!(refusal.code(), codes::OUTGOING_QUEUE_FULL);
    answered.expect("the answer was queued although the queue was full");

    gated.open();
    poll_to_end(&mut connection).unwrap();
    let lines = gated.lines();
    let answer: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let sent = result_of(&answer, json!(1)).as_u64().unwrap() as usize;
    assert_eq!(lines.len(), sent + 1, "the notifications, then the answer");
    assert!(
        sent * FRAME_BYTES >= LIMIT,
        "the queue was full when refusing"
    );
}

#[tokio::test]
async fn an_oversized_frame_is_refused_without_being_buffered() {
    const MAX: usize = 1024;
    const HUGE: usize = 8 * 1024 * 1024;
    let (reader, bytes_read, largest_buffer) = Segments::new([
        Segment::Repeat(b'x', HUGE),
        Segment::Bytes(b"\n".to_vec()),
        line(notification("note", json!({}))),
        line(request(json!(1), "ping", json!({}))),
    ]);
    let output = SharedWriter::default();
    let server = UntypedRole
        .builder()
        .max_frame_bytes(MAX)
        .on_receive_request(async |_: UntypedMessage, responder, _cx| {
            responder.respond(json!("pong"))
        });
    let mut connection = Box::pin(server.connect_to(ByteStreams::new(output.clone(), reader)));
    poll_to_end(&mut connection).unwrap();

    assert!(
        bytes_read.load(Ordering::SeqCst) > HUGE,
        "the whole frame went past"
    );
    let largest = largest_buffer.load(Ordering::SeqCst);
    assert!(
        largest <= 64 * 1024,
        "the read buffer grew to {largest} bytes"
    );
    let answers = output.values();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_too_large(&answers[0], HUGE, MAX);
    assert_eq!(result_of(&answers[1], json!(1)), "pong");
}

/// The decoder behind `ByteStreams`, through its public API: fed 10 MiB without a newline, its
/// buffer stays near the maximum, then it reports the frame once, with its true length.
#[tokio::test]
async fn the_frame_decoder_never_holds_an_oversized_frame() {
    const MAX: usize = 100;
    const STREAMED: usize = 10 * 1024 * 1024;
    let mut decoder = NewlineDecoder::new(MAX);
    let mut fed = 0;
    while fed < STREAMED {
        let space = decoder.read_buf();
        assert!(
            space.len() <= 64 * 1024,
            "the buffer grew to {}",
            space.len()
        );
        let n = space.len().min(STREAMED - fed);
        space[..n].fill(b'x');
        decoder.filled(n);
        fed += n;
        assert_eq!(decoder.next_frame(), None);
    }
    let tail = b"\n{\"ok\":1}\n";
    decoder.read_buf()[..tail.len()].copy_from_slice(tail);
    decoder.filled(tail.len());
    assert_eq!(
        decoder.next_frame(),
        Some(FrameEvent::TooLarge { length: STREAMED })
    );
    assert_eq!(
        decoder.next_frame(),
        Some(FrameEvent::Frame(b"{\"ok\":1}".to_vec()))
    );
    assert_eq!(decoder.next_frame(), None);
    // Nothing is pending now, so the read buffer offered is the decoder's whole buffer: it
    // never grew towards the size of the frame.
    let whole = decoder.read_buf().len();
    assert!(
        whole <= 64 * 1024,
        "the decoder holds a buffer of {whole} bytes"
    );
}
