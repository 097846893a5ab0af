//! A peer run as a child process, talked to over its stdin and stdout (feature `tokio`).
//!
//! - `command.rs`: [`ChildCommand`], what to run; `parse.rs` reads one from a command line.
//! - this file: [`ChildProcess`], the running child and its lifetime (wait, end, kill, drop),
//!   and [`ChildStdio`], its pipes as a component.
//! - `ending.rs`: how a child is ended: stdin closed, a grace, its group killed, reaped.
//! - `stderr.rs`: the bounded tail of what the child writes to stderr.

mod command;
mod ending;
mod parse;
mod stderr;

use std::fmt;
use std::process::{ExitStatus, Stdio as StdStdio};

use tokio::process::{Child, ChildStdin, ChildStdout};

pub use command::{ChildCommand, DEFAULT_EXIT_GRACE, DEFAULT_STDERR_TAIL_BYTES};
use stderr::StderrTail;

use super::{ByteStreams, ConnectTo, Framing, Transport, TransportConfig};
use crate::{Error, Role};

/// A running child process that speaks JSON-RPC on its stdin and stdout: an ACP agent, a
/// language server, any peer started as a program.
///
/// [`ChildProcess::spawn`] starts it with stdin and stdout piped to this process and stderr
/// read into a bounded tail. [`ChildProcess::stdio`] hands the pipes over as a component for
/// `connect_to` / `connect_with`; the connection ends when the child closes its stdout (exits,
/// usually), and then any request still waiting fails with a connection-closed error.
/// [`ChildProcess::stderr_tail`] tells what the child said before it died.
///
/// On unix the child leads a process group of its own, and killing it kills the whole group:
/// processes the child started, which inherited the group, die with it instead of living on as
/// orphans. Elsewhere only the child itself is killed. Ending it ([`ChildProcess::end`], or
/// dropping the `ChildProcess`) is gentler first: its stdin is closed, it gets its
/// [`exit_grace`](ChildCommand::exit_grace) to exit, and only then is it killed, and it is
/// reaped either way. [`ChildProcess::kill`] skips the grace.
///
/// ```no_run
/// use switchboard::{ChildCommand, ChildProcess, Error, UntypedMessage, UntypedRole};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     let mut agent = ChildProcess::spawn(ChildCommand::parse("my-agent --stdio")?)?;
///     let answer = UntypedRole
///         .builder()
///         .connect_with(agent.stdio()?, async |cx| {
///             cx.send_request(UntypedMessage::new("ping", ())?).block_task().await
///         })
///         .await;
///     if answer.is_err() {
///         // The agent may have died: its exit status and last words say why.
///         let status = agent.wait().await?;
///         eprintln!("agent exited with {status}:\n{}", agent.stderr_tail());
///     }
///     agent.kill().await
/// }
/// ```
pub struct ChildProcess {
    /// `None` only once dropped, when it is handed to the task that ends it.
    child: Option<Child>,
    /// The program's name, for error messages.
    program: String,
    stderr: StderrTail,
    /// How long it has to exit once its stdin is closed, when ended.
    exit_grace: std::time::Duration,
}

impl ChildProcess {
    /// Starts `command`, with its stdin and stdout piped to this process and its stderr read
    /// into a buffer of the command's
    /// [`stderr_tail_bytes`](ChildCommand::stderr_tail_bytes).
    ///
    /// Must be called inside a tokio runtime with I/O enabled: a task of that runtime reads
    /// the child's stderr, and the pipes are registered with its reactor.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] naming the program, and the working directory when that is
    /// what is missing, with the operating system's reason, if the child cannot be started; or
    /// if there is no tokio runtime.
    pub fn spawn(command: ChildCommand) -> Result<ChildProcess, Error> {
        let program = command.display_program();
        // Checked before starting anything: without a runtime tokio would fail only after the
        // child is running, and leave it behind.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::child_process(format!(
                "could not start `{program}`: ChildProcess::spawn must be called inside a \
                 tokio runtime"
            )));
        }
        let mut tokio_command = command.to_tokio();
        tokio_command
            .stdin(StdStdio::piped())
            .stdout(StdStdio::piped())
            .stderr(StdStdio::piped())
            .kill_on_drop(true);
        // A group of its own, so that killing the group reaches everything the child started
        // and nothing of ours.
        #[cfg(unix)]
        tokio_command.process_group(0);
        let mut child = tokio_command
            .spawn()
            .map_err(|error| spawn_error(&command, &program, &error))?;
        let stderr = child.stderr.take().ok_or_else(|| {
            Error::child_process(format!("`{program}` started without a stderr pipe"))
        })?;
        Ok(ChildProcess {
            child: Some(child),
            exit_grace: command.get_exit_grace(),
            program,
            stderr: StderrTail::start(
                stderr,
                command.get_stderr_tail_bytes(),
                command.get_echo_stderr(),
            ),
        })
    }

    /// Takes the child's stdin and stdout, as a component to connect a builder to.
    ///
    /// # Errors
    ///
    /// The pipes can be taken once: a second call fails, and so does a call after
    /// [`wait`](ChildProcess::wait), which closes the child's stdin.
    pub fn stdio(&mut self) -> Result<ChildStdio, Error> {
        let child = self.child()?;
        match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok(ChildStdio {
                stdin,
                stdout,
                framing: None,
            }),
            _ => Err(Error::child_process(format!(
                "the stdin and stdout of `{}` were already taken (or closed by `wait`); \
                 `stdio()` gives them out once",
                self.program
            ))),
        }
    }

    /// The operating system's id of the child, or `None` once `wait`, `try_wait` or `kill`
    /// has seen it exit.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// The last bytes the child wrote to stderr, as text (invalid UTF-8 replaced).
    ///
    /// At most the command's [`stderr_tail_bytes`](ChildCommand::stderr_tail_bytes). When
    /// older output had to be dropped, the text starts at the first whole line that is left,
    /// so it never opens with half a line. After [`wait`](ChildProcess::wait) or
    /// [`kill`](ChildProcess::kill) has returned, it includes everything the child wrote.
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// Waits for the child to exit and returns its exit status. Closes the child's stdin
    /// first, unless [`stdio`](ChildProcess::stdio) took it, so a child waiting for input is
    /// not waited for forever.
    ///
    /// When this returns, [`stderr_tail`](ChildProcess::stderr_tail) holds everything the
    /// child wrote. On unix that holds even if a process it left behind keeps its stderr open;
    /// elsewhere this also waits for every holder of the child's stderr to close it.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the operating system fails to report the exit.
    pub async fn wait(&mut self) -> Result<ExitStatus, Error> {
        let program = self.program.clone();
        let status = self.child()?.wait().await.map_err(|error| {
            Error::child_process(format!("waiting for `{program}` failed: {error}"))
        })?;
        self.stderr.settle().await;
        Ok(status)
    }

    /// The exit status if the child has exited, `None` if it is still running; does not wait.
    ///
    /// Its stderr may still be on its way into the tail: call [`wait`](ChildProcess::wait),
    /// which returns at once for a child that has exited, before reading the tail.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the operating system fails to report the child's state.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        let program = self.program.clone();
        self.child()?.try_wait().map_err(|error| {
            Error::child_process(format!("checking on `{program}` failed: {error}"))
        })
    }

    /// Ends the child: closes its stdin (unless [`stdio`](ChildProcess::stdio) took it; the
    /// connection closes it when it ends), gives it its
    /// [`exit_grace`](ChildCommand::exit_grace) to exit, then kills it with its process group
    /// (on unix), and reaps it. Returns whether it exited by itself. Ending a child that has
    /// already exited does nothing and returns `true`.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if waiting for it or killing it failed.
    pub async fn end(&mut self) -> Result<bool, Error> {
        let grace = self.exit_grace;
        let program = self.program.clone();
        let exited = ending::end(self.child()?, grace)
            .await
            .map_err(|error| Error::child_process(format!("ending `{program}` failed: {error}")))?;
        self.stderr.settle().await;
        Ok(exited)
    }

    /// Kills the child at once, on unix with its whole process group, and waits until it is
    /// gone. Killing a child that has already exited does nothing and succeeds.
    ///
    /// Once the exit was seen (by `wait`, `try_wait` or an earlier `kill`), the group is no
    /// longer signalled: the system may have given its id to a new process by then.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the child or its group could not be signalled (the
    /// child is still killed and waited for if the group could not be), or if waiting failed.
    pub async fn kill(&mut self) -> Result<(), Error> {
        let program = self.program.clone();
        let id = self.id();
        let killed = ending::kill(self.child()?).await;
        self.stderr.settle().await;
        killed.map_err(|error| {
            let id = id.map_or_else(String::new, |id| format!(" (process {id})"));
            Error::child_process(format!("killing `{program}`{id} failed: {error}"))
        })
    }

    /// The child, while this `ChildProcess` has it (always, until dropped).
    fn child(&mut self) -> Result<&mut Child, Error> {
        let program = &self.program;
        self.child
            .as_mut()
            .ok_or_else(|| Error::child_process(format!("`{program}` was already ended")))
    }
}

impl Drop for ChildProcess {
    /// Ends the child in the background, as [`end`](ChildProcess::end) does (stdin closed,
    /// the grace, the group killed, reaped), on the tokio runtime it is dropped in; without
    /// one, or if that runtime shuts down first, it is killed with its group at once.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            ending::end_in_background(child, self.exit_grace, self.program.clone());
        }
    }
}

impl fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildProcess")
            .field("program", &self.program)
            .field("id", &self.child.as_ref().and_then(Child::id))
            .finish_non_exhaustive()
    }
}

/// The spawn failure as an error naming the program, and the directory if that is the cause.
fn spawn_error(command: &ChildCommand, program: &str, error: &std::io::Error) -> Error {
    let mut data = serde_json::json!({ "program": program });
    let detail = match command.get_current_dir() {
        Some(dir) if !dir.is_dir() => {
            data["currentDir"] = dir.to_string_lossy().into();
            format!(
                "could not start `{program}`: its working directory `{}` does not exist or is \
                 not a directory ({error})",
                dir.display()
            )
        }
        _ => format!("could not start `{program}`: {error}"),
    };
    Error::child_process(detail).with_data(data)
}

/// A child's stdin and stdout as a component: frames go to its stdin and come from its
/// stdout, as with [`ByteStreams`]: one per line, unless [`ChildStdio::framing`] or
/// [`Builder::framing`](crate::Builder::framing) says otherwise (a language server:
/// [`Framing::ContentLength`]). Got from [`ChildProcess::stdio`].
///
/// ```no_run
/// use switchboard::{ChildCommand, ChildProcess, UntypedRole};
///
/// # async fn serve() -> Result<(), switchboard::Error> {
/// let mut child = ChildProcess::spawn(ChildCommand::new("my-peer"))?;
/// // Serve the child's requests until it closes its stdout.
/// UntypedRole.builder().connect_to(child.stdio()?).await?;
/// let status = child.wait().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ChildStdio {
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// `None`: the connection's framing.
    framing: Option<Framing>,
}

impl ChildStdio {
    /// Reads and writes with `framing`, whatever the connection's (see
    /// [`ByteStreams::framing`]).
    #[must_use]
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }
}

impl<R: Role> ConnectTo<R> for ChildStdio {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let mut streams = ByteStreams::tokio(self.stdin, self.stdout);
        if let Some(framing) = self.framing {
            streams = streams.framing(framing);
        }
        <ByteStreams<_, _> as ConnectTo<R>>::into_transport(streams, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}

    /// Guarantee 7: every future the API returns is `Send`, so it can be spawned; and a child
    /// can be shared or moved between tasks.
    #[test]
    fn futures_are_send() {
        assert_send_sync::<ChildProcess>();
        assert_send_sync::<ChildStdio>();
        assert_send_sync::<ChildCommand>();
        fn check(child: &mut ChildProcess) {
            assert_send(&child.wait());
            assert_send(&child.kill());
        }
        let _ = check;
    }

    #[test]
    fn spawn_outside_a_runtime_is_an_error_not_a_panic() {
        let error = ChildProcess::spawn(ChildCommand::new("true")).unwrap_err();
        assert!(
            error.message().contains("inside a tokio runtime"),
            "{error}"
        );
    }
}
