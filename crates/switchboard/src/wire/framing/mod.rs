//! Framing: how a byte stream (or a transport's own frames) is cut into messages, and how
//! messages are written back. One module per framing, each owning both directions:
//!
//! | framing | module | reading | writing |
//! |---|---|---|---|
//! | [`Framing::Newline`] | `newline.rs` | [`NewlineDecoder`]: a frame ends at `\n` | the message, line breaks made spaces, then `\n` |
//! | [`Framing::ContentLength`] | `content_length.rs` | [`ContentLengthDecoder`]: headers, a blank line, then `Content-Length` bytes | `Content-Length: N\r\n\r\n`, then the message |
//! | [`Framing::WholeMessage`] | `whole.rs` | each transport frame is one message ([`FrameEvent::from_whole_message`]) | the message as it is |
//!
//! Two rules hold for every framing and live here, once: a frame longer than the maximum is
//! refused without being held whole ([`Verdict`]), and a frame of only whitespace carries no
//! message and is skipped. [`FrameDecoder`] is the byte-stream reader a component builds from
//! a [`Framing`]; `batch.rs` holds outgoing frames encoded back to back, so the outgoing
//! queue and the channels carry frames without knowing where one ends.

pub(crate) mod batch;
pub(crate) mod content_length;
pub(crate) mod newline;
pub(crate) mod read_buffer;
pub(crate) mod whole;

use crate::Error;

pub use content_length::ContentLengthDecoder;
pub use newline::NewlineDecoder;
pub(crate) use newline::strip_line_ending;

/// How messages are cut from a transport's input and written to its output.
///
/// A component that carries bytes ([`ByteStreams`](crate::ByteStreams),
/// [`Stdio`](crate::transport::Stdio), a child's stdio) takes its framing from
/// `.framing(..)` on the component, else from [`Builder::framing`](crate::Builder::framing),
/// else from the role ([`Role::framing`](crate::Role::framing)), which is newlines unless its
/// protocol says otherwise. A component that carries whole messages ([`Channel`](crate::Channel), a
/// sink and stream of frames given to [`Transport::new`](crate::transport::Transport::new)) needs none.
///
/// ```
/// use switchboard::wire::Framing;
///
/// assert_eq!(Framing::default(), Framing::Newline);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Framing {
    /// One message per line: the usual JSON-RPC over pipes and sockets (ACP, MCP's stdio).
    #[default]
    Newline,
    /// A `Content-Length: N` header (other headers, such as `Content-Type`, are allowed and
    /// ignored), a blank line, then exactly `N` bytes of message: the Language Server Protocol's
    /// base protocol.
    ContentLength,
    /// The transport delimits messages itself (a WebSocket message, an HTTP body): each of its
    /// frames is one message. A byte stream cannot carry this framing.
    WholeMessage,
}

/// What a decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEvent {
    /// One message's bytes, without any framing.
    Frame(Vec<u8>),
    /// A frame longer than the maximum was skipped; `length` is its size in bytes.
    TooLarge {
        /// How many bytes the skipped frame had (without its framing).
        length: usize,
    },
}

/// What the size and blank rules make of a frame: the one place that decides it, for every
/// framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Only whitespace (or nothing): no message, skipped without a word.
    Blank,
    /// Longer than the maximum: refused, reported with its length.
    TooLarge(usize),
    /// A frame to parse.
    Keep,
}

impl Verdict {
    /// The verdict on a frame of `length` bytes that is `blank` (only whitespace). A blank
    /// frame is skipped whatever its length, so that a run of whitespace is never an error.
    pub(crate) fn of(length: usize, blank: bool, max_frame: usize) -> Verdict {
        if blank {
            Verdict::Blank
        } else if length > max_frame {
            Verdict::TooLarge(length)
        } else {
            Verdict::Keep
        }
    }

    /// The verdict on a whole frame.
    pub(crate) fn on(frame: &[u8], max_frame: usize) -> Verdict {
        Verdict::of(frame.len(), is_blank(frame), max_frame)
    }
}

/// Only ASCII whitespace (or nothing). Stops at the first other byte, so a JSON message costs
/// one comparison.
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Cuts a byte stream into frames with the chosen [`Framing`]: what a byte component reads
/// through.
///
/// Read bytes into [`FrameDecoder::read_buf`], report how many arrived with
/// [`FrameDecoder::filled`], and take frames out with [`FrameDecoder::next_frame`] until it
/// returns `Ok(None)`; at end of input, [`FrameDecoder::finish`]. An `Err` means the input
/// cannot be read any further (a malformed `Content-Length` header, or the input ending inside
/// a message): the stream's position is lost, and the connection ends with that error.
///
/// ```
/// use switchboard::wire::{FrameDecoder, FrameEvent, Framing};
///
/// let mut decoder = FrameDecoder::new(Framing::ContentLength, 1024).unwrap();
/// let input = b"Content-Length: 7\r\n\r\n{\"a\":1}Content-Le";
/// decoder.read_buf()[..input.len()].copy_from_slice(input);
/// decoder.filled(input.len());
/// assert_eq!(decoder.next_frame().unwrap(), Some(FrameEvent::Frame(b"{\"a\":1}".to_vec())));
/// assert_eq!(decoder.next_frame().unwrap(), None); // the next header is not complete
/// assert!(decoder.finish().unwrap_err().message().contains("ended inside a header"));
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    inner: Decoder,
}

#[derive(Debug)]
enum Decoder {
    Newline(NewlineDecoder),
    ContentLength(ContentLengthDecoder),
}

impl FrameDecoder {
    /// A decoder for `framing` that refuses frames longer than `max_frame` bytes.
    ///
    /// # Errors
    ///
    /// [`Framing::WholeMessage`]: a byte stream has no message boundaries of its own.
    pub fn new(framing: Framing, max_frame: usize) -> Result<Self, Error> {
        let inner = match framing {
            Framing::Newline => Decoder::Newline(NewlineDecoder::new(max_frame)),
            Framing::ContentLength => Decoder::ContentLength(ContentLengthDecoder::new(max_frame)),
            Framing::WholeMessage => {
                return Err(Error::transport(
                    "a byte stream cannot be read with whole-message framing: it has no \
                     message boundaries; choose Framing::Newline or Framing::ContentLength",
                ));
            }
        };
        Ok(FrameDecoder { inner })
    }

    /// Space to read into. Never empty.
    pub fn read_buf(&mut self) -> &mut [u8] {
        match &mut self.inner {
            Decoder::Newline(decoder) => decoder.read_buf(),
            Decoder::ContentLength(decoder) => decoder.read_buf(),
        }
    }

    /// Records that `n` bytes were read into the start of [`FrameDecoder::read_buf`].
    pub fn filled(&mut self, n: usize) {
        match &mut self.inner {
            Decoder::Newline(decoder) => decoder.filled(n),
            Decoder::ContentLength(decoder) => decoder.filled(n),
        }
    }

    /// The next frame, or `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<FrameEvent>, Error> {
        match &mut self.inner {
            Decoder::Newline(decoder) => Ok(decoder.next_frame()),
            Decoder::ContentLength(decoder) => decoder.next_frame(),
        }
    }

    /// At end of input: the last frame, if the framing allows one to end there. Call after
    /// [`FrameDecoder::next_frame`] returned `Ok(None)`.
    pub fn finish(&mut self) -> Result<Option<FrameEvent>, Error> {
        match &mut self.inner {
            Decoder::Newline(decoder) => Ok(decoder.finish()),
            Decoder::ContentLength(decoder) => decoder.finish(),
        }
    }
}
