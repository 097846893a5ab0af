//! The `switchboard-conductor` command line.
//!
//! ```text
//! switchboard-conductor [--trace FILE] [--proxy "PROXY COMMAND"]... -- AGENT_PROGRAM [ARGS...]
//! switchboard-conductor [--proxy "PROXY COMMAND"]... -- http://HOST:PORT/acp
//! switchboard-conductor --listen HOST:PORT [--token SECRET] [--proxy "PROXY COMMAND"]... -- AGENT...
//! switchboard-conductor trace view FILE [-o OUT.html] [--terminal] [--from N] [--limit N]
//! ```
//!
//! Proxies run in the order given, the first one next to the editor. A proxy command is one
//! argument, split the way a shell splits words (see [`ChildCommand::parse`]); the agent's
//! program and arguments come after `--`, as they are. (An agent program named `trace` needs
//! the `--`: `trace` first is the trace viewer, see [`crate::view`].) An agent that is an
//! `http://`, `https://`, `ws://` or `wss://` URL is reached over the network (see
//! [`RemoteAgent`]) instead of started. With `--listen`, the chain is served over the network
//! (see [`crate::listen`]), one chain per remote connection, instead of on stdio.
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
use std::time::Duration;

use switchboard::{ChildCommand, Error};
use switchboard_acp::supervision::supervised_agent;
use switchboard_http::RemoteAgent;
use switchboard_http::tls::certificates_from_pem_file;

use crate::mcp_bridge::{McpBridgeRelay, RELAY_FLAG};
use crate::view::Window;
use crate::{Chain, Trace};

/// The usage line and what each option does, as `--help` prints it.
pub const USAGE: &str = "\
usage: switchboard-conductor [OPTIONS] [--proxy \"PROXY COMMAND\"]... -- AGENT_PROGRAM [ARGS...]
       switchboard-conductor [OPTIONS] [--proxy \"PROXY COMMAND\"]... -- AGENT_URL
       switchboard-conductor --listen HOST:PORT [SERVING OPTIONS] [--proxy \"PROXY COMMAND\"]... -- AGENT...

Runs the agent behind the proxies, in order from the editor's side, and serves them on
stdin/stdout as one ACP agent. What the components write to stderr is copied to this
program's stderr. An agent that does not reach MCP servers over ACP (no
mcpCapabilities.acp) is given those the editor and the proxies offer as stdio servers that
run this program as a relay. An agent given as a URL (http://HOST:PORT/acp over Streamable
HTTP, ws://HOST:PORT/acp over WebSocket) is reached over the network, not started.

  --proxy \"COMMAND\"     a proxy to start, as one argument (split like a shell would)
  --trace FILE          write every message crossing every hop to FILE, one JSON object a line
  --agent-token SECRET  the bearer token an agent given as a URL asks for
  --agent-root-cert FILE
                        trust the certificates of the PEM FILE for an agent at an https://
                        or wss:// URL (its own self-signed one, or its authority), beside
                        the system's
  --restart             restart the agent when it exits or crashes (at most 5 times a
                        minute, then give up): the editor's initialize is replayed and its
                        sessions resumed or loaded when the agent can; a prompt in flight
                        fails with a fault (its error's data says what happened)
  -h, --help            print this and exit

Serving over the network instead of on stdin/stdout (serving options):

  --listen HOST:PORT     serve ACP at http://HOST:PORT/acp (Streamable HTTP and WebSocket),
                         one chain (the proxies and a fresh agent) per remote connection,
                         until SIGTERM or SIGINT ends them all; port 0 picks a free port.
                         Prints `listening on http://HOST:PORT/acp` on stderr once it
                         accepts. HOST is required: 127.0.0.1 (this machine only) is the
                         safe choice; any other address, without --token, lets anyone who
                         reaches it run the agent (a warning says so)
  --token SECRET         require `Authorization: Bearer SECRET` on every request
  --allow-origin ORIGIN  let a browser page from ORIGIN in (others are refused 403); repeatable
  --idle-timeout SECS    end a Streamable HTTP connection idle this long (default 30)
  --tls-cert FILE --tls-key FILE
                         serve https:// and wss:// with this certificate chain and key (PEM)

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
    /// The agent's program and its arguments, or its URL alone.
    pub agent: Vec<OsString>,
    /// The bearer token for an agent given as a URL (`--agent-token`).
    pub agent_token: Option<String>,
    /// A PEM file of certificates to trust for an agent given as a URL
    /// (`--agent-root-cert`).
    pub agent_root_cert: Option<PathBuf>,
    /// Where to serve the chain over the network (`--listen`), instead of on stdio.
    pub listen: Option<ListenOptions>,
    /// Whether the agent is restarted when it crashes (`--restart`).
    pub restart: bool,
}

/// How to serve chains over the network, as `--listen` and its options gave it (see
/// [`crate::listen`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListenOptions {
    /// `HOST:PORT`, as given (the host spelled out; port 0 for any free one).
    pub address: String,
    /// The bearer token every request must carry (`--token`).
    pub token: Option<String>,
    /// The browser origins let in (`--allow-origin`).
    pub allowed_origins: Vec<String>,
    /// How long an idle Streamable HTTP connection lives (`--idle-timeout`).
    pub idle_timeout: Option<Duration>,
    /// The certificate chain and key (PEM files) to serve TLS with (`--tls-cert`,
    /// `--tls-key`): `https://` and `wss://`.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The URL schemes that make an agent a remote one.
const AGENT_URL_SCHEMES: [&str; 4] = ["http://", "https://", "ws://", "wss://"];

/// Reads the arguments (without the program name).
///
/// # Errors
///
/// A message saying what is wrong: an unknown option, an option without its value, a proxy
/// command that is not text, no agent.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let mut invocation = Invocation::default();
    // The options that only mean something with `--listen`, checked once all are read.
    let mut listen: Option<String> = None;
    let mut server = ListenOptions::default();
    let mut server_option: Option<&'static str> = None;
    let (mut tls_certificate, mut tls_key): (Option<PathBuf>, Option<PathBuf>) = (None, None);
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
            "--restart" => invocation.restart = true,
            "--listen" => listen = Some(text_value("--listen", value("--listen")?)?),
            "--token" => {
                server.token = Some(text_value("--token", value("--token")?)?);
                server_option = Some("--token");
            }
            "--allow-origin" => {
                let origin = text_value("--allow-origin", value("--allow-origin")?)?;
                server.allowed_origins.push(origin);
                server_option = Some("--allow-origin");
            }
            "--idle-timeout" => {
                let secs = text_value("--idle-timeout", value("--idle-timeout")?)?;
                let secs: u64 = secs.parse().ok().filter(|secs| *secs > 0).ok_or_else(|| {
                    format!("--idle-timeout needs a whole number of seconds from 1, not `{secs}`")
                })?;
                server.idle_timeout = Some(Duration::from_secs(secs));
                server_option = Some("--idle-timeout");
            }
            "--tls-cert" => {
                tls_certificate = Some(value("--tls-cert")?.into());
                server_option = Some("--tls-cert");
            }
            "--tls-key" => {
                tls_key = Some(value("--tls-key")?.into());
                server_option = Some("--tls-key");
            }
            "--agent-root-cert" => {
                invocation.agent_root_cert = Some(value("--agent-root-cert")?.into());
            }
            "--agent-token" => {
                invocation.agent_token =
                    Some(text_value("--agent-token", value("--agent-token")?)?);
            }
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
    match (invocation.agent_url(), invocation.agent.len()) {
        (Some(url), 2..) => {
            return Err(format!(
                "the agent {url} is a URL: it takes no arguments after it"
            ));
        }
        (None, _) if invocation.agent_token.is_some() => {
            return Err("--agent-token is for an agent given as a URL".to_owned());
        }
        (None, _) if invocation.agent_root_cert.is_some() => {
            return Err("--agent-root-cert is for an agent given as a URL".to_owned());
        }
        (Some(_), _) if invocation.restart => {
            return Err(
                "--restart is for an agent this program starts, not one given as a URL".to_owned(),
            );
        }
        _ => {}
    }
    match listen {
        Some(address) => {
            check_listen_address(&address)?;
            if invocation.trace.is_some() {
                // Every remote connection runs a chain of its own; one file cannot hold them.
                return Err("--trace is for a chain on stdio, not with --listen".to_owned());
            }
            server.address = address;
            server.tls = match (tls_certificate, tls_key) {
                (Some(certificate), Some(key)) => Some((certificate, key)),
                (None, None) => None,
                _ => return Err("--tls-cert and --tls-key go together".to_owned()),
            };
            invocation.listen = Some(server);
        }
        None => {
            if let Some(option) = server_option {
                return Err(format!("{option} is for serving: give --listen HOST:PORT"));
            }
        }
    }
    Ok(Parsed::Run(invocation))
}

/// `value` as text, for an option that takes text.
fn text_value(name: &str, value: OsString) -> Result<String, String> {
    value
        .into_string()
        .map_err(|value| format!("{name} needs text, not {value:?}"))
}

/// Checks that `address` is `HOST:PORT` with the host spelled out: where a server listens
/// decides who can reach it, so it is never left to a default.
fn check_listen_address(address: &str) -> Result<(), String> {
    let wanted = || {
        format!(
            "--listen needs HOST:PORT with the host spelled out (127.0.0.1:8080 serves this \
             machine only), not `{address}`"
        )
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(wanted)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(wanted());
    }
    Ok(())
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
    /// The agent's URL, when the agent is one (`http://`, `https://`, `ws://`, `wss://`).
    pub fn agent_url(&self) -> Option<&str> {
        let first = self.agent.first()?.to_str()?;
        AGENT_URL_SCHEMES
            .iter()
            .any(|scheme| first.starts_with(scheme))
            .then_some(first)
    }

    /// The chain this invocation describes. Nothing is started yet.
    ///
    /// # Errors
    ///
    /// An invalid-command error for a proxy command that cannot be split, naming the proxy;
    /// an error if the trace file cannot be created, or the agent's root certificates read.
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
        let mut chain = match self.agent_url() {
            Some(url) => {
                let mut remote = RemoteAgent::new(url);
                if let Some(token) = &self.agent_token {
                    remote = remote.token(token);
                }
                if let Some(path) = &self.agent_root_cert {
                    for root in certificates_from_pem_file(path)? {
                        remote = remote.root_certificate(root);
                    }
                }
                Chain::new(remote)
            }
            None if self.restart => {
                let command = tie(ChildCommand::new(program).args(agent));
                Chain::new(supervised_agent(command))
            }
            None => Chain::spawn(tie(ChildCommand::new(program).args(agent))),
        };
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
        // program as a relay (see `mcp_bridge`). Not a remote one: it would run the relay on
        // its own machine, where this program's path means nothing.
        if let Some(conductor) = this_program.as_ref().filter(|_| self.agent_url().is_none()) {
            chain = chain.mcp_bridge(McpBridgeRelay::new(conductor).arg(RELAY_FLAG));
        }
        if let Some(path) = &self.trace {
            chain = chain.trace(Trace::create(path)?);
        }
        Ok(chain)
    }
}

#[cfg(test)]
mod tests;
