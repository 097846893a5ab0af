//! A transport over a byte reader and writer, framed by newlines or `Content-Length` headers.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::io::{AsyncRead, AsyncWrite};

use super::{ConnectTo, Transport, TransportConfig};
use crate::wire::{FrameDecoder, FrameEvent, Framing};
use crate::{Error, Role};

/// A transport over an [`AsyncWrite`] and an [`AsyncRead`] (the `futures` traits): JSON-RPC
/// over pipes and sockets.
///
/// Frames are cut and written with a [`Framing`]: [`ByteStreams::framing`] chooses one for
/// this component; without it, the connection's ([`Builder::framing`](crate::Builder::framing)),
/// which is newlines unless set. The rules of each are in [`wire`](crate::wire); in every one,
/// a frame over the connection's maximum is skipped as it streams in without being held whole.
/// Writing: frames are written in batches: everything queued since the last write goes out in
/// one write, and the writer is flushed when the outgoing queue has run dry.
///
/// With the `tokio` feature, [`ByteStreams::tokio`] takes tokio's I/O types.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use switchboard::{ByteStreams, UntypedMessage, UntypedRole};
/// # use std::{io, pin::Pin, task::{Context, Poll}};
/// # /// A writer whose bytes the test can read afterwards.
/// # #[derive(Clone, Default)]
/// # struct Shared(Arc<Mutex<Vec<u8>>>);
/// # impl futures::io::AsyncWrite for Shared {
/// #     fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
/// #         self.0.lock().unwrap().extend_from_slice(bytes);
/// #         Poll::Ready(Ok(bytes.len()))
/// #     }
/// #     fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
/// #     fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
/// # }
///
/// # futures::executor::block_on(async {
/// let input = &b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n"[..];
/// let output = Shared::default();
/// let server = UntypedRole.builder().on_receive_request(async |_: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!("pong"))
/// });
/// server.connect_to(ByteStreams::new(output.clone(), input)).await.unwrap();
/// assert_eq!(*output.0.lock().unwrap(), b"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"pong\"}\n");
/// # });
/// ```
///
/// The same over LSP's `Content-Length` framing:
///
/// ```
/// use switchboard::{ByteStreams, UntypedMessage, UntypedRole};
/// use switchboard::transport::Framing;
/// # use std::sync::{Arc, Mutex};
/// # use std::{io, pin::Pin, task::{Context, Poll}};
/// # #[derive(Clone, Default)]
/// # struct Shared(Arc<Mutex<Vec<u8>>>);
/// # impl futures::io::AsyncWrite for Shared {
/// #     fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
/// #         self.0.lock().unwrap().extend_from_slice(bytes);
/// #         Poll::Ready(Ok(bytes.len()))
/// #     }
/// #     fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
/// #     fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
/// # }
///
/// # futures::executor::block_on(async {
/// let input = &b"Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}"[..];
/// let output = Shared::default();
/// let server = UntypedRole.builder().on_receive_request(async |_: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!("pong"))
/// });
/// let streams = ByteStreams::new(output.clone(), input).framing(Framing::ContentLength);
/// server.connect_to(streams).await.unwrap();
/// assert_eq!(
///     *output.0.lock().unwrap(),
///     b"Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"pong\"}"
/// );
/// # });
/// ```
pub struct ByteStreams<W, R> {
    writer: W,
    reader: R,
    /// `None`: the connection's framing.
    framing: Option<Framing>,
}

impl<W, R> ByteStreams<W, R>
where
    W: AsyncWrite + Send + Unpin + 'static,
    R: AsyncRead + Send + Unpin + 'static,
{
    /// Byte streams from `writer` (where frames go) and `reader` (where they come from).
    pub fn new(writer: W, reader: R) -> Self {
        ByteStreams {
            writer,
            reader,
            framing: None,
        }
    }
}

impl<W, R> ByteStreams<W, R> {
    /// Reads and writes with `framing`, whatever the connection's. A byte stream has no
    /// message boundaries of its own, so [`Framing::WholeMessage`] fails when the connection
    /// starts.
    #[must_use]
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }
}

#[cfg(feature = "tokio")]
impl<W, R> ByteStreams<tokio_util::compat::Compat<W>, tokio_util::compat::Compat<R>>
where
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
{
    /// Byte streams over tokio's I/O types (a `tokio::io::duplex` pipe, a child's stdio, ...).
    pub fn tokio(writer: W, reader: R) -> Self {
        use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};
        ByteStreams {
            writer: writer.compat_write(),
            reader: reader.compat(),
            framing: None,
        }
    }
}

impl<W, R> fmt::Debug for ByteStreams<W, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteStreams")
            .field("framing", &self.framing)
            .finish_non_exhaustive()
    }
}

impl<Rl, W, R> ConnectTo<Rl> for ByteStreams<W, R>
where
    Rl: Role,
    W: AsyncWrite + Send + Unpin + 'static,
    R: AsyncRead + Send + Unpin + 'static,
{
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let framing = self.framing.unwrap_or(config.framing);
        let incoming = FrameReader {
            reader: self.reader,
            decoder: FrameDecoder::new(framing, config.max_frame_bytes)?,
            state: ReadState::Reading,
        };
        Ok(Transport::from_writer(incoming, self.writer, framing))
    }
}

#[derive(PartialEq, Eq)]
enum ReadState {
    Reading,
    /// End of input seen; the decoder may still hold a last frame.
    Eof,
    Done,
}

/// Reads bytes and cuts them into frames.
struct FrameReader<R> {
    reader: R,
    decoder: FrameDecoder,
    state: ReadState,
}

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.state {
                ReadState::Done => return Poll::Ready(None),
                ReadState::Eof => {
                    this.state = ReadState::Done;
                    return Poll::Ready(this.decoder.finish().transpose());
                }
                ReadState::Reading => {}
            }
            match this.decoder.next_frame() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                // The framing cannot be followed any further: the input ends here.
                Err(error) => {
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(error)));
                }
            }
            match Pin::new(&mut this.reader).poll_read(cx, this.decoder.read_buf()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => this.state = ReadState::Eof,
                Poll::Ready(Ok(n)) => this.decoder.filled(n),
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(error)) => {
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(Error::transport(error))));
                }
            }
        }
    }
}
