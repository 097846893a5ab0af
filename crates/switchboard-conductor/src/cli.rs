//! The `switchboard-conductor` command line.
//!
//! ```text
//! switchboard-conductor [--trace FILE] [--proxy "PROXY COMMAND"]... -- AGENT_PROGRAM [ARGS...]
//! switchboard-conductor trace view FILE [-o OUT.html] [--terminal] [--from N] [--limit N]
//! ```
//!
//! Proxies run in the order given, the first one next to the editor. A proxy command is one
//! argument, split the way a shell splits words (see [`ChildCommand::parse`]); the agent's
//! program and arguments come after `--`, as they are. (An agent program named `trace` needs
//! the `--`: `trace` first is the trace viewer, see [`crate::view`].)
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

use crate::mcp_bridge::{McpBridgeRelay, RELAY_FLAG};
use crate::view::Window;
use crate::{Chain, Trace};

/// The usage line and what each option does, as `--help` prints it.
pub const USAGE: &str = "\
usage: switchboard-conductor [--trace FILE] [--proxy \"PROXY COMMAND\"]... -- AGENT_PROGRAM [ARGS...]

Runs the agent behind the proxies, in order from the editor's side, and serves them on
stdin/stdout as one ACP agent. What the components write to stderr is copied to this
program's stderr. An agent that does not reach MCP servers over ACP (no
mcpCapabilities.acp) is given those the editor and the proxies offer as stdio servers that
run this program as a relay.

  --proxy \"COMMAND\"  a proxy to start, as one argument (split like a shell would)
  --trace FILE       write every message crossing every hop to FILE, one JSON object a line
  -h, --help         print this and exit

usage: switchboard-conductor trace view FILE [-o OUT.html] [--terminal] [--from N] [--limit N]

Draws a trace (from --trace here, or acp_client --trace) as a sequence diagram: a lane per
component, an arrow per message, cancellations and error answers marked.

  -o, --output OUT.html  write a self-contained HTML page (inline SVG, no script) to OUT.html
  --terminal             print the diagram as text (the default without -o)
  --from N               start at message N (from 1)
  --limit N              show at most N messages (default 1000)
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run a chain.
    Run(Invocation),
    /// Draw a trace.
    View(ViewRequest),
    /// Print [`USAGE`] and exit.
    Help,
}

/// A trace to draw, as `switchboard-conductor trace view` was asked to.
#[derive(Debug)]
#[non_exhaustive]
pub struct ViewRequest {
    /// The trace file.
    pub trace: PathBuf,
    /// Where to write the HTML page, if anywhere.
    pub output: Option<PathBuf>,
    /// Whether to print the terminal view (always, when there is no page to write).
    pub terminal: bool,
    /// Which messages to draw.
    pub window: Window,
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
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|first| first == "trace") {
        args.next();
        return match args.next() {
            Some(sub) if sub == "view" => parse_view(args),
            Some(sub) => Err(format!(
                "unknown trace command {sub:?}: the one there is is `view`"
            )),
            None => Err("trace needs a command: `trace view FILE`".to_owned()),
        };
    }
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

/// Reads the arguments after `trace view`.
fn parse_view(args: impl Iterator<Item = OsString>) -> Result<Parsed, String> {
    let mut trace = None;
    let mut output = None;
    let mut terminal = false;
    let mut window = Window::default();
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, value: OsString| -> Result<usize, String> {
            value
                .to_str()
                .and_then(|text| text.parse().ok())
                .filter(|number| *number >= 1)
                .ok_or_else(|| format!("{name} needs a whole number from 1, not {value:?}"))
        };
        match arg.to_str() {
            Some("-h" | "--help") => return Ok(Parsed::Help),
            Some("-o" | "--output") => output = Some(value("--output")?.into()),
            Some("--terminal") => terminal = true,
            Some("--from") => window.first = number("--from", value("--from")?)?,
            Some("--limit") => window.limit = number("--limit", value("--limit")?)?,
            Some(option) if option.starts_with('-') && option != "-" => {
                return Err(format!("unknown option {option} for trace view"));
            }
            _ if trace.is_none() => trace = Some(PathBuf::from(arg)),
            _ => {
                return Err(format!(
                    "trace view takes one FILE, and {arg:?} is a second"
                ));
            }
        }
    }
    let trace = trace.ok_or("trace view needs the trace FILE to draw")?;
    Ok(Parsed::View(ViewRequest {
        trace,
        terminal: terminal || output.is_none(),
        output,
        window,
    }))
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
        // An agent without `mcpCapabilities.acp` reaches the ACP MCP servers through this
        // program as a relay (see `mcp_bridge`).
        if let Some(conductor) = &this_program {
            chain = chain.mcp_bridge(McpBridgeRelay::new(conductor).arg(RELAY_FLAG));
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
            Parsed::View(_) => Err("view".to_owned()),
        }
    }

    fn view(args: &[&str]) -> Result<ViewRequest, String> {
        match parse(args.iter().map(OsString::from))? {
            Parsed::View(request) => Ok(request),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn trace_view_draws_a_file_as_a_page_or_text() {
        let request = view(&["trace", "view", "t.jsonl"]).unwrap();
        assert_eq!(request.trace, PathBuf::from("t.jsonl"));
        assert_eq!((request.output, request.terminal), (None, true));
        assert_eq!(request.window, Window::default());
        let request = view(&["trace", "view", "-o", "out.html", "t.jsonl", "--from", "3"]).unwrap();
        assert_eq!(request.output, Some(PathBuf::from("out.html")));
        assert!(!request.terminal);
        assert_eq!(request.window.first, 3);
        let request = view(&[
            "trace",
            "view",
            "t",
            "--output",
            "o",
            "--terminal",
            "--limit",
            "9",
        ]);
        let request = request.unwrap();
        assert!(request.terminal);
        assert_eq!(request.window.limit, 9);
        // `--` still makes `trace` the agent's program.
        assert_eq!(
            run(&["--", "trace", "view"]).unwrap().agent,
            ["trace", "view"]
        );
    }

    #[test]
    fn trace_view_mistakes_are_named() {
        assert!(view(&["trace"]).unwrap_err().contains("trace view FILE"));
        assert!(
            view(&["trace", "show"])
                .unwrap_err()
                .contains("unknown trace command")
        );
        assert!(
            view(&["trace", "view"])
                .unwrap_err()
                .contains("needs the trace FILE")
        );
        assert!(
            view(&["trace", "view", "a", "b"])
                .unwrap_err()
                .contains("is a second")
        );
        assert_eq!(
            view(&["trace", "view", "a", "-o"]).unwrap_err(),
            "--output needs a value"
        );
        assert!(
            view(&["trace", "view", "a", "--from", "0"])
                .unwrap_err()
                .contains("from 1")
        );
        assert!(
            view(&["trace", "view", "a", "--limit", "x"])
                .unwrap_err()
                .contains("\"x\"")
        );
        assert_eq!(
            view(&["trace", "view", "a", "--nope"]).unwrap_err(),
            "unknown option --nope for trace view"
        );
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
