//! What to run: [`ChildCommand`], built by hand or parsed from a command line.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// How many bytes of a child's stderr [`ChildProcess`](super::ChildProcess) keeps unless told
/// otherwise: 64 KiB, enough for the last few dozen lines of a crash report.
pub const DEFAULT_STDERR_TAIL_BYTES: usize = 64 * 1024;

/// How long a child whose stdin was closed is given to exit before it is killed, unless told
/// otherwise: 2 s (see [`ChildCommand::exit_grace`]).
pub const DEFAULT_EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A program to start as a child process: its path or name, its arguments, changes to the
/// environment it inherits, its working directory, and how much of its stderr to keep.
///
/// Build one by hand, or from a single line of text (a setting in a configuration file, a
/// command-line flag) with [`ChildCommand::parse`]. Start it with
/// [`ChildProcess::spawn`](super::ChildProcess::spawn). Nothing runs until then, so a
/// `ChildCommand` can be cloned and started several times.
///
/// ```
/// use std::ffi::OsStr;
/// use switchboard::ChildCommand;
///
/// let command = ChildCommand::new("my-agent")
///     .arg("--stdio")
///     .args(["--log", "debug"])
///     .env("RUST_LOG", "info")
///     .current_dir("/srv/agent");
/// assert_eq!(command.program(), "my-agent");
/// assert_eq!(command.get_args(), ["--stdio", "--log", "debug"]);
/// let env: Vec<_> = command.get_envs().collect();
/// assert_eq!(env, [(OsStr::new("RUST_LOG"), Some(OsStr::new("info")))]);
/// assert_eq!(command.get_current_dir(), Some("/srv/agent".as_ref()));
/// ```
#[derive(Clone, Debug)]
pub struct ChildCommand {
    program: OsString,
    args: Vec<OsString>,
    /// Changes to the inherited environment, applied in the order given, so a later change to
    /// the same variable wins. `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    /// `None`: the child starts in this process's working directory.
    current_dir: Option<PathBuf>,
    stderr_tail_bytes: usize,
    echo_stderr: bool,
    exit_grace: std::time::Duration,
    /// A program, and its arguments, that starts the real one (see
    /// [`ChildCommand::launched_by`]).
    launcher: Option<(OsString, Vec<OsString>)>,
}

impl ChildCommand {
    /// A command that runs `program` with no arguments, this process's environment and working
    /// directory. A name without a slash is looked up in `PATH` when the child starts.
    pub fn new(program: impl Into<OsString>) -> Self {
        ChildCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            stderr_tail_bytes: DEFAULT_STDERR_TAIL_BYTES,
            echo_stderr: false,
            exit_grace: DEFAULT_EXIT_GRACE,
            launcher: None,
        }
    }

    /// Adds one argument. It reaches the program as it is: no shell splits or expands it.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds several arguments, in order.
    #[must_use]
    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the environment variable `key` to `value` for the child; the rest of this process's
    /// environment is inherited.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes the environment variable `key` from what the child inherits.
    #[must_use]
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Starts the child in `dir` instead of this process's working directory.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// How many of the last bytes the child writes to stderr to keep for
    /// [`ChildProcess::stderr_tail`](super::ChildProcess::stderr_tail); the default is
    /// [`DEFAULT_STDERR_TAIL_BYTES`]. Older output is dropped as newer arrives, so this is also
    /// the most memory the child's stderr can take, however much it writes.
    #[must_use]
    pub fn stderr_tail_bytes(mut self, bytes: usize) -> Self {
        self.stderr_tail_bytes = bytes;
        self
    }

    /// Also copies what the child writes to stderr onto this process's stderr, as it
    /// arrives; the tail is kept all the same. For a program that runs others on a user's
    /// behalf (a conductor, say), whose logs that user should see.
    #[must_use]
    pub fn echo_stderr(mut self, echo: bool) -> Self {
        self.echo_stderr = echo;
        self
    }

    /// How long the child is given to exit, once its stdin is closed, before it is killed
    /// with its process group, when it is ended by [`ChildProcess::end`](super::ChildProcess::end)
    /// or by dropping its `ChildProcess` (default [`DEFAULT_EXIT_GRACE`]). A well-behaved
    /// peer exits when its input ends; one that does not is still ended, after this.
    #[must_use]
    pub fn exit_grace(mut self, grace: std::time::Duration) -> Self {
        self.exit_grace = grace;
        self
    }

    /// The grace set with [`exit_grace`](ChildCommand::exit_grace).
    pub fn get_exit_grace(&self) -> std::time::Duration {
        self.exit_grace
    }

    /// Starts the program through `launcher`: what runs is `launcher ARGS... PROGRAM
    /// PROGRAM_ARGS...`, and the launcher is expected to become the program (exec it) after
    /// preparing the process. Names in messages and [`program`](ChildCommand::program) stay
    /// the program's. `switchboard-conductor` starts its components through itself this way,
    /// to tie them to its life (a parent-death signal) without unsafe code in between fork
    /// and exec.
    ///
    /// ```
    /// use switchboard::ChildCommand;
    ///
    /// let command = ChildCommand::new("my-agent").launched_by("nice", ["-n", "10"]);
    /// assert_eq!(command.program(), "my-agent");
    /// ```
    #[must_use]
    pub fn launched_by<I>(mut self, launcher: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let args = args.into_iter().map(Into::into).collect();
        self.launcher = Some((launcher.into(), args));
        self
    }

    /// Whether the child's stderr is copied onto this process's (see
    /// [`echo_stderr`](ChildCommand::echo_stderr)).
    pub fn get_echo_stderr(&self) -> bool {
        self.echo_stderr
    }

    /// The program to run.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments, in order (the program itself is not among them).
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The changes to the inherited environment, in the order they are applied: `Some(value)`
    /// sets the variable, `None` removes it.
    pub fn get_envs(&self) -> impl Iterator<Item = (&OsStr, Option<&OsStr>)> {
        self.env
            .iter()
            .map(|(key, value)| (key.as_os_str(), value.as_deref()))
    }

    /// The working directory the child starts in, if one was set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.current_dir.as_deref()
    }

    /// How many bytes of stderr are kept (see [`ChildCommand::stderr_tail_bytes`]).
    pub fn get_stderr_tail_bytes(&self) -> usize {
        self.stderr_tail_bytes
    }

    /// The program name as text, for messages.
    pub(super) fn display_program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// A tokio command with the program, arguments, environment and directory set; the
    /// caller decides the stdio and process settings.
    pub(super) fn to_tokio(&self) -> tokio::process::Command {
        let mut command = match &self.launcher {
            Some((launcher, launcher_args)) => {
                let mut command = tokio::process::Command::new(launcher);
                command.args(launcher_args).arg(&self.program);
                command
            }
            None => tokio::process::Command::new(&self.program),
        };
        command.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
    }
}
