//! An MCP server on stdio that fronts another MCP server, supervised: restarted when it
//! crashes or hangs, its handshake replayed, safe calls replayed, a changed executable rolled
//! out; and two tools of its own, `health` and `telemetry` (see `mcp_front` in this crate).
//!
//! ```text
//! mcp_supervisor [--safe TOOL]... [--max-restarts N] [--call-timeout SECS] [--watch] [--telemetry-log FILE] -- CMD [ARGS...]
//! cargo run --example mcp_client -- --call health '{}' -- cargo run -q --example mcp_supervisor -- target/debug/examples/mcp_server
//! ```
//!
//! It exits 0 when its input ends (once what was asked is answered), 1 if the connection
//! fails, 2 when the command line is wrong. Logs go to stderr, so stdout carries only
//! protocol. Each server it starts dies with it, even when it is killed outright (on Linux,
//! through the conductor's launcher: it starts the server through itself).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use switchboard::{ChildCommand, Stdio};
use switchboard_conductor::launcher;
use switchboard_examples::mcp_front::{self, Settings};

const USAGE: &str = "usage: mcp_supervisor [--safe TOOL]... [--max-restarts N] [--call-timeout SECS] [--watch] [--telemetry-log FILE] -- CMD [ARGS...]

An MCP server on stdio that runs the MCP server CMD behind a supervisor: a server that
crashes or hangs is restarted and its handshake replayed; a call lost with it is sent to
the new one if it is safe, or fails with the fault (JSON-RPC code -32011, the fault as the
error's data). Two tools are added: `health` and `telemetry`.

Safe without being asked: tools/list, resources/list, resources/templates/list,
prompts/list and ping (they only read). Every tools/call is unsafe unless --safe names it.

options:
  --safe TOOL            calls of TOOL may be sent again to a new server; repeatable
  --max-restarts N       give up after N restarts within a minute (default 5)
  --call-timeout SECS    a call unanswered after SECS seconds means the server hung
  --watch                when CMD's executable changes, roll out a new server
  --telemetry-log FILE   append one JSON line per call to FILE
  --help                 print this and exit

exit status: 0 when the input ends, 1 if the connection fails, 2 if the command line is
wrong.
";

/// The settings and the server's command; `None` for `--help`.
fn parse(
    args: impl IntoIterator<Item = String>,
) -> Result<Option<(Settings, ChildCommand)>, String> {
    let mut args = args.into_iter();
    let mut settings = Settings::default();
    loop {
        let option = args.next();
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{} needs {what}", option.as_deref().unwrap_or("")))
        };
        match option.as_deref() {
            Some("--help") => return Ok(None),
            Some("--safe") => settings.safe_tools.push(value("a tool name")?),
            Some("--max-restarts") => {
                let n = value("a number")?;
                let n = n
                    .parse()
                    .map_err(|_| format!("--max-restarts: `{n}` is not a number"))?;
                settings.max_restarts = Some(n);
            }
            Some("--call-timeout") => {
                let secs = value("a number of seconds")?;
                let parsed = secs
                    .parse::<f64>()
                    .ok()
                    .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                    .filter(|timeout| !timeout.is_zero())
                    .ok_or_else(|| {
                        format!("--call-timeout: `{secs}` is not a number of seconds")
                    })?;
                settings.call_timeout = Some(parsed);
            }
            Some("--watch") => settings.watch = true,
            Some("--telemetry-log") => {
                settings.telemetry_log = Some(PathBuf::from(value("a file")?));
            }
            Some("--") => break,
            Some(other) => {
                return Err(format!(
                    "unknown option `{other}` (the server command goes after `--`)"
                ));
            }
            None => return Err("no server command: give it after `--`".to_owned()),
        }
    }
    let program = args.next().ok_or("no server program after `--`")?;
    // The server's logs go on to ours, where an MCP host keeps a server's stderr.
    let mut command = ChildCommand::new(program).args(args).echo_stderr(true);
    if let Ok(this_program) = std::env::current_exe() {
        command = launcher::tied_to_this_process(command, &this_program);
    }
    Ok(Some((settings, command)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Asked by a running mcp_supervisor to start its server (see `launcher`): becomes it.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(failed) = launcher::launch_if_asked(&args) {
        return failed;
    }
    let (settings, command) = match parse(std::env::args().skip(1)) {
        Ok(Some(run)) => run,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("mcp_supervisor: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let supervisor = mcp_front::supervisor(command, &settings);
    match mcp_front::serve(supervisor, Stdio::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp_supervisor: {}", error.message());
            ExitCode::FAILURE
        }
    }
}
