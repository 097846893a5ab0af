//! The WebSocket profile, server side: one message per text frame, both ways.
//!
//! The socket's writer belongs to a task of its own, fed by a bounded queue: the
//! connection's messages go there, and so do the few things the server says itself. A
//! JSON-RPC batch is not taken (the transport carries one message per frame): it is answered
//! with a -32600 error frame, as the official transport answers it. A ping goes out every
//! keepalive; a peer from which nothing has come (not even the pong a WebSocket answers a
//! ping with) for two of them is gone without a word, and its input ends. When the
//! connection is done with its output, the writer says goodbye (the close handshake) and
//! ends, even after the connection itself has.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use switchboard::Error;
use switchboard::transport::Transport;
use switchboard::wire::FrameEvent;

use super::connection::STREAM_QUEUE;
use crate::protocol::{batch_refusal, is_batch};

/// How long the writer may take to close the socket once the connection is done.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The transport over `socket`: messages of at most `max_message` bytes; input ends when
/// `stop` resolves or the peer has been silent for two `keepalive`s.
pub(crate) fn transport(
    socket: WebSocket,
    max_message: usize,
    keepalive: Duration,
    stop: BoxFuture<'static, ()>,
) -> Result<Transport, Error> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::internal_error("a WebSocket connection needs a tokio runtime"))?;
    let (writer, reader) = socket.split();
    let (outgoing, queued) = mpsc::channel::<Vec<u8>>(STREAM_QUEUE);
    let (refusals, refused) = mpsc::channel::<Vec<u8>>(1);
    runtime.spawn(write(writer, queued, refused, keepalive));
    let heard = Arc::new(Mutex::new(Instant::now()));
    let last_heard = Arc::clone(&heard);
    let incoming = reader.filter_map(move |message| {
        *lock(&heard) = Instant::now();
        std::future::ready(match message {
            Ok(Message::Text(text)) if is_batch(text.as_str().as_bytes()) => {
                // Full means a refusal is being written already: one is enough to say why.
                let _ = refusals.clone().try_send(batch_refusal().into_bytes());
                None
            }
            Ok(Message::Text(text)) => {
                let bytes = text.as_str().as_bytes().to_vec();
                FrameEvent::from_whole_message(bytes, max_message).map(Ok)
            }
            // One message per text frame; binary frames carry none.
            Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Close(_)) => {
                None
            }
            Err(error) => Some(Err(Error::connection_closed(format!(
                "the WebSocket failed: {error}"
            )))),
        })
    });
    let ended = futures::future::select(stop, Box::pin(silence(last_heard, keepalive * 2)));
    let incoming = incoming.take_until(ended);
    let outgoing = outgoing.sink_map_err(|_| Error::connection_closed("the WebSocket has ended"));
    Ok(Transport::new(incoming, outgoing))
}

/// Writes the connection's messages, the refusals and the pings, until the connection is
/// done with its output; then closes the socket.
async fn write(
    mut writer: SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Vec<u8>>,
    mut refused: mpsc::Receiver<Vec<u8>>,
    keepalive: Duration,
) {
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    loop {
        let frame = tokio::select! {
            message = queued.next() => match message {
                Some(message) => text(message),
                None => break,
            },
            Some(refusal) = refused.next() => text(refusal),
            _ = pings.tick() => Message::Ping(Default::default()),
        };
        // What else is queued goes in the same write: one flush for a burst (an update and
        // the answer after it).
        let mut written = writer.feed(frame).await;
        while written.is_ok()
            && let Ok(message) = queued.try_recv()
        {
            written = writer.feed(text(message)).await;
        }
        if written.and(writer.flush().await).is_err() {
            // The peer is gone: the reader will say so.
            return;
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, writer.close()).await;
}

fn text(message: Vec<u8>) -> Message {
    Message::Text(String::from_utf8_lossy(&message).into_owned().into())
}

/// Resolves once nothing has been heard for `limit`.
async fn silence(heard: Arc<Mutex<Instant>>, limit: Duration) {
    loop {
        let deadline = *lock(&heard) + limit;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
