//! In-process transport: two ends passing whole frames.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::{Sink, Stream};

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::FrameEvent;
use crate::{Error, Role};

/// How many frames may wait in each direction of a [`Channel::duplex`] pair.
const DEFAULT_CAPACITY: usize = 64;

/// One end of an in-process connection.
///
/// [`Channel::duplex`] gives two connected ends: connect one builder to each and they talk
/// without sockets, pipes or a runtime. Frames pass whole (no byte framing), through a bounded
/// queue in each direction, handed over in batches: a sender gathers the frames it writes
/// until its connection flushes (or it has gathered a queue's worth), then moves them across
/// under one lock, and the receiver takes everything waiting at once. It is the standard tool
/// for unit tests, and the fastest way to connect two peers in one process.
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
    incoming: Arc<Direction>,
    outgoing: Arc<Direction>,
}

impl Channel {
    /// Two connected ends, with room for 64 frames in each direction.
    pub fn duplex() -> (Channel, Channel) {
        Channel::duplex_with_capacity(DEFAULT_CAPACITY)
    }

    /// Two connected ends, with room for `frames` frames (at least one) in each direction.
    pub fn duplex_with_capacity(frames: usize) -> (Channel, Channel) {
        let a_to_b = Direction::new(frames);
        let b_to_a = Direction::new(frames);
        (
            Channel {
                incoming: Arc::clone(&b_to_a),
                outgoing: Arc::clone(&a_to_b),
            },
            Channel {
                incoming: a_to_b,
                outgoing: b_to_a,
            },
        )
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").finish_non_exhaustive()
    }
}

impl<R: Role> ConnectTo<R> for Channel {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let incoming = Receiver {
            direction: self.incoming,
            ready: VecDeque::new(),
            max_frame: config.max_frame_bytes,
        };
        let outgoing = Sender {
            capacity: self.outgoing.capacity,
            direction: self.outgoing,
            gathered: Vec::new(),
        };
        Ok(Transport::new(incoming, outgoing))
    }
}

/// The frames travelling one way, and who waits for whom.
struct Direction {
    state: Mutex<DirectionState>,
    capacity: usize,
}

struct DirectionState {
    frames: VecDeque<Vec<u8>>,
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
                frames: VecDeque::new(),
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
}

/// The sending half: gathers frames, moves them across on flush.
struct Sender {
    direction: Arc<Direction>,
    capacity: usize,
    gathered: Vec<Vec<u8>>,
}

fn receiver_gone() -> Error {
    Error::connection_closed("the other end of the channel is gone")
}

impl Sink<Vec<u8>> for Sender {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.gathered.len() < self.capacity {
            Poll::Ready(Ok(()))
        } else {
            self.poll_flush(cx)
        }
    }

    fn start_send(self: Pin<&mut Self>, frame: Vec<u8>) -> Result<(), Error> {
        self.get_mut().gathered.push(frame);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.gathered.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let mut state = this.direction.lock();
        if state.receiver_gone {
            return Poll::Ready(Err(receiver_gone()));
        }
        let room = this.capacity.saturating_sub(state.frames.len());
        let moving = room.min(this.gathered.len());
        state.frames.extend(this.gathered.drain(..moving));
        let receiver = if moving > 0 {
            state.receiver.take()
        } else {
            None
        };
        let done = this.gathered.is_empty();
        if !done {
            state.sender = Some(cx.waker().clone());
        }
        drop(state);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        if done {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Dropping the sender tells the receiver; what is gathered must get across first.
        self.poll_flush(cx)
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.direction.lock();
        state.sender_gone = true;
        let receiver = state.receiver.take();
        drop(state);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

/// The receiving half: takes every waiting frame at once, then hands them out one by one.
struct Receiver {
    direction: Arc<Direction>,
    ready: VecDeque<Vec<u8>>,
    max_frame: usize,
}

impl Stream for Receiver {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ready.is_empty() {
            let mut state = this.direction.lock();
            if state.frames.is_empty() {
                if state.sender_gone {
                    return Poll::Ready(None);
                }
                state.receiver = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut state.frames, &mut this.ready);
            let sender = state.sender.take();
            drop(state);
            if let Some(sender) = sender {
                sender.wake();
            }
        }
        Poll::Ready(this.ready.pop_front().map(|frame| {
            Ok(if frame.len() > this.max_frame {
                FrameEvent::TooLarge {
                    length: frame.len(),
                }
            } else {
                FrameEvent::Frame(frame)
            })
        }))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = self.direction.lock();
        state.receiver_gone = true;
        let frames = std::mem::take(&mut state.frames);
        let sender = state.sender.take();
        drop(state);
        drop(frames);
        if let Some(sender) = sender {
            sender.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::{SinkExt, StreamExt};

    fn halves(capacity: usize) -> (Sender, Receiver) {
        let direction = Direction::new(capacity);
        let sender = Sender {
            direction: Arc::clone(&direction),
            capacity: direction.capacity,
            gathered: Vec::new(),
        };
        let receiver = Receiver {
            direction,
            ready: VecDeque::new(),
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
                    sender.send(vec![n]).await.unwrap();
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
            assert_eq!(got, vec![0, 1, 2, 3, 4]);
        });
    }

    #[test]
    fn a_full_channel_holds_the_sender_until_the_receiver_takes() {
        let (mut sender, mut receiver) = halves(1);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        Pin::new(&mut sender).start_send(b"a".to_vec()).unwrap();
        assert!(Pin::new(&mut sender).poll_flush(&mut cx).is_ready());
        Pin::new(&mut sender).start_send(b"b".to_vec()).unwrap();
        assert!(Pin::new(&mut sender).poll_flush(&mut cx).is_pending());
        assert_eq!(frame(block_on(receiver.next())), b"a");
        assert!(Pin::new(&mut sender).poll_flush(&mut cx).is_ready());
        assert_eq!(frame(block_on(receiver.next())), b"b");
    }

    #[test]
    fn oversized_frames_are_reported_and_a_gone_receiver_fails_the_sender() {
        let (mut sender, mut receiver) = halves(4);
        block_on(sender.send(b"12345".to_vec())).unwrap();
        assert!(matches!(
            block_on(receiver.next()),
            Some(Ok(FrameEvent::TooLarge { length: 5 }))
        ));
        drop(receiver);
        let error = block_on(sender.send(b"x".to_vec())).unwrap_err();
        assert!(error.is_connection_closed());
    }
}
