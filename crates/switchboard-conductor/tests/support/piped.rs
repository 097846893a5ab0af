//! Programs on plain pipes, for tests that write, read and hang up as they choose, and a
//! reader that can be shut for a while (an editor that stops reading).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::process::Stdio as StdStdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::watch;

use super::{Hop, conductor_binary, echo_agent};

/// A program started with its stdin and stdout as plain pipes, for tests that decide
/// themselves when the editor writes, reads or hangs up ([`spawn_conductor`](super::spawn_conductor)
/// hands the pipes out only as a component).
pub(crate) struct Piped {
    /// Killed if the test ends first (a conductor then closes its components' stdin).
    pub(crate) child: Child,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<ChildStdout>,
    /// The last bytes the program wrote to stderr (a conductor's components' included).
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl Piped {
    /// How much of the stderr is kept.
    const STDERR_TAIL_BYTES: usize = 64 * 1024;

    /// The conductor with `proxies` in front of the echo agent.
    pub(crate) fn conductor(proxies: &[Hop]) -> Self {
        let mut command = tokio::process::Command::new(conductor_binary());
        for hop in proxies {
            command.arg("--proxy").arg(&hop.command);
        }
        command.arg("--").args(echo_agent());
        Self::spawn(command)
    }

    /// Starts `command` with all three standard streams piped.
    pub(crate) fn spawn(mut command: tokio::process::Command) -> Self {
        command
            .stdin(StdStdio::piped())
            .stdout(StdStdio::piped())
            .stderr(StdStdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("starting the program");
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let mut pipe = child.stderr.take().expect("the program's stderr");
        let tail = Arc::clone(&stderr);
        // Read to the end, so that the program never waits on a full stderr pipe.
        tokio::spawn(async move {
            let mut chunk = vec![0; 8 * 1024];
            while let Ok(read @ 1..) = pipe.read(&mut chunk).await {
                let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                tail.extend(&chunk[..read]);
                let excess = tail.len().saturating_sub(Self::STDERR_TAIL_BYTES);
                tail.drain(..excess);
            }
        });
        Piped {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stderr,
        }
    }

    pub(crate) fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&tail.iter().copied().collect::<Vec<u8>>()).into_owned()
    }
}

/// `reader`, read only while its gate is open; the gate starts open. Sending `false` on the
/// returned sender shuts it, `true` opens it again; a dropped sender leaves it open.
pub(crate) fn gated<R>(reader: R) -> (watch::Sender<bool>, Gated<R>) {
    let (gate, open) = watch::channel(true);
    let reader = Gated {
        reader,
        open,
        waiting: None,
    };
    (gate, reader)
}

/// A reader that returns `Pending` while its gate is shut (see [`gated`]).
pub(crate) struct Gated<R> {
    reader: R,
    open: watch::Receiver<bool>,
    /// Waits for the gate to open, while it is shut.
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Gated<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.waiting.is_none() && !*this.open.borrow() {
            let mut open = this.open.clone();
            this.waiting = Some(Box::pin(async move {
                // An error means the sender is gone: the gate stays open from then on.
                let _ = open.wait_for(|open| *open).await;
            }));
        }
        if let Some(waiting) = &mut this.waiting {
            ready!(waiting.as_mut().poll(cx));
            this.waiting = None;
        }
        Pin::new(&mut this.reader).poll_read(cx, buf)
    }
}
