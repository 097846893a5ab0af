//! The `switchboard-conductor` command line.
//!
//! ```text
//! switchboard-conductor [--trace FILE] [--proxy "PROXY COMMAND"]... -- AGENT_PROGRAM [ARGS...]
//! ```
//!
//! Proxies run in the order given, the first one next to the editor. A proxy command is one
//! argument, split the way a shell splits words (see [`ChildCommand::parse`]); the agent's
//! program and arguments come after `--`, as they are.
//!
//! ```
//! use switchboard_conductor::cli::{Parsed, parse};
//!
//! let args = ["--proxy", "my-proxy --prefix 'Be brief.'", "--", "my-agent", "--acp"];
//! let Ok(Parsed::Run(invocation)) = parse(args.map(Into::into)) else { panic!() };
//! assert_eq!(invocation.proxies, ["my-proxy --prefix 'Be brief.'"]);
//! assert_eq!(invocation.agent, ["my-agent", "--acp"]);
//! let chain = invocation.chain().unwrap();
//! assert_eq!(chain.proxy_count(), 1);
//! ```

use crate::launcher::tied_to_this_process;
use std::ffi::OsString;
use std::path::PathBuf;

use switchboard::{ChildCommand, Error};

use crate::{Chain, Trace};

/// The usage line and what each option does, as `--help` prints it.
pub const USAGE: &str = "\
usage: switchboard-conductor [--trace FILE] [--proxy \"PROXY COMMAND\"]... -- AGENT_PROGRAM [ARGS...]

Runs the agent behind the proxies, in order from the editor's side, and serves them on
stdin/stdout as one ACP agent. What the components write to stderr is copied to this
program's stderr.

  --proxy \"COMMAND\"  a proxy to start, as one argument (split like a shell would)
  --trace FILE       write every message crossing every hop to FILE, one JSON object a line
  -h, --help         print this and exit
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run a chain.
    Run(Invocation),
    /// Print [`USAGE`] and exit.
    Help,
}

/// A chain to run, as the command line gave it.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Invocation {
    /// Where to write the trace, if anywhere.
    pub trace: Option<PathBuf>,
    /// The proxy commands, in order from the editor's side, each a line to split.
    pub proxies: Vec<String>,
    /// The agent's program and its arguments.
    pub agent: Vec<OsString>,
}

/// Reads the arguments (without the program name).
///
/// # Errors
///
/// A message saying what is wrong: an unknown option, an option without its value, a proxy
/// command that is not text, no agent.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let mut invocation = Invocation::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let (option, inline) = match text.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value.to_owned())),
            _ => (text, None),
        };
        let mut value = |name: &str| -> Result<OsString, String> {
            match inline.clone() {
                Some(value) => Ok(value.into()),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match option {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--trace" => invocation.trace = Some(value("--trace")?.into()),
            "--proxy" => {
                let line = value("--proxy")?
                    .into_string()
                    .map_err(|line| format!("the proxy command {line:?} is not UTF-8"))?;
                invocation.proxies.push(line);
            }
            "--" => {
                invocation.agent = args.by_ref().collect();
                break;
            }
            _ if option.starts_with('-') => return Err(format!("unknown option {option}")),
            // The agent's program without `--` before it.
            _ => {
                invocation.agent = std::iter::once(arg).chain(args.by_ref()).collect();
                break;
            }
        }
    }
    if invocation.agent.is_empty() {
        return Err("no agent: give its program and arguments after `--`".to_owned());
    }
    Ok(Parsed::Run(invocation))
}

impl Invocation {
    /// The chain this invocation describes. Nothing is started yet.
    ///
    /// # Errors
    ///
    /// An invalid-command error for a proxy command that cannot be split, naming the proxy;
    /// an error if the trace file cannot be created.
    pub fn chain(&self) -> Result<Chain, Error> {
        let mut agent = self.agent.iter();
        let program = agent
            .next()
            .ok_or_else(|| Error::invalid_params("no agent program"))?;
        // Every component's stderr goes on to ours, where the editor keeps its logs; each is
        // launched through this program, so it dies with it (see `launcher`).
        let this_program = std::env::current_exe().ok();
        let tie = |command: ChildCommand| match &this_program {
            Some(conductor) => tied_to_this_process(command.echo_stderr(true), conductor),
            None => command.echo_stderr(true),
        };
        let mut chain = Chain::spawn(tie(ChildCommand::new(program).args(agent)));
        for (index, line) in self.proxies.iter().enumerate() {
            let command = ChildCommand::parse(line).map_err(|error| {
                Error::new(
                    error.code(),
                    format!("proxy {}: {}", index + 1, error.message()),
                )
            })?;
            chain = chain.proxy_process(tie(command));
        }
        if let Some(path) = &self.trace {
            chain = chain.trace(Trace::create(path)?);
        }
        Ok(chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Invocation, String> {
        match parse(args.iter().map(OsString::from))? {
            Parsed::Run(invocation) => Ok(invocation),
            Parsed::Help => Err("help".to_owned()),
        }
    }

    #[test]
    fn options_come_before_the_agent_in_either_spelling() {
        let invocation = run(&[
            "--trace=t.jsonl",
            "--proxy",
            "a --x",
            "--proxy=b",
            "--",
            "agent",
            "--proxy",
        ])
        .unwrap();
        assert_eq!(invocation.trace, Some(PathBuf::from("t.jsonl")));
        assert_eq!(invocation.proxies, ["a --x", "b"]);
        // After `--`, everything is the agent's, options included.
        assert_eq!(invocation.agent, ["agent", "--proxy"]);
        assert_eq!(run(&["agent", "x"]).unwrap().agent, ["agent", "x"]);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(run(&["--proxy"]).unwrap_err(), "--proxy needs a value");
        assert_eq!(
            run(&["--nope", "--", "a"]).unwrap_err(),
            "unknown option --nope"
        );
        assert!(run(&["--proxy", "p"]).unwrap_err().starts_with("no agent"));
        assert!(
            run(&["--proxy", "p", "--"])
                .unwrap_err()
                .starts_with("no agent")
        );
        assert_eq!(run(&["-h", "--", "a"]).unwrap_err(), "help");
    }

    #[test]
    fn a_proxy_command_that_cannot_be_split_names_the_proxy() {
        let invocation = run(&["--proxy", "ok", "--proxy", "unclosed 'quote", "--", "a"]).unwrap();
        let error = invocation.chain().unwrap_err();
        assert!(error.message().starts_with("proxy 2: "), "{error}");
    }
}
