//! In-process transport: two ends passing whole frames.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::framing::batch::FrameBatch;
use crate::wire::framing::whole;
use crate::wire::{FrameEvent, Framing};
use crate::{Error, Role};

/// How many frames may wait in each direction of a [`Channel::duplex`] pair.
const DEFAULT_CAPACITY: usize = 1024;

/// How many bytes of frames may wait in each direction, whatever the frame count (a frame
/// larger than this travels alone). As much as a pipe holds, so a batch crosses in one go.
const MAX_WAITING_BYTES: usize = 64 * 1024;

/// One end of an in-process connection.
///
/// [`Channel::duplex`] gives two connected ends: connect one builder to each and they talk
/// without sockets, pipes or a runtime. Frames pass whole ([`Framing::WholeMessage`]: no
/// delimiter, no byte framing), through a bounded
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
            taken: FrameBatch::default(),
            next: 0,
            max_frame: config.max_frame_bytes,
        };
        let outgoing = Sender {
            direction: ends.outgoing,
        };
        Ok(Transport::from_channel(incoming, outgoing))
    }
}

/// The frames travelling one way, and who waits for whom.
struct Direction {
    state: Mutex<DirectionState>,
    capacity: usize,
}

struct DirectionState {
    /// Whole frames, as the sender handed them over; never more than the capacity.
    frames: FrameBatch,
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
                frames: FrameBatch::default(),
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
        let frames = std::mem::take(&mut state.frames);
        let sender = state.sender.take();
        drop(state);
        drop(frames);
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

/// The sending half. The connection's outgoing actor hands it batches of frames; as many
/// frames of a batch are taken as there is room for, so a frame is never split. Frames are
/// only allocated one by one on the receiving side.
pub(crate) struct Sender {
    direction: Arc<Direction>,
}

impl Sender {
    /// Takes frames of `batch` from the `from`th on, as many as there is room for, and says
    /// how many (at least one, or `Pending` until there is room).
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        batch: &FrameBatch,
        from: usize,
    ) -> Poll<io::Result<usize>> {
        let mut state = self.direction.lock();
        if state.receiver_gone {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the other end of the channel is gone",
            )));
        }
        let room = self
            .direction
            .capacity
            .saturating_sub(state.frames.frames());
        let mut accepted = 0;
        for message in batch.messages_from(from).take(room) {
            // Within the byte bound, except that a frame larger than it goes alone into an
            // empty queue.
            let waiting = state.frames.len();
            if waiting > 0 && waiting + message.len() > MAX_WAITING_BYTES {
                break;
            }
            state.frames.push(Framing::WholeMessage, message);
            accepted += 1;
        }
        if accepted == 0 {
            remember(&mut state.sender, cx);
            return Poll::Pending;
        }
        let receiver = state.receiver.take();
        drop(state);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        Poll::Ready(Ok(accepted))
    }

    /// No more frames: the receiver sees the end once it has taken what waits.
    pub(crate) fn close(&self) {
        self.direction.hang_up_sender();
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
    /// Frames taken from the direction; those from the `next`th on are not handed out yet.
    taken: FrameBatch,
    next: usize,
    max_frame: usize,
}

impl Stream for Receiver {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(message) = this.taken.message(this.next) {
                this.next += 1;
                // The size rule of every framing; a connection sends no blank frames, but
                // one is skipped like anywhere else.
                match whole::decode(message, this.max_frame) {
                    Some(event) => return Poll::Ready(Some(Ok(event))),
                    None => continue,
                }
            }
            this.taken.clear(usize::MAX);
            this.next = 0;
            let mut state = this.direction.lock();
            if state.frames.is_empty() {
                if state.sender_gone {
                    return Poll::Ready(None);
                }
                remember(&mut state.receiver, cx);
                return Poll::Pending;
            }
            std::mem::swap(&mut state.frames, &mut this.taken);
            let sender = state.sender.take();
            drop(state);
            if let Some(sender) = sender {
                sender.wake();
            }
        }
    }
}

/// Keeps the waker of `cx` in `slot`, unless the one there already wakes the same task
/// (cloning a waker and dropping the old one are locked instructions, once per poll).
fn remember(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|kept| kept.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
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
            taken: FrameBatch::default(),
            next: 0,
            max_frame: 4,
        };
        (sender, receiver)
    }

    fn batch(frames: &[&[u8]]) -> FrameBatch {
        let mut batch = FrameBatch::default();
        for frame in frames {
            batch.push(Framing::WholeMessage, frame);
        }
        batch
    }

    /// Sends every frame, waiting for room as the outgoing actor does.
    async fn send_all(sender: &Sender, frames: &[&[u8]]) -> io::Result<()> {
        let batch = batch(frames);
        let mut sent = 0;
        while sent < batch.frames() {
            sent += std::future::poll_fn(|cx| sender.poll_send(cx, &batch, sent)).await?;
        }
        Ok(())
    }

    fn frame(event: Option<Result<FrameEvent, Error>>) -> Vec<u8> {
        match event {
            Some(Ok(FrameEvent::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn frames_arrive_in_order_and_the_end_comes_after_the_last_one() {
        let (sender, mut receiver) = halves(2);
        block_on(async {
            let sending = async {
                for n in 0..5u8 {
                    send_all(&sender, &[&[b'0' + n]]).await.unwrap();
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
        let (sender, mut receiver) = halves(2);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        // Only as many frames as there is room for are taken...
        let abc = batch(&[b"a", b"b", b"c"]);
        assert!(matches!(
            sender.poll_send(&mut cx, &abc, 0),
            Poll::Ready(Ok(2))
        ));
        assert!(sender.poll_send(&mut cx, &abc, 2).is_pending());
        // ...and there is room again once the receiver has taken what waits.
        assert_eq!(frame(block_on(receiver.next())), b"a");
        let cde = batch(&[b"c", b"d", b"e"]);
        assert!(matches!(
            sender.poll_send(&mut cx, &cde, 0),
            Poll::Ready(Ok(2))
        ));
        assert!(sender.poll_send(&mut cx, &cde, 2).is_pending());
        for expected in [b"b", b"c", b"d"] {
            assert_eq!(frame(block_on(receiver.next())), expected);
        }
        assert!(matches!(
            sender.poll_send(&mut cx, &cde, 2),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(frame(block_on(receiver.next())), b"e");
    }

    #[test]
    fn the_byte_bound_lets_a_large_frame_through_alone() {
        let (sender, mut receiver) = halves(1024);
        receiver.max_frame = usize::MAX;
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let large = vec![b'x'; MAX_WAITING_BYTES * 2];
        let both = batch(&[&large, b"small"]);
        assert!(matches!(
            sender.poll_send(&mut cx, &both, 0),
            Poll::Ready(Ok(1))
        ));
        assert!(sender.poll_send(&mut cx, &both, 1).is_pending());
        assert_eq!(
            frame(block_on(receiver.next())).len(),
            MAX_WAITING_BYTES * 2
        );
        assert!(matches!(
            sender.poll_send(&mut cx, &both, 1),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(frame(block_on(receiver.next())), b"small");
    }

    #[test]
    fn frames_pass_whole_line_breaks_and_all() {
        let (sender, mut receiver) = halves(4);
        receiver.max_frame = 100;
        block_on(send_all(&sender, &[b"[1,\n2]"])).unwrap();
        assert_eq!(frame(block_on(receiver.next())), b"[1,\n2]");
    }

    #[test]
    fn oversized_frames_are_reported_and_a_gone_receiver_fails_the_sender() {
        let (sender, mut receiver) = halves(4);
        block_on(send_all(&sender, &[b"12345"])).unwrap();
        assert!(matches!(
            block_on(receiver.next()),
            Some(Ok(FrameEvent::TooLarge { length: 5 }))
        ));
        drop(receiver);
        let error = block_on(send_all(&sender, &[b"x"])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}
