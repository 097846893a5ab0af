//! In-process transport: two ends passing whole frames.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::Stream;
use futures::io::AsyncWrite;

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::FrameEvent;
use crate::{Error, Role};

/// How many frames may wait in each direction of a [`Channel::duplex`] pair.
const DEFAULT_CAPACITY: usize = 1024;

/// How many bytes of frames may wait in each direction, whatever the frame count (a frame
/// larger than this travels alone). As much as a pipe holds, so a batch crosses in one go.
const MAX_WAITING_BYTES: usize = 64 * 1024;

/// One end of an in-process connection.
///
/// [`Channel::duplex`] gives two connected ends: connect one builder to each and they talk
/// without sockets, pipes or a runtime. Frames pass whole (no byte framing), through a bounded
/// queue in each direction, handed over in batches: the frames a connection has ready go
/// across together under one lock, and the receiver takes everything waiting at once. It is
/// the standard tool for unit tests, and the fastest way to connect two peers in one process.
///
/// ```
/// use switchboard::{Channel, UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let (a, b) = Channel::duplex();
/// let server = UntypedRole.builder().on_receive_request(async |request: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!({"echo": request.method()}))
/// });
/// let client = UntypedRole.builder().connect_with(a, async |cx| {
///     cx.send_request(UntypedMessage::new("hi", ())?).block_task().await
/// });
/// let (answer, _) = futures::join!(client, server.connect_to(b));
/// assert_eq!(answer.unwrap()["echo"], "hi");
/// # });
/// ```
pub struct Channel {
    /// `None` once connected: the transport's halves then own both directions.
    ends: Option<Ends>,
}

/// The two directions of one end of a channel.
struct Ends {
    incoming: Arc<Direction>,
    outgoing: Arc<Direction>,
}

impl Channel {
    /// Two connected ends, with room for 1 024 frames or 64 KiB in each direction, whichever
    /// fills first.
    pub fn duplex() -> (Channel, Channel) {
        Channel::duplex_with_capacity(DEFAULT_CAPACITY)
    }

    /// Two connected ends, with room for `frames` frames (at least one) or 64 KiB in each
    /// direction, whichever fills first.
    ///
    /// A sender with more waits for room. The receiving connection takes all waiting frames
    /// at once, so it may hold up to as many again that it has not dispatched yet.
    pub fn duplex_with_capacity(frames: usize) -> (Channel, Channel) {
        let a_to_b = Direction::new(frames);
        let b_to_a = Direction::new(frames);
        let end = |incoming, outgoing| Channel {
            ends: Some(Ends { incoming, outgoing }),
        };
        (
            end(Arc::clone(&b_to_a), Arc::clone(&a_to_b)),
            end(a_to_b, b_to_a),
        )
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").finish_non_exhaustive()
    }
}

/// An end dropped without being connected hangs up both ways, as a connection would: the
/// other end sees its input end, and what it sends fails.
impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(ends) = self.ends.take() {
            ends.outgoing.hang_up_sender();
            ends.incoming.hang_up_receiver();
        }
    }
}

impl<R: Role> ConnectTo<R> for Channel {
    fn into_transport(mut self, config: &TransportConfig) -> Result<Transport, Error> {
        let Some(ends) = self.ends.take() else {
            return Err(Error::internal_error(
                "this channel end is already connected",
            ));
        };
        let incoming = Receiver {
            direction: ends.incoming,
            taken: Vec::new(),
            next: 0,
            max_frame: config.max_frame_bytes,
        };
        let outgoing = Sender {
            direction: ends.outgoing,
        };
        Ok(Transport::from_writer(incoming, outgoing))
    }
}

/// The frames travelling one way, and who waits for whom.
struct Direction {
    state: Mutex<DirectionState>,
    capacity: usize,
}

struct DirectionState {
    /// Whole frames, each followed by `\n`, as the sender wrote them.
    bytes: Vec<u8>,
    /// How many frames `bytes` holds: never more than the capacity.
    frames: usize,
    sender_gone: bool,
    receiver_gone: bool,
    /// The receiver, waiting for frames.
    receiver: Option<Waker>,
    /// The sender, waiting for room.
    sender: Option<Waker>,
}

impl Direction {
    fn new(capacity: usize) -> Arc<Direction> {
        Arc::new(Direction {
            state: Mutex::new(DirectionState {
                bytes: Vec::new(),
                frames: 0,
                sender_gone: false,
                receiver_gone: false,
                receiver: None,
                sender: None,
            }),
            capacity: capacity.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, DirectionState> {
        // Every critical section leaves the state consistent, so poisoning can be ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The receiving side is gone: what is waiting is dropped, and the sender told.
    fn hang_up_receiver(&self) {
        let mut state = self.lock();
        state.receiver_gone = true;
        let bytes = std::mem::take(&mut state.bytes);
        let sender = state.sender.take();
        drop(state);
        drop(bytes);
        if let Some(sender) = sender {
            sender.wake();
        }
    }

    fn hang_up_sender(&self) {
        let mut state = self.lock();
        state.sender_gone = true;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

/// The sending half. The connection's outgoing actor writes batches of newline-terminated
/// frames to it; as much of a batch is taken as there is room for, cut at a frame boundary,
/// so a frame is never split. Frames are only cut apart (and allocated) on the receiving side.
struct Sender {
    direction: Arc<Direction>,
}

impl AsyncWrite for Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        batch: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.direction.lock();
        if state.receiver_gone {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the other end of the channel is gone",
            )));
        }
        let room = self.direction.capacity.saturating_sub(state.frames);
        let room_bytes = MAX_WAITING_BYTES.saturating_sub(state.bytes.len());
        if room == 0 || room_bytes == 0 {
            state.sender = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut accepted = 0;
        let mut taken = 0;
        for newline in memchr::memchr_iter(b'\n', batch).take(room) {
            // Whole frames only; one larger than the byte bound goes alone into an empty queue.
            if newline >= room_bytes && !(accepted == 0 && state.bytes.is_empty()) {
                break;
            }
            accepted += 1;
            taken = newline + 1;
        }
        if accepted == 0 && !state.bytes.is_empty() {
            state.sender = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if taken == 0 {
            // Not a whole frame: cannot come from a connection, but take it rather than spin.
            taken = batch.len();
        }
        state.bytes.extend_from_slice(&batch[..taken]);
        state.frames += accepted;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.direction.hang_up_sender();
        Poll::Ready(Ok(()))
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.direction.hang_up_sender();
    }
}

/// The receiving half: takes every waiting frame at once, then hands them out one by one.
struct Receiver {
    direction: Arc<Direction>,
    /// Frames taken from the direction; `taken[next..]` are not handed out yet.
    taken: Vec<u8>,
    next: usize,
    max_frame: usize,
}

impl Stream for Receiver {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.next >= this.taken.len() {
            this.taken.clear();
            this.next = 0;
            let mut state = this.direction.lock();
            if state.bytes.is_empty() {
                if state.sender_gone {
                    return Poll::Ready(None);
                }
                state.receiver = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut state.bytes, &mut this.taken);
            state.frames = 0;
            let sender = state.sender.take();
            drop(state);
            if let Some(sender) = sender {
                sender.wake();
            }
        }
        let rest = &this.taken[this.next..];
        // Batches hold whole frames, so there is always a newline; without one, the rest is
        // the last frame.
        let length = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        this.next += length + 1;
        Poll::Ready(Some(Ok(if length > this.max_frame {
            FrameEvent::TooLarge { length }
        } else {
            FrameEvent::Frame(rest[..length].to_vec())
        })))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.direction.hang_up_receiver();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use futures::executor::block_on;
    use futures::io::AsyncWriteExt;

    #[test]
    fn an_end_dropped_unconnected_hangs_up_the_other() {
        use crate::{UntypedMessage, UntypedRole};
        let (ours, theirs) = Channel::duplex();
        drop(theirs);
        let asked = UntypedRole.builder().connect_with(ours, async |cx| {
            cx.send_request(UntypedMessage::new("anyone", ())?)
                .block_task()
                .await
        });
        let error = block_on(asked).unwrap_err();
        assert!(error.is_connection_closed(), "{error}");
    }

    fn halves(capacity: usize) -> (Sender, Receiver) {
        let direction = Direction::new(capacity);
        let sender = Sender {
            direction: Arc::clone(&direction),
        };
        let receiver = Receiver {
            direction,
            taken: Vec::new(),
            next: 0,
            max_frame: 4,
        };
        (sender, receiver)
    }

    fn frame(event: Option<Result<FrameEvent, Error>>) -> Vec<u8> {
        match event {
            Some(Ok(FrameEvent::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn frames_arrive_in_order_and_the_end_comes_after_the_last_one() {
        let (mut sender, mut receiver) = halves(2);
        block_on(async {
            let sending = async {
                for n in 0..5u8 {
                    sender.write_all(&[b'0' + n, b'\n']).await.unwrap();
                }
                drop(sender);
            };
            let receiving = async {
                let mut got = Vec::new();
                while let Some(event) = receiver.next().await {
                    got.extend(frame(Some(event)));
                }
                got
            };
            let ((), got) = futures::join!(sending, receiving);
            assert_eq!(got, b"01234");
        });
    }

    #[test]
    fn a_full_channel_holds_the_sender_until_the_receiver_takes() {
        let (mut sender, mut receiver) = halves(2);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        // Only as many frames as there is room for are taken, cut at a frame boundary...
        let mut write = |bytes: &[u8]| Pin::new(&mut sender).poll_write(&mut cx, bytes);
        assert!(matches!(write(b"a\nb\nc\n"), Poll::Ready(Ok(4))));
        assert!(write(b"c\n").is_pending());
        // ...and there is room again once the receiver has taken what waits.
        assert_eq!(frame(block_on(receiver.next())), b"a");
        assert!(matches!(write(b"c\nd\ne\n"), Poll::Ready(Ok(4))));
        assert!(write(b"e\n").is_pending());
        for expected in [b"b", b"c", b"d"] {
            assert_eq!(frame(block_on(receiver.next())), expected);
        }
        assert!(matches!(write(b"e\n"), Poll::Ready(Ok(2))));
        assert_eq!(frame(block_on(receiver.next())), b"e");
    }

    #[test]
    fn the_byte_bound_lets_a_large_frame_through_alone() {
        let (mut sender, mut receiver) = halves(1024);
        receiver.max_frame = usize::MAX;
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut large = vec![b'x'; MAX_WAITING_BYTES * 2];
        large.push(b'\n');
        let mut batch = large.clone();
        batch.extend_from_slice(b"small\n");
        let mut write = |bytes: &[u8]| Pin::new(&mut sender).poll_write(&mut cx, bytes);
        assert!(matches!(write(&batch), Poll::Ready(Ok(n)) if n == large.len()));
        assert!(write(b"small\n").is_pending());
        assert_eq!(
            frame(block_on(receiver.next())).len(),
            MAX_WAITING_BYTES * 2
        );
        assert!(matches!(write(b"small\n"), Poll::Ready(Ok(6))));
        assert_eq!(frame(block_on(receiver.next())), b"small");
    }

    #[test]
    fn oversized_frames_are_reported_and_a_gone_receiver_fails_the_sender() {
        let (mut sender, mut receiver) = halves(4);
        block_on(sender.write_all(b"12345\n")).unwrap();
        assert!(matches!(
            block_on(receiver.next()),
            Some(Ok(FrameEvent::TooLarge { length: 5 }))
        ));
        drop(receiver);
        let error = block_on(sender.write_all(b"x\n")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}
