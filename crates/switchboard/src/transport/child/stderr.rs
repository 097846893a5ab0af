//! The last bytes a child wrote to stderr, kept in a bounded buffer by a reader task.
//!
//! The task reads the pipe until end of input, so the child never blocks on a full stderr pipe,
//! and keeps only the newest bytes, so memory stays bounded however much it writes. What a
//! child prints just before it dies is usually the reason it died, hence the tail, not the head.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// How much the reader asks for per read.
const READ_CHUNK: usize = 8 * 1024;

/// The kept bytes, shared between the reader task and [`StderrTail::text`].
struct TailBuffer {
    bytes: VecDeque<u8>,
    limit: usize,
    /// Whether older bytes were dropped and the first kept byte is not the start of a line.
    starts_mid_line: bool,
    /// Whether every chunk is also written to this process's stderr.
    echo: bool,
}

impl TailBuffer {
    fn new(limit: usize, echo: bool) -> Self {
        TailBuffer {
            bytes: VecDeque::with_capacity(limit.min(READ_CHUNK)),
            limit,
            starts_mid_line: false,
            echo,
        }
    }

    /// Appends `chunk`, dropping the oldest bytes beyond the limit, and echoes it if asked.
    fn push(&mut self, chunk: &[u8]) {
        if self.echo {
            // Best effort: a closed stderr of ours must not stop the tail.
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), chunk);
        }
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.limit);
        if overflow == 0 {
            self.bytes.extend(chunk);
            return;
        }
        // The last byte dropped tells whether the kept part starts on a line of its own.
        let last_dropped = if overflow <= self.bytes.len() {
            self.bytes[overflow - 1]
        } else {
            chunk[overflow - self.bytes.len() - 1]
        };
        self.starts_mid_line = last_dropped != b'\n';
        let from_chunk = overflow.saturating_sub(self.bytes.len());
        self.bytes.drain(..overflow.min(self.bytes.len()));
        self.bytes.extend(&chunk[from_chunk..]);
    }

    /// The kept bytes as text, from the first whole line on.
    fn text(&self) -> String {
        let bytes: Vec<u8> = self.bytes.iter().copied().collect();
        let start = if self.starts_mid_line {
            match memchr::memchr(b'\n', &bytes) {
                Some(newline) => newline + 1,
                // One line longer than the whole buffer: keep its end, but do not start in
                // the middle of a UTF-8 character.
                None => bytes
                    .iter()
                    .position(|&byte| byte & 0b1100_0000 != 0b1000_0000)
                    .unwrap_or(bytes.len()),
            }
        } else {
            0
        };
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

/// A child's stderr being read into a [`TailBuffer`] by a tokio task.
pub(super) struct StderrTail {
    kept: Arc<Mutex<TailBuffer>>,
    /// Asks the reader to take in everything already in the pipe, then answer on the
    /// oneshot (see [`StderrTail::settle`]).
    #[cfg(unix)]
    settle_requests: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
    reader: JoinHandle<()>,
}

/// The buffer even if a panic elsewhere poisoned the lock: it only holds bytes, which stay
/// valid whatever was interrupted.
fn lock(kept: &Mutex<TailBuffer>) -> MutexGuard<'_, TailBuffer> {
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StderrTail {
    /// Starts the reader task. Needs a tokio runtime.
    pub(super) fn start(stderr: ChildStderr, limit: usize, echo: bool) -> Self {
        let kept = Arc::new(Mutex::new(TailBuffer::new(limit, echo)));
        #[cfg(unix)]
        {
            let (settle_requests, requests) = tokio::sync::mpsc::channel(1);
            let reader = tokio::spawn(read_stderr(stderr, Arc::clone(&kept), requests));
            StderrTail {
                kept,
                settle_requests,
                reader,
            }
        }
        #[cfg(not(unix))]
        {
            let reader = tokio::spawn(read_stderr(stderr, Arc::clone(&kept)));
            StderrTail { kept, reader }
        }
    }

    /// What is kept so far, as text.
    pub(super) fn text(&self) -> String {
        lock(&self.kept).text()
    }

    /// Once the child has exited, makes sure the buffer holds everything it wrote.
    ///
    /// Waiting for end of input is not enough: a process the child started may have inherited
    /// the pipe and keep it open long after the child is gone. But every byte the child wrote is
    /// in the pipe by the time it exits, so on unix the reader takes in what the pipe holds at
    /// this moment, without waiting for more, and answers. Elsewhere this waits for end of input.
    pub(super) async fn settle(&mut self) {
        #[cfg(unix)]
        {
            let (done, answer) = tokio::sync::oneshot::channel();
            // Either failing means the reader already reached end of input: nothing is missing.
            if self.settle_requests.send(done).await.is_ok() {
                let _ = answer.await;
            }
        }
        #[cfg(not(unix))]
        if !self.reader.is_finished() {
            let _ = (&mut self.reader).await;
        }
    }
}

impl Drop for StderrTail {
    fn drop(&mut self) {
        // Nobody can read the tail any more; a process left holding the pipe must not keep
        // the task alive.
        self.reader.abort();
    }
}

/// Reads stderr to end of input into `kept`, taking in what is buffered whenever asked.
#[cfg(unix)]
async fn read_stderr(
    mut stderr: ChildStderr,
    kept: Arc<Mutex<TailBuffer>>,
    mut settle_requests: tokio::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<()>>,
) {
    let mut chunk = vec![0; READ_CHUNK];
    let mut requests_open = true;
    loop {
        tokio::select! {
            request = settle_requests.recv(), if requests_open => match request {
                Some(done) => {
                    let at_end = take_buffered(&stderr, &kept, &mut chunk);
                    let _ = done.send(());
                    if at_end {
                        return;
                    }
                }
                None => requests_open = false,
            },
            read = stderr.read(&mut chunk) => match read {
                Ok(0) => return,
                Ok(n) => lock(&kept).push(&chunk[..n]),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    tracing::debug!(%error, "reading a child's stderr failed; its tail ends here");
                    return;
                }
            },
        }
    }
}

/// Reads what the pipe holds right now, without waiting; true at end of input. The pipe is in
/// non-blocking mode (tokio sets it so), so an empty pipe answers "would block" at once.
#[cfg(unix)]
fn take_buffered(stderr: &ChildStderr, kept: &Mutex<TailBuffer>, chunk: &mut [u8]) -> bool {
    use rustix::io::Errno;

    // A process left behind that writes without pause would keep the pipe from ever being
    // empty. Everything the exited child wrote fits in the pipe's buffer, far below this.
    const MOST_BYTES: usize = 16 * 1024 * 1024;
    let mut taken = 0;
    while taken < MOST_BYTES {
        match rustix::io::read(stderr, &mut *chunk) {
            Ok(0) => return true,
            Ok(n) => {
                lock(kept).push(&chunk[..n]);
                taken += n;
            }
            Err(Errno::INTR) => {}
            Err(error) if error == Errno::AGAIN || error == Errno::WOULDBLOCK => return false,
            Err(error) => {
                tracing::debug!(%error, "reading a child's stderr failed; its tail ends here");
                return true;
            }
        }
    }
    false
}

/// Reads stderr to end of input into `kept`.
#[cfg(not(unix))]
async fn read_stderr(mut stderr: ChildStderr, kept: Arc<Mutex<TailBuffer>>) {
    let mut chunk = vec![0; READ_CHUNK];
    loop {
        match stderr.read(&mut chunk).await {
            Ok(0) => return,
            Ok(n) => lock(&kept).push(&chunk[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::debug!(%error, "reading a child's stderr failed; its tail ends here");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TailBuffer;

    fn tail(limit: usize, chunks: &[&str]) -> String {
        let mut buffer = TailBuffer::new(limit, false);
        for chunk in chunks {
            buffer.push(chunk.as_bytes());
        }
        assert!(buffer.bytes.len() <= limit);
        buffer.text()
    }

    #[test]
    fn keeps_everything_under_the_limit() {
        assert_eq!(tail(10, &["ab\n", "cd"]), "ab\ncd");
        assert_eq!(tail(5, &["ab\n", "cd"]), "ab\ncd");
        assert_eq!(tail(0, &[]), "");
    }

    #[test]
    fn a_cut_buffer_starts_at_the_next_whole_line() {
        // Cut inside "first": skip to the line after it.
        assert_eq!(tail(10, &["first\n", "second\n"]), "second\n");
        // Cut exactly after a newline: the kept part starts on a line of its own.
        assert_eq!(tail(7, &["first\n", "second\n"]), "second\n");
        // One chunk larger than the whole buffer, cut on a line boundary and inside a line.
        assert_eq!(tail(8, &["aaa\nbbb\nccc\n"]), "bbb\nccc\n");
        assert_eq!(tail(6, &["x", "aaa\nbbb\nccc\n"]), "ccc\n");
        assert_eq!(tail(0, &["abc"]), "");
    }

    #[test]
    fn a_line_longer_than_the_buffer_keeps_its_end_on_a_char_boundary() {
        // "é" is two bytes; a cut between them must not show a broken character.
        assert_eq!(tail(3, &["xxéab"]), "ab");
        assert_eq!(tail(4, &["xxéab"]), "éab");
    }
}
