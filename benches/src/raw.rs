//! The raw loop: hand-written newline-delimited JSON-RPC with serde_json, no framework.
//!
//! It is the stand-in for the physical limit of these workloads on an in-memory pipe, so it
//! is written to be as fast as an honest loop can be: every message is still parsed with
//! serde_json and every answer's id, counter and text are checked. What it leaves out is
//! everything a framework must do (unknown methods, batches, ids of every type, oversized
//! frames, validation before a handler is known).
//!
//! - Reading: [`Lines`] reads the pipe into one reused buffer and hands out each complete
//!   line in place; nothing is copied per line.
//! - Parsing: straight into borrowed structs (`&str` method, `Cow<str>` text that borrows
//!   when it has no escapes), so a message costs no allocation.
//! - Writing: serialized into one reused `Vec`, straight to the pipe half with `write_all`;
//!   no `BufWriter` (on an in-memory pipe it only adds a copy) and no `flush`. Whatever is
//!   ready together goes in one write: the server answers everything it read in one write,
//!   the pipelined client writes all the requests its window allows in one write, and the
//!   notifier writes [`BATCH_BYTES`] at a time.
//! - Pipelining: one task alternates between writing what the window allows and reading
//!   every answer already there; the window is a counter, not a semaphore.
//!
//! What was tried, on the 2-core Intel Xeon VM, `--only W --impl raw`, msgs/s, each figure
//! the median of three runs of 5 rounds, both runtimes (multi-thread 2 workers / current
//! thread). Another tenant's compiler kept the load average near 3 meanwhile, so read
//! differences under about 10 % as noise:
//!
//! | variant | multi | current |
//! |---|---:|---:|
//! | sequential, before (`BufReader`/`BufWriter`, flush per request, owned `String`s) | 706 099 | 1 186 773 |
//! | sequential, kept (write straight to the pipe, [`Lines`], borrowed parse) | 669 911 | 1 263 746 |
//! | pipelined, before (`BufWriter`, a semaphore and `try_join!` of a sender and a receiver) | 1 550 987 | 1 644 007 |
//! | pipelined, a writer task and a reader task, the window an `AtomicU64` plus `Notify` | 1 441 985 | 1 785 854 |
//! | pipelined, kept: one task alternating a window's write and every answer read | 1 554 481 | 1 722 557 |
//! | notifications, before (`BufWriter` of 64 KiB, owned `String`s) | 3 545 515 | 3 526 669 |
//! | notifications, one `write_all` per message, no buffer | 3 158 997 | 3 318 235 |
//! | notifications, one write per 4 KiB of messages (kept) | 3 694 996 | 3 944 204 |
//! | notifications, one write per 16 KiB | 3 413 460 | 3 525 513 |
//! | notifications, one write per 64 KiB | 3 610 089 | 4 015 324 |
//!
//! Why it cannot easily go faster: what is left per message is serde_json's serialization
//! and parse. [`serde_floor`] measures them alone (one notification encoded and parsed back,
//! on one thread, no pipe): 0.225 µs of CPU, where the raw loop spends 0.25 (current thread)
//! to 0.28 µs (two workers) per notification, both ends together. The pipe, the two tasks
//! and the runtime are the other 10–20 %; on two workers the loop (4.95 M/s) even beats
//! serde_json alone on one thread (4.4 M/s), as encoding and parsing overlap. For requests
//! what is left besides serde_json is the wake-up of the other task. One sequential round trip is
//! two cross-task wake-ups, which on two workers means two cross-thread wake-ups: that, not
//! the code, sets the sequential rate, which is why it doubles on the current-thread runtime.
//! Pipelining already amortises the wake-ups over up to 64 messages, and a second task only
//! adds hand-overs between them. Allocations per message: none (the table's column).

use std::borrow::Cow;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::common::{Countdown, PIPE_BYTES, PipeEnd, TEXT, WINDOW};
use crate::measure::{Measured, Span};

/// The notifier writes once this many bytes of notifications are encoded: about 35 messages,
/// enough to make a write's fixed cost (the pipe's lock, a wake) small per message, small
/// enough that the server starts parsing soon. 4 KiB measured best (see the module doc).
const BATCH_BYTES: usize = 4 * 1024;

#[derive(Serialize, Deserialize)]
struct Echo<'a> {
    /// Borrowed from the frame unless it holds escapes (ours never does).
    #[serde(borrow)]
    text: Cow<'a, str>,
    n: u64,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'static str,
    params: Echo<'a>,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(borrow)]
    method: &'a str,
    #[serde(borrow)]
    params: Echo<'a>,
}

#[derive(Serialize)]
struct Answer<'a> {
    jsonrpc: &'static str,
    id: u64,
    result: Echo<'a>,
}

#[derive(Deserialize)]
struct Answered<'a> {
    id: u64,
    #[serde(borrow)]
    result: Echo<'a>,
}

fn bad_data(error: serde_json::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

fn ended() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the pipe ended early")
}

/// Newline-delimited frames read from a pipe into one buffer that is reused for the whole
/// run: [`Lines::next_buffered`] finds the next complete line without any I/O,
/// [`Lines::fill`] reads more. Keeping the two apart lets the caller write its answers
/// before it waits for more input.
struct Lines<R> {
    read: R,
    buffer: Vec<u8>,
    /// Where the first byte not yet handed out is.
    start: usize,
    /// Where the bytes read so far end.
    end: usize,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(read: R) -> Self {
        Lines {
            read,
            buffer: vec![0; PIPE_BYTES],
            start: 0,
            end: 0,
        }
    }

    /// The next complete line already read (without its newline), if any.
    fn next_buffered(&mut self) -> Option<Range<usize>> {
        let at = memchr::memchr(b'\n', &self.buffer[self.start..self.end])?;
        let line = self.start..self.start + at;
        self.start += at + 1;
        Some(line)
    }

    fn line(&self, range: Range<usize>) -> &[u8] {
        &self.buffer[range]
    }

    /// Reads more; false at the end of input.
    async fn fill(&mut self) -> io::Result<bool> {
        // Move a partial line to the front, so the buffer never needs to grow for our
        // frames (a frame longer than the buffer would make it grow).
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let read = self.read.read(&mut self.buffer[self.end..]).await?;
        self.end += read;
        Ok(read > 0)
    }

    /// The next line, reading as needed; an error at the end of input.
    async fn next(&mut self) -> io::Result<Range<usize>> {
        loop {
            if let Some(line) = self.next_buffered() {
                return Ok(line);
            }
            if !self.fill().await? {
                return Err(ended());
            }
        }
    }
}

/// Serves echo requests and counts `tick` notifications until the input ends. Everything
/// read in one go is answered in one write.
pub async fn serve(end: PipeEnd, ticks: Arc<Countdown>) -> io::Result<()> {
    let mut lines = Lines::new(end.read);
    let mut write = end.write;
    let mut out = Vec::with_capacity(PIPE_BYTES);
    loop {
        while let Some(line) = lines.next_buffered() {
            let message: Incoming = serde_json::from_slice(lines.line(line)).map_err(bad_data)?;
            match (message.id, message.method) {
                (Some(id), "echo") => {
                    let answer = Answer {
                        jsonrpc: "2.0",
                        id,
                        result: message.params,
                    };
                    serde_json::to_writer(&mut out, &answer).map_err(bad_data)?;
                    out.push(b'\n');
                }
                (None, "tick") => ticks.tick(),
                _ => return Err(io::Error::other("unexpected message")),
            }
        }
        if !out.is_empty() {
            write.write_all(&out).await?;
            out.clear();
        }
        if !lines.fill().await? {
            return Ok(());
        }
    }
}

/// Appends one request (with an id) or notification (without) to `out`.
fn encode(out: &mut Vec<u8>, id: Option<u64>, method: &'static str, n: u64) -> io::Result<()> {
    let message = Outgoing {
        jsonrpc: "2.0",
        id,
        method,
        params: Echo {
            text: Cow::Borrowed(TEXT),
            n,
        },
    };
    serde_json::to_writer(&mut *out, &message).map_err(bad_data)?;
    out.push(b'\n');
    Ok(())
}

fn check(line: &[u8], expected: u64) -> io::Result<()> {
    let answer: Answered = serde_json::from_slice(line).map_err(bad_data)?;
    if answer.id != expected || answer.result.n != expected || answer.result.text != TEXT {
        return Err(io::Error::other(format!("wrong answer to {expected}")));
    }
    Ok(())
}

/// The client's side of a connection, kept across the warm-up and the timed run.
pub struct Client {
    lines: Lines<tokio::io::DuplexStream>,
    write: tokio::io::DuplexStream,
    out: Vec<u8>,
}

impl Client {
    pub fn new(end: PipeEnd) -> Self {
        Client {
            lines: Lines::new(end.read),
            write: end.write,
            out: Vec::with_capacity(PIPE_BYTES),
        }
    }

    /// Workload 1: requests `ids` one at a time.
    pub async fn sequential(&mut self, ids: Range<u64>) -> io::Result<()> {
        for i in ids {
            self.out.clear();
            encode(&mut self.out, Some(i), "echo", i)?;
            self.write.write_all(&self.out).await?;
            let line = self.lines.next().await?;
            check(self.lines.line(line), i)?;
        }
        Ok(())
    }

    /// Workload 2: requests `ids` with [`WINDOW`] in flight; answers come back in order.
    /// Each turn writes every request the window allows in one write, then checks every
    /// answer already read (waiting for at least one).
    pub async fn pipelined(&mut self, ids: Range<u64>) -> io::Result<()> {
        let (mut next, mut answered) = (ids.start, ids.start);
        while answered < ids.end {
            self.out.clear();
            while next < ids.end && next - answered < WINDOW as u64 {
                encode(&mut self.out, Some(next), "echo", next)?;
                next += 1;
            }
            if !self.out.is_empty() {
                self.write.write_all(&self.out).await?;
            }
            let line = self.lines.next().await?;
            check(self.lines.line(line), answered)?;
            answered += 1;
            while let Some(line) = self.lines.next_buffered() {
                check(self.lines.line(line), answered)?;
                answered += 1;
            }
        }
        Ok(())
    }

    /// Workload 3: notifications `ids`, [`BATCH_BYTES`] per write. The caller waits for the
    /// server to count them.
    pub async fn notifications(&mut self, ids: Range<u64>) -> io::Result<()> {
        self.out.clear();
        for i in ids {
            encode(&mut self.out, None, "tick", i)?;
            if self.out.len() >= BATCH_BYTES {
                self.write.write_all(&self.out).await?;
                self.out.clear();
            }
        }
        if !self.out.is_empty() {
            self.write.write_all(&self.out).await?;
        }
        Ok(())
    }
}

/// Workload 1, after [`WARMUP`](crate::common::WARMUP) requests on the same connection.
pub async fn sequential(end: PipeEnd, warmup: u64, n: u64) -> io::Result<Measured> {
    let mut client = Client::new(end);
    client.sequential(0..warmup).await?;
    let span = Span::start();
    client.sequential(warmup..warmup + n).await?;
    Ok(span.finish(n))
}

/// Workload 2, after the warm-up.
pub async fn pipelined(end: PipeEnd, warmup: u64, n: u64) -> io::Result<Measured> {
    let mut client = Client::new(end);
    client.pipelined(0..warmup).await?;
    let span = Span::start();
    client.pipelined(warmup..warmup + n).await?;
    Ok(span.finish(n))
}

/// Workload 3, after the warm-up: `n` notifications, finished when the server has counted
/// them all (`ticks` counts down from `warmup + n`).
pub async fn notifications(
    end: PipeEnd,
    warmup: u64,
    n: u64,
    ticks: Arc<Countdown>,
) -> io::Result<Measured> {
    let mut client = Client::new(end);
    client.notifications(0..warmup).await?;
    ticks.wait_until(n).await;
    let span = Span::start();
    client.notifications(warmup..warmup + n).await?;
    ticks.wait().await;
    Ok(span.finish(n))
}

/// The floor under workload 3: what serde_json alone costs for one notification, encoded
/// into the reused buffer and parsed back the way the server parses it, `n` times on this
/// thread with no pipe, no task and no other side. The raw loop's CPU per notification less
/// this is all that its pipe, its tasks and its runtime cost.
pub fn serde_floor(n: u64) -> io::Result<Measured> {
    let mut out = Vec::with_capacity(256);
    let mut counted = 0;
    let span = Span::start();
    for i in 0..n {
        out.clear();
        encode(&mut out, None, "tick", i)?;
        let message: Incoming = serde_json::from_slice(&out[..out.len() - 1]).map_err(bad_data)?;
        if message.method == "tick" && message.params.n == i {
            counted += 1;
        }
    }
    let measured = span.finish(n);
    if counted != n {
        return Err(io::Error::other("the floor parsed something else"));
    }
    Ok(measured)
}
