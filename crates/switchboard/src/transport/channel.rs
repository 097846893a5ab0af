//! In-process transport: two ends passing whole frames.

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::FrameEvent;
use crate::{Error, Role};

/// How many frames may wait in each direction of a [`Channel::duplex`] pair.
const DEFAULT_CAPACITY: usize = 64;

/// One end of an in-process connection.
///
/// [`Channel::duplex`] gives two connected ends: connect one builder to each and they talk
/// without sockets, pipes or a runtime. Frames pass whole (no byte framing), through a bounded
/// queue in each direction. It is the standard tool for unit tests.
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
#[derive(Debug)]
pub struct Channel {
    incoming: mpsc::Receiver<Vec<u8>>,
    outgoing: mpsc::Sender<Vec<u8>>,
}

impl Channel {
    /// Two connected ends, with room for 64 frames in each direction.
    pub fn duplex() -> (Channel, Channel) {
        Channel::duplex_with_capacity(DEFAULT_CAPACITY)
    }

    /// Two connected ends, with room for `frames` frames in each direction.
    pub fn duplex_with_capacity(frames: usize) -> (Channel, Channel) {
        let (a_to_b, b_from_a) = mpsc::channel(frames);
        let (b_to_a, a_from_b) = mpsc::channel(frames);
        (
            Channel {
                incoming: a_from_b,
                outgoing: a_to_b,
            },
            Channel {
                incoming: b_from_a,
                outgoing: b_to_a,
            },
        )
    }
}

impl<R: Role> ConnectTo<R> for Channel {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let max = config.max_frame_bytes;
        let incoming = self.incoming.map(move |frame| {
            Ok(if frame.len() > max {
                FrameEvent::TooLarge {
                    length: frame.len(),
                }
            } else {
                FrameEvent::Frame(frame)
            })
        });
        let outgoing = self
            .outgoing
            .sink_map_err(|_| Error::connection_closed("the other end of the channel is gone"));
        Ok(Transport::new(incoming, outgoing))
    }
}
