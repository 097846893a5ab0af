//! A peer run as a child process, talked to over its stdin and stdout (feature `tokio`).
//!
//! - `command.rs`: [`ChildCommand`], what to run; `parse.rs` reads one from a command line.
//! - this file: [`ChildProcess`], the running child and its lifetime (wait, kill, drop), and
//!   [`ChildStdio`], its pipes as a component.
//! - `stderr.rs`: the bounded tail of what the child writes to stderr.

mod command;
mod parse;
mod stderr;

use std::fmt;
use std::process::{ExitStatus, Stdio as StdStdio};

use tokio::process::{Child, ChildStdin, ChildStdout};

pub use command::{ChildCommand, DEFAULT_STDERR_TAIL_BYTES};
use stderr::StderrTail;

use super::{ByteStreams, ConnectTo, Transport, TransportConfig};
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
/// On unix the child leads a process group of its own, and killing it ([`ChildProcess::kill`],
/// or dropping the `ChildProcess`) kills the whole group: processes the child started, which
/// inherited the group, die with it instead of living on as orphans. Elsewhere only the child
/// itself is killed.
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
    child: Child,
    /// The program's name, for error messages.
    program: String,
    stderr: StderrTail,
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
            child,
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
        match (self.child.stdin.take(), self.child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok(ChildStdio { stdin, stdout }),
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
        self.child.id()
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
        let status = self.child.wait().await.map_err(|error| {
            Error::child_process(format!("waiting for `{}` failed: {error}", self.program))
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
        self.child.try_wait().map_err(|error| {
            Error::child_process(format!("checking on `{}` failed: {error}", self.program))
        })
    }

    /// Kills the child, on unix with its whole process group, and waits until it is gone.
    /// Killing a child that has already exited does nothing and succeeds.
    ///
    /// Once the exit was seen (by `wait`, `try_wait` or an earlier `kill`), the group is no
    /// longer signalled: the system may have given its id to a new process by then.
    ///
    /// # Errors
    ///
    /// An [`Error::child_process`] if the child or its group could not be signalled (the
    /// child is still killed and waited for if the group could not be), or if waiting failed.
    pub async fn kill(&mut self) -> Result<(), Error> {
        let Some(id) = self.child.id() else {
            return Ok(());
        };
        // The group first, while the child is not yet waited for: until then its id, which is
        // the group's id, cannot be given to another process.
        #[cfg(unix)]
        let group = kill_group(id);
        #[cfg(not(unix))]
        let group: std::io::Result<()> = Ok(());
        self.child.kill().await.map_err(|error| {
            Error::child_process(format!(
                "killing `{}` (process {id}) failed: {error}",
                self.program
            ))
        })?;
        self.stderr.settle().await;
        group.map_err(|error| {
            Error::child_process(format!(
                "killing the process group of `{}` (process {id}) failed: {error}",
                self.program
            ))
        })
    }
}

impl Drop for ChildProcess {
    /// Kills the child (on unix with its process group) without waiting for it: tokio reaps
    /// it in the background.
    fn drop(&mut self) {
        // A child already waited for needs nothing, and its group must not be signalled (see
        // `kill`).
        let Some(id) = self.child.id() else {
            return;
        };
        #[cfg(not(unix))]
        let _ = id;
        #[cfg(unix)]
        if let Err(error) = kill_group(id) {
            let program = &self.program;
            tracing::debug!(%error, %program, "killing a child's process group failed");
        }
        if let Err(error) = self.child.start_kill() {
            tracing::debug!(%error, program = %self.program, "killing a child failed");
        }
    }
}

impl fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildProcess")
            .field("program", &self.program)
            .field("id", &self.child.id())
            .finish_non_exhaustive()
    }
}

/// Sends SIGKILL to the process group `id`. A group that no longer exists is not an error.
#[cfg(unix)]
fn kill_group(id: u32) -> std::io::Result<()> {
    use rustix::process::{Pid, Signal, kill_process_group};

    // Process 1's "group" means every process we may signal: never send that. A child of ours
    // cannot have that id, so this only guards against the impossible.
    let Some(pid) = i32::try_from(id)
        .ok()
        .filter(|&raw| raw > 1)
        .and_then(Pid::from_raw)
    else {
        return Ok(());
    };
    match kill_process_group(pid, Signal::KILL) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(error) => Err(error.into()),
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
/// stdout, one per line, as with [`ByteStreams`]. Got from [`ChildProcess::stdio`].
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
}

impl<R: Role> ConnectTo<R> for ChildStdio {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let streams = ByteStreams::tokio(self.stdin, self.stdout);
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
