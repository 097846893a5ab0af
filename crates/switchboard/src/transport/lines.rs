//! A transport over a sink and a stream of text lines.

use std::fmt;
use std::future::ready;
use std::io;

use futures::{Sink, SinkExt, Stream, StreamExt};

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::framing::strip_line_ending;
use crate::wire::{FrameEvent, Framing};
use crate::{Error, Role};

/// A transport made of a sink of outgoing lines and a stream of incoming lines, one message
/// per line (without its line ending).
///
/// Blank incoming lines are skipped; a trailing `\r` or `\n` is removed. The stream ending is
/// the end of input; an `Err` item is a transport failure.
///
/// ```
/// use futures::channel::mpsc;
/// use futures::StreamExt;
/// use switchboard::{Lines, UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let (to_peer, mut peer_reads) = mpsc::unbounded::<String>();
/// let incoming = futures::stream::iter([Ok::<_, std::io::Error>(
///     r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.to_string(),
/// )]);
/// let server = UntypedRole.builder().on_receive_request(async |_: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!("pong"))
/// });
/// server.connect_to(Lines::new(to_peer, incoming)).await.unwrap();
/// assert_eq!(peer_reads.next().await.unwrap(), r#"{"jsonrpc":"2.0","id":1,"result":"pong"}"#);
/// # });
/// ```
pub struct Lines<W, R> {
    outgoing: W,
    incoming: R,
}

impl<W, R> Lines<W, R> {
    /// Lines from `outgoing` (where frames are written) and `incoming` (where they are read).
    pub fn new(outgoing: W, incoming: R) -> Self {
        Lines { outgoing, incoming }
    }
}

impl<W, R> fmt::Debug for Lines<W, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines").finish_non_exhaustive()
    }
}

impl<Rl, W, R> ConnectTo<Rl> for Lines<W, R>
where
    Rl: Role,
    W: Sink<String> + Send + 'static,
    W::Error: fmt::Display,
    R: Stream<Item = io::Result<String>> + Send + 'static,
{
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let max = config.max_frame_bytes;
        let incoming = self.incoming.filter_map(move |line| {
            ready(match line {
                Err(error) => Some(Err(Error::transport(error))),
                Ok(mut line) => {
                    let length = strip_line_ending(&line).len();
                    line.truncate(length);
                    FrameEvent::from_whole_message(line.into_bytes(), max).map(Ok)
                }
            })
        });
        let outgoing = self
            .outgoing
            .sink_map_err(Error::transport)
            .with(|frame: Vec<u8>| ready(String::from_utf8(frame).map_err(Error::serialization)));
        // Frames are encoded as lines, so their messages hold no line break; the sink takes
        // the messages without the `\n`.
        Ok(Transport::new(incoming, outgoing).encoded_as(Framing::Newline))
    }
}
