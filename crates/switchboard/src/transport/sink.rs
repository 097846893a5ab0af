//! The transport's write half, as the outgoing actor sees it: somewhere batches of frames go.

use std::future::poll_fn;
use std::pin::Pin;

use futures::io::{AsyncWrite, AsyncWriteExt};
use futures::{Sink, SinkExt};

use super::channel;
use crate::Error;
use crate::wire::framing::batch::FrameBatch;

/// Where the outgoing actor writes. Each kind takes a whole [`FrameBatch`] in the form that
/// costs it least: the bytes as they are, or the messages one by one.
pub(crate) enum FrameSink {
    /// A byte stream: the batch's bytes, framing included, go out in one write.
    Bytes(Pin<Box<dyn AsyncWrite + Send>>),
    /// A sink of single messages, without framing (a frame per WebSocket message, a line).
    Frames(Pin<Box<dyn Sink<Vec<u8>, Error = Error> + Send>>),
    /// An in-process channel: takes as many messages of a batch at once as it has room for.
    Channel(channel::Sender),
}

impl FrameSink {
    /// Hands every frame of `batch` over, in order.
    pub(crate) async fn send(&mut self, batch: &FrameBatch) -> Result<(), Error> {
        match self {
            FrameSink::Bytes(writer) => write_all(writer, batch.bytes())
                .await
                .map_err(Error::transport),
            FrameSink::Frames(frames) => {
                for message in batch.messages() {
                    frames.feed(message.to_vec()).await?;
                }
                Ok(())
            }
            FrameSink::Channel(sender) => {
                let mut sent = 0;
                while sent < batch.frames() {
                    sent += poll_fn(|cx| sender.poll_send(cx, batch, sent))
                        .await
                        .map_err(Error::transport)?;
                }
                Ok(())
            }
        }
    }

    /// Pushes what was handed over out of any buffer on the way.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        match self {
            FrameSink::Bytes(writer) => writer.flush().await.map_err(Error::transport),
            FrameSink::Frames(frames) => frames.flush().await,
            FrameSink::Channel(_) => Ok(()),
        }
    }

    /// Ends the output: the peer sees its input end.
    pub(crate) async fn close(&mut self) -> Result<(), Error> {
        match self {
            FrameSink::Bytes(writer) => writer.close().await.map_err(Error::transport),
            FrameSink::Frames(frames) => frames.close().await,
            FrameSink::Channel(sender) => {
                sender.close();
                Ok(())
            }
        }
    }
}

/// `AsyncWriteExt::write_all`, except that an `Interrupted` write is tried again (as the byte
/// reader does), not taken for a failure.
async fn write_all(
    writer: &mut Pin<Box<dyn AsyncWrite + Send>>,
    mut bytes: &[u8],
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match poll_fn(|cx| writer.as_mut().poll_write(cx, bytes)).await {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
