//! What every implementation shares: the pipes, the payload, the "all counted" signal.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::DuplexStream;
use tokio::sync::Notify;

/// Bytes each direction of a `tokio::io::duplex` pipe holds before the writer waits.
pub const PIPE_BYTES: usize = 64 * 1024;

/// Requests in flight in the pipelined workload.
pub const WINDOW: usize = 64;

/// Messages each throughput run sends on its connection before the clock starts, so that
/// buffers have grown, the allocator has its free lists and the branch predictors have seen
/// the path: what is timed is the steady state, not the first thousand messages.
pub const WARMUP: u64 = 2_000;

/// The text every request and notification carries (about the size of a short prompt chunk).
pub const TEXT: &str = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox.";

/// One side's halves of the byte pipe pair: it reads `read` and writes `write`.
pub struct PipeEnd {
    pub read: DuplexStream,
    pub write: DuplexStream,
}

/// Two byte pipes, one per direction, so neither side's halves share a lock.
pub fn pipes() -> (PipeEnd, PipeEnd) {
    let (client_write, server_read) = tokio::io::duplex(PIPE_BYTES);
    let (server_write, client_read) = tokio::io::duplex(PIPE_BYTES);
    (
        PipeEnd {
            read: client_read,
            write: client_write,
        },
        PipeEnd {
            read: server_read,
            write: server_write,
        },
    )
}

/// Counts down from `n`; [`Countdown::wait`] resolves when it reaches zero, and
/// [`Countdown::wait_until`] when it reaches a mark (the end of a warm-up).
pub struct Countdown {
    left: AtomicU64,
    /// The count at which `tick` wakes a waiter besides zero; `u64::MAX` for none.
    mark: AtomicU64,
    reached: Notify,
}

impl Countdown {
    pub fn new(n: u64) -> Arc<Countdown> {
        Arc::new(Countdown {
            left: AtomicU64::new(n),
            mark: AtomicU64::new(u64::MAX),
            reached: Notify::new(),
        })
    }

    pub fn tick(&self) {
        let left = self.left.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 || left == self.mark.load(Ordering::Acquire) {
            self.reached.notify_one();
        }
    }

    /// How many ticks have happened so far (for the flood, which stops early).
    pub fn counted(&self, of: u64) -> u64 {
        of.saturating_sub(self.left.load(Ordering::Acquire))
    }

    pub async fn wait(&self) {
        self.wait_until(0).await
    }

    /// Resolves once at most `left` ticks are still to come.
    pub async fn wait_until(&self, left: u64) {
        self.mark.store(left, Ordering::Release);
        // A loop: a notification stored for an earlier mark may wake this wait early.
        while self.left.load(Ordering::Acquire) > left {
            self.reached.notified().await;
        }
    }
}

/// The transport a framework runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// The framework's in-process channel: whole frames, no bytes.
    Channel,
    /// Newline-delimited bytes over a `tokio::io::duplex` pipe.
    ByteStreams,
}

impl Over {
    pub fn name(self) -> &'static str {
        match self {
            Over::Channel => "Channel",
            Over::ByteStreams => "ByteStreams",
        }
    }
}

/// One end of a connection under test: a framework's in-process channel end `C`, or one side
/// of the byte pipes.
pub enum End<C> {
    Channel(C),
    Bytes(PipeEnd),
}

/// A connected pair of ends over `over`, (client, server), made with `duplex` for a channel.
pub fn ends<C>(over: Over, duplex: impl FnOnce() -> (C, C)) -> (End<C>, End<C>) {
    match over {
        Over::Channel => {
            let (client, server) = duplex();
            (End::Channel(client), End::Channel(server))
        }
        Over::ByteStreams => {
            let (client, server) = pipes();
            (End::Bytes(client), End::Bytes(server))
        }
    }
}

/// Keeps [`WINDOW`] requests in flight until those of `ids` are answered: `send(i)` sends
/// request `i` and returns the future of its checked answer.
pub async fn pipelined<E, F>(ids: Range<u64>, send: impl Fn(u64) -> F) -> Result<(), E>
where
    F: Future<Output = Result<(), E>>,
{
    let mut in_flight = FuturesUnordered::new();
    let mut next = ids.start;
    let mut answered = 0;
    let n = ids.end - ids.start;
    while answered < n {
        while in_flight.len() < WINDOW && next < ids.end {
            in_flight.push(send(next));
            next += 1;
        }
        if let Some(result) = in_flight.next().await {
            result?;
            answered += 1;
        }
    }
    Ok(())
}
