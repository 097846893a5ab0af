//! `Content-Length` framing, both ways: the Language Server Protocol's base protocol.
//!
//! A frame is a header section, a blank line, and then exactly as many bytes of message as the
//! `Content-Length` header says:
//!
//! ```text
//! Content-Length: 40\r\n
//! Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n
//! \r\n
//! {"jsonrpc":"2.0","id":1,"method":"ping"}
//! ```
//!
//! Writing ([`encode`]): `Content-Length: N\r\n\r\n`, then the message, unchanged.
//!
//! Reading ([`ContentLengthDecoder`]), the rules:
//! - Header names are matched without regard to case; headers other than `Content-Length`
//!   (`Content-Type`) are allowed and ignored. A line may end in `\r\n` or `\n`. Blank lines
//!   before a frame's first header are skipped.
//! - The header section is at most [`MAX_HEADER_BYTES`]; the length must be a plain decimal
//!   number of bytes, given once (or repeated with the same value).
//! - A message longer than the maximum is reported as soon as its header is read (its length is
//!   known then), and its bytes are dropped as they stream in, never held. A message of only
//!   whitespace is skipped, as in every framing.
//! - Anything else (a line that is not a header, a missing, negative, non-numeric or
//!   contradictory length, a header section too long, the input ending inside a frame) is an
//!   error, and the decoder reads nothing more: the error is returned again on every later
//!   call. There is no resynchronising: only a message's length says where the next header
//!   starts, and scanning ahead for something that looks like `Content-Length:` could take
//!   text inside a message for a header. So the input ends, with an error that says what was
//!   wrong.

use std::ops::Range;

use super::read_buffer::ReadBuffer;
use super::{FrameEvent, Verdict, is_blank};
use crate::Error;

/// The longest header section accepted, blank line included. Real ones are a few dozen bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// How much of a bad header line an error message quotes.
const QUOTED_BYTES: usize = 60;

/// Appends `message` as one frame; returns where the message sits in `out`.
pub(super) fn encode(out: &mut Vec<u8>, message: &[u8]) -> Range<usize> {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(itoa::Buffer::new().format(message.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    let start = out.len();
    out.extend_from_slice(message);
    start..out.len()
}

/// Where the decoder is in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a frame's header lines.
    Headers {
        /// The `Content-Length` seen so far in this header section.
        length: Option<usize>,
        /// Header lines read so far (blank lines before the first are not counted).
        lines: usize,
        /// Bytes of this header section consumed so far, for [`MAX_HEADER_BYTES`].
        bytes: usize,
    },
    /// Waiting for all `length` bytes of a message, which will be kept.
    Body { length: usize },
    /// Dropping a message longer than the maximum: `left` bytes of it are still to come.
    Skipping { left: usize },
    /// The input could not be read; this says why. Nothing more is read.
    Broken(String),
}

impl State {
    const FIRST_HEADER: State = State::Headers {
        length: None,
        lines: 0,
        bytes: 0,
    };
}

/// Cuts a byte stream into frames by their `Content-Length` headers (see [`Framing::ContentLength`](super::Framing::ContentLength)).
///
/// Used like [`NewlineDecoder`](super::NewlineDecoder), except that reading can fail: a
/// malformed header, or the input ending inside a frame, is an `Err` that ends the input.
/// It holds at most one header section, or one message of at most the maximum.
///
/// ```
/// use switchboard::wire::{ContentLengthDecoder, FrameEvent};
///
/// let mut decoder = ContentLengthDecoder::new(1024);
/// let input = b"Content-Type: application/vscode-jsonrpc\r\ncontent-length: 2\r\n\r\n{}";
/// decoder.read_buf()[..input.len()].copy_from_slice(input);
/// decoder.filled(input.len());
/// assert_eq!(decoder.next_frame().unwrap(), Some(FrameEvent::Frame(b"{}".to_vec())));
/// assert_eq!(decoder.finish().unwrap(), None);
/// ```
#[derive(Debug)]
pub struct ContentLengthDecoder {
    /// What was read and not yet taken.
    input: ReadBuffer,
    max_frame: usize,
    state: State,
}

impl ContentLengthDecoder {
    /// A decoder that refuses messages longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        ContentLengthDecoder {
            input: ReadBuffer::default(),
            max_frame,
            state: State::FIRST_HEADER,
        }
    }

    /// Space to read into. Never empty.
    pub fn read_buf(&mut self) -> &mut [u8] {
        // Room for what is being read whole: a header section, or a message the maximum
        // admits. Skipped bytes and broken input need no more than the first buffer.
        let whole = match self.state {
            State::Body { length } => length,
            _ => MAX_HEADER_BYTES,
        };
        self.input.space(whole)
    }

    /// Records that `n` bytes were read into the start of [`ContentLengthDecoder::read_buf`].
    pub fn filled(&mut self, n: usize) {
        self.input.fill(n);
    }

    /// The next frame, or `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<FrameEvent>, Error> {
        loop {
            match self.state.clone() {
                State::Broken(why) => return Err(broken(&why)),
                State::Skipping { left } => {
                    let dropped = (self.input.filled - self.input.start).min(left);
                    self.input.start += dropped;
                    self.input.scanned = self.input.start;
                    if dropped < left {
                        self.state = State::Skipping {
                            left: left - dropped,
                        };
                        return Ok(None);
                    }
                    self.state = State::FIRST_HEADER;
                }
                State::Body { length } => {
                    if self.input.filled - self.input.start < length {
                        return Ok(None);
                    }
                    let message = &self.input.buf[self.input.start..self.input.start + length];
                    self.input.start += length;
                    self.input.scanned = self.input.start;
                    self.state = State::FIRST_HEADER;
                    match Verdict::of(length, is_blank(message), self.max_frame) {
                        Verdict::Blank => {}
                        Verdict::TooLarge(length) => {
                            return Ok(Some(FrameEvent::TooLarge { length }));
                        }
                        Verdict::Keep => return Ok(Some(FrameEvent::Frame(message.to_vec()))),
                    }
                }
                State::Headers {
                    length,
                    lines,
                    bytes,
                } => {
                    let Some(offset) = memchr::memchr(
                        b'\n',
                        &self.input.buf[self.input.scanned..self.input.filled],
                    ) else {
                        self.input.scanned = self.input.filled;
                        if bytes + (self.input.filled - self.input.start) > MAX_HEADER_BYTES {
                            return Err(self.fail(format!(
                                "a header section longer than {MAX_HEADER_BYTES} bytes"
                            )));
                        }
                        return Ok(None);
                    };
                    let end = self.input.scanned + offset + 1;
                    let line = &self.input.buf[self.input.start..end - 1];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let bytes = bytes + (end - self.input.start);
                    if bytes > MAX_HEADER_BYTES {
                        return Err(self.fail(format!(
                            "a header section longer than {MAX_HEADER_BYTES} bytes"
                        )));
                    }
                    let header = if line.is_empty() {
                        None
                    } else {
                        match parse_header(line) {
                            Ok(header) => Some(header),
                            Err(why) => return Err(self.fail(why)),
                        }
                    };
                    self.input.start = end;
                    self.input.scanned = end;
                    self.state = match (header, length) {
                        // A blank line before any header: nothing to frame yet.
                        (None, _) if lines == 0 => State::FIRST_HEADER,
                        (None, None) => {
                            return Err(self.fail(
                                "a header section without a Content-Length header".to_owned(),
                            ));
                        }
                        (None, Some(length)) => match Verdict::of(length, false, self.max_frame) {
                            Verdict::TooLarge(length) => {
                                self.state = State::Skipping { left: length };
                                return Ok(Some(FrameEvent::TooLarge { length }));
                            }
                            Verdict::Blank | Verdict::Keep => State::Body { length },
                        },
                        (Some(Header::Other), length) => State::Headers {
                            length,
                            lines: lines + 1,
                            bytes,
                        },
                        (Some(Header::ContentLength(new)), Some(old)) if new != old => {
                            return Err(self.fail(format!(
                                "two Content-Length headers that disagree ({old} and {new})"
                            )));
                        }
                        (Some(Header::ContentLength(new)), _) => State::Headers {
                            length: Some(new),
                            lines: lines + 1,
                            bytes,
                        },
                    };
                }
            }
        }
    }

    /// At end of input. A frame cannot end there, so only what [`next_frame`] left is looked
    /// at: nothing (or blank lines) is a clean end; part of a frame is an error.
    ///
    /// [`next_frame`]: ContentLengthDecoder::next_frame
    pub fn finish(&mut self) -> Result<Option<FrameEvent>, Error> {
        let rest = &self.input.buf[self.input.start..self.input.filled];
        let why = match &self.state {
            State::Broken(why) => return Err(broken(why)),
            State::Headers { lines: 0, .. } if is_blank(rest) => {
                self.input.start = self.input.filled;
                self.input.scanned = self.input.filled;
                return Ok(None);
            }
            State::Headers { .. } => "the input ended inside a header section".to_owned(),
            State::Body { length } => format!(
                "the input ended {} bytes into a message of {length} bytes",
                rest.len()
            ),
            State::Skipping { left } => {
                format!("the input ended with {left} bytes of a skipped message still to come")
            }
        };
        Err(self.fail(why))
    }

    /// Marks the input as unreadable from here on, and says why.
    fn fail(&mut self, why: String) -> Error {
        let error = broken(&why);
        self.state = State::Broken(why);
        // Nothing more is read: the buffer can go.
        self.input.buf = Vec::new();
        self.input.start = 0;
        self.input.filled = 0;
        self.input.scanned = 0;
        error
    }

    /// How many bytes the read buffer holds room for (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn buffer_len(&self) -> usize {
        self.input.buf.len()
    }
}

/// The error for input that cannot be read any further.
fn broken(why: &str) -> Error {
    Error::transport(format_args!("unreadable Content-Length framing: {why}"))
}

/// One header line, as far as framing cares.
enum Header {
    ContentLength(usize),
    Other,
}

/// Reads `name: value`. The name must be a token (letters, digits, `-` and the like), so that
/// a line of JSON sent without headers is named for what it is.
fn parse_header(line: &[u8]) -> Result<Header, String> {
    let Some(colon) = memchr::memchr(b':', line) else {
        return Err(format!("expected a header line, found `{}`", quote(line)));
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&byte| is_token(byte)) {
        return Err(format!("expected a header line, found `{}`", quote(line)));
    }
    if !name.eq_ignore_ascii_case(b"content-length") {
        return Ok(Header::Other);
    }
    let value = value.trim_ascii();
    let number = if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        None
    } else {
        value.iter().try_fold(0usize, |n, &digit| {
            n.checked_mul(10)?.checked_add(usize::from(digit - b'0'))
        })
    };
    match number {
        Some(length) => Ok(Header::ContentLength(length)),
        None if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => Err(format!(
            "a Content-Length too large to count: `{}`",
            quote(value)
        )),
        None => Err(format!(
            "Content-Length must be a decimal number of bytes, not `{}`",
            quote(value)
        )),
    }
}

/// A byte allowed in a header name (RFC 9110's `tchar`).
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// The start of `bytes`, printable, for an error message.
fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(QUOTED_BYTES)];
    let mut text: String = String::from_utf8_lossy(shown).escape_debug().collect();
    if bytes.len() > QUOTED_BYTES {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::framing::read_buffer::INITIAL_BUFFER;

    /// Feeds `input` in chunks of `chunk` bytes; every event, then the end (`Err` as text).
    fn decode(input: &[u8], chunk: usize, max: usize) -> (Vec<FrameEvent>, Result<(), String>) {
        let mut decoder = ContentLengthDecoder::new(max);
        let mut events = Vec::new();
        let mut take = |decoder: &mut ContentLengthDecoder| loop {
            match decoder.next_frame() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => return Ok(()),
                Err(error) => return Err(error.message().to_owned()),
            }
        };
        for piece in input.chunks(chunk) {
            let mut rest = piece;
            while !rest.is_empty() {
                let space = decoder.read_buf();
                let n = space.len().min(rest.len());
                space[..n].copy_from_slice(&rest[..n]);
                decoder.filled(n);
                rest = &rest[n..];
                if let Err(why) = take(&mut decoder) {
                    return (events, Err(why));
                }
            }
        }
        match decoder.finish() {
            Ok(last) => {
                events.extend(last);
                (events, Ok(()))
            }
            Err(error) => (events, Err(error.message().to_owned())),
        }
    }

    fn frame(text: &str) -> FrameEvent {
        FrameEvent::Frame(text.as_bytes().to_vec())
    }

    fn wire(messages: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for message in messages {
            encode(&mut out, message.as_bytes());
        }
        out
    }

    #[test]
    fn what_is_written_reads_back_whatever_the_chunking() {
        let input = wire(&["{\"a\":1}", "{\"b\":\r\n2}", "[]"]);
        for chunk in [1, 2, 5, 17, 1000] {
            assert_eq!(
                decode(&input, chunk, 100),
                (
                    vec![frame("{\"a\":1}"), frame("{\"b\":\r\n2}"), frame("[]")],
                    Ok(())
                ),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn other_headers_any_case_and_bare_newlines_are_accepted() {
        let input = b"\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\
            CONTENT-LENGTH:2\r\n\r\n{}content-length: \t3 \n\n[1]\r\n";
        for chunk in [1, 3, 1000] {
            assert_eq!(
                decode(input, chunk, 100),
                (vec![frame("{}"), frame("[1]")], Ok(())),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn an_oversized_message_is_reported_at_its_header_and_skipped_unheld() {
        let mut input = wire(&[&"x".repeat(50), "ok"]);
        input.extend(wire(&["12345", "123456"]));
        for chunk in [1, 7, 1000] {
            assert_eq!(
                decode(&input, chunk, 5),
                (
                    vec![
                        FrameEvent::TooLarge { length: 50 },
                        frame("ok"),
                        frame("12345"),
                        FrameEvent::TooLarge { length: 6 }
                    ],
                    Ok(())
                ),
                "chunk {chunk}"
            );
        }
        // Ten megabytes of one message pass through a buffer of the first size.
        let mut decoder = ContentLengthDecoder::new(100);
        let header = b"Content-Length: 10000000\r\n\r\n";
        decoder.read_buf()[..header.len()].copy_from_slice(header);
        decoder.filled(header.len());
        assert_eq!(
            decoder.next_frame().unwrap(),
            Some(FrameEvent::TooLarge { length: 10_000_000 })
        );
        let mut sent = 0;
        while sent < 10_000_000 {
            let space = decoder.read_buf();
            let n = space.len().min(10_000_000 - sent);
            space[..n].fill(b'x');
            decoder.filled(n);
            sent += n;
            assert_eq!(decoder.next_frame().unwrap(), None);
        }
        assert!(
            decoder.buffer_len() <= INITIAL_BUFFER,
            "{}",
            decoder.buffer_len()
        );
        assert_eq!(decoder.finish().unwrap(), None);
    }

    #[test]
    fn a_blank_message_is_skipped() {
        assert_eq!(
            decode(&wire(&["", " \r\n", "1"]), 4, 10),
            (vec![frame("1")], Ok(()))
        );
    }

    /// Each malformed input, and the words its error must contain. Whatever came before the
    /// bad header is still delivered; nothing after it is.
    #[test]
    fn malformed_headers_end_the_input_with_an_error_that_says_why() {
        let cases: &[(&[u8], &str)] = &[
            (b"Content-Type: x\r\n\r\n{}", "without a Content-Length"),
            (
                b"Content-Length: abc\r\n\r\n",
                "decimal number of bytes, not `abc`",
            ),
            (b"Content-Length: -5\r\n\r\n", "not `-5`"),
            (b"Content-Length: +5\r\n\r\n", "not `+5`"),
            (b"Content-Length:\r\n\r\n", "not ``"),
            (
                b"Content-Length: 99999999999999999999999\r\n\r\n",
                "too large to count",
            ),
            (
                b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n",
                "disagree (2 and 3)",
            ),
            (
                b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n",
                "expected a header line, found `{\\\"jsonrpc",
            ),
            (b"no colon here\r\n", "expected a header line"),
            (
                b"Content-Length: 5\r\n\r\n{}",
                "ended 2 bytes into a message of 5 bytes",
            ),
            (b"Content-Length: 5\r\n", "ended inside a header section"),
            (b"Content-Le", "ended inside a header section"),
        ];
        for (bad, why) in cases {
            let mut input = wire(&["[1]"]);
            input.extend_from_slice(bad);
            input.extend(wire(&["[2]"]));
            let truncated = why.contains("ended");
            if truncated {
                input.truncate(input.len() - wire(&["[2]"]).len());
            }
            for chunk in [1, 1000] {
                let (events, end) = decode(&input, chunk, 100);
                assert_eq!(events, vec![frame("[1]")], "{bad:?}");
                let error = end.unwrap_err();
                assert!(
                    error.contains(why) && error.contains("Content-Length framing"),
                    "{bad:?}: {error}"
                );
            }
        }
    }

    #[test]
    fn after_an_error_the_decoder_reads_nothing_more() {
        let mut decoder = ContentLengthDecoder::new(100);
        let input = b"bad line\r\nContent-Length: 2\r\n\r\n{}";
        decoder.read_buf()[..input.len()].copy_from_slice(input);
        decoder.filled(input.len());
        let first = decoder.next_frame().unwrap_err();
        assert_eq!(decoder.next_frame().unwrap_err(), first);
        assert_eq!(decoder.finish().unwrap_err(), first);
        assert_eq!(decoder.buffer_len(), 0, "the buffer is released");
    }

    #[test]
    fn a_header_section_without_end_is_refused_near_its_bound() {
        let mut decoder = ContentLengthDecoder::new(100);
        let mut refused = None;
        for _ in 0..100 {
            let space = decoder.read_buf();
            let n = space.len().min(1000);
            space[..n].fill(b'a');
            decoder.filled(n);
            if let Err(error) = decoder.next_frame() {
                refused = Some(error);
                break;
            }
            assert!(decoder.buffer_len() <= INITIAL_BUFFER);
        }
        let error = refused.expect("refused before 100 000 bytes");
        assert!(
            error.message().contains("longer than 8192 bytes"),
            "{error}"
        );
    }
}
