//! Components that die with the conductor, even when it is killed outright (Linux).
//!
//! A component whose conductor is SIGKILLed would live on, re-parented to init, if it ignores
//! the end of its input. Linux can tell a process when its parent dies (a parent-death signal),
//! but that must be set in the child, between fork and exec, which Rust allows only through
//! `unsafe` code. Instead the conductor starts each component through itself:
//!
//! ```text
//! switchboard-conductor --launch-child-of PARENT_PID -- PROGRAM ARGS...
//! ```
//!
//! That process asks for SIGKILL when its parent dies (`rustix`'s safe wrapper of
//! `prctl(PR_SET_PDEATHSIG)`), checks that its parent is still the conductor (it may have died
//! in between), and becomes the component with `exec`, which keeps the request. The component
//! keeps its process id, its process group and its name in every message.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use switchboard::ChildCommand;

/// The hidden first argument that makes the conductor launch a component.
pub const LAUNCH_FLAG: &str = "--launch-child-of";

/// `command`, started through the program at `conductor` (this program) so that it dies with
/// this process. A program that cannot be found is left as it is, so that starting it fails at
/// once with the usual error naming it.
pub fn tied_to_this_process(command: ChildCommand, conductor: &Path) -> ChildCommand {
    if !cfg!(target_os = "linux") || find_program(command.program()).is_none() {
        return command;
    }
    let parent = std::process::id().to_string();
    command.launched_by(conductor, [LAUNCH_FLAG, &parent, "--"])
}

/// When `args` (this program's, without its name) ask for a launch, becomes the component
/// and never returns; returns the exit code if that fails. `None` when they do not ask.
pub fn launch_if_asked(args: &[OsString]) -> Option<ExitCode> {
    let [flag, parent, separator, program, program_args @ ..] = args else {
        return (args.first().is_some_and(|flag| flag == LAUNCH_FLAG)).then(|| {
            eprintln!("switchboard-conductor: {LAUNCH_FLAG} PID -- PROGRAM [ARGS...]");
            ExitCode::from(2)
        });
    };
    if flag != LAUNCH_FLAG {
        return None;
    }
    if separator != "--" {
        eprintln!("switchboard-conductor: {LAUNCH_FLAG} PID -- PROGRAM [ARGS...]");
        return Some(ExitCode::from(2));
    }
    let parent: Option<i32> = parent.to_str().and_then(|pid| pid.parse().ok());
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Signal, getppid, set_parent_process_death_signal};
        if let Err(error) = set_parent_process_death_signal(Some(Signal::KILL)) {
            eprintln!("switchboard-conductor: cannot tie a component to its conductor: {error}");
            return Some(ExitCode::from(1));
        }
        // Asked for only now: a conductor that died before this has nobody left to serve.
        if getppid().map(|pid| pid.as_raw_nonzero().get()) != parent {
            return Some(ExitCode::from(1));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    become_program(program, program_args)
}

/// Replaces this process with `program`; returns only if that fails.
#[cfg(unix)]
fn become_program(program: &OsString, args: &[OsString]) -> Option<ExitCode> {
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new(program).args(args).exec();
    let program = Path::new(program).display();
    eprintln!("switchboard-conductor: could not start `{program}`: {error}");
    Some(ExitCode::from(127))
}

#[cfg(not(unix))]
fn become_program(program: &OsString, _args: &[OsString]) -> Option<ExitCode> {
    let program = Path::new(program).display();
    eprintln!("switchboard-conductor: launching `{program}` is for Linux only");
    Some(ExitCode::from(2))
}

/// Where `program` is: itself when it names a path, else the first match in `PATH`.
fn find_program(program: &std::ffi::OsStr) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file().then(|| path.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_cannot_be_found_is_not_launched_through_the_conductor() {
        let missing = ChildCommand::new("/nonexistent/switchboard-test/program");
        let tied = tied_to_this_process(missing, Path::new("/usr/bin/conductor"));
        assert_eq!(tied.program(), "/nonexistent/switchboard-test/program");
        assert!(find_program("sh".as_ref()).is_some(), "sh is on PATH");
    }

    #[test]
    fn other_arguments_are_not_a_launch() {
        assert!(launch_if_asked(&["--proxy".into(), "x".into()]).is_none());
        assert!(launch_if_asked(&[]).is_none());
        assert!(launch_if_asked(&[LAUNCH_FLAG.into()]).is_some());
    }
}
