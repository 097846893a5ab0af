//! Programs on plain pipes, for tests that write, read and hang up as they choose; a program
//! spoken to in raw JSON lines; and a reader that can be shut for a while (an editor that
//! stops reading).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::process::Stdio as StdStdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, Lines, ReadBuf,
};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::watch;

use super::{Hop, conductor_binary, echo_agent, guard};

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

/// A process spoken to in JSON lines.
pub(crate) struct Raw {
    piped: Piped,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Raw {
    pub(crate) fn new(mut piped: Piped) -> Raw {
        let stdin = piped.stdin.take();
        let stdout = BufReader::new(piped.stdout.take().expect("stdout")).lines();
        Raw {
            piped,
            stdin,
            stdout,
        }
    }

    pub(crate) async fn send(&mut self, frame: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        let line = format!("{frame}\n");
        guard("writing", stdin.write_all(line.as_bytes()))
            .await
            .expect("writing to the program");
    }

    pub(crate) async fn request(&mut self, id: u64, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    /// The next frame, or `None` at the end of the output.
    pub(crate) async fn recv(&mut self) -> Option<Value> {
        let line = guard("reading", self.stdout.next_line())
            .await
            .expect("reading from the program")?;
        Some(serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}: {line}")))
    }

    /// Frames until the answer to `id`.
    pub(crate) async fn answer(&mut self, id: u64) -> Value {
        while let Some(frame) = self.recv().await {
            if frame.get("method").is_none() && frame["id"] == id {
                return frame;
            }
        }
        panic!("the output ended before the answer to {id}")
    }

    /// Closes the program's stdin; it may still write.
    pub(crate) fn close_input(&mut self) {
        self.stdin = None;
    }

    /// Every frame until the end of the output, then the exit status and stderr.
    pub(crate) async fn read_to_end(mut self) -> (Vec<Value>, std::process::ExitStatus, String) {
        let mut frames = Vec::new();
        while let Some(frame) = self.recv().await {
            frames.push(frame);
        }
        let status = guard("the exit", self.piped.child.wait())
            .await
            .expect("waiting for the program");
        (frames, status, self.piped.stderr_tail())
    }

    /// `initialize` and `session/new` (ids 1 and 2); returns the session id.
    pub(crate) async fn open_session(&mut self, cwd: &std::path::Path) -> Value {
        self.request(1, "initialize", json!({"protocolVersion": 1}))
            .await;
        self.answer(1).await;
        self.request(2, "session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await;
        self.answer(2).await["result"]["sessionId"].clone()
    }
}

/// The params of a `session/prompt` of one text block.
pub(crate) fn prompt(session: &Value, text: &str) -> Value {
    json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]})
}
