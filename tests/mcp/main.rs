//! MCP: switchboard-mcp against the official MCP Rust SDK (`rmcp`) both ways, the example
//! programs as processes, and the protocol's rules on our server.
//!
//! | file | what it checks |
//! |---|---|
//! | `rmcp_client.rs` | rmcp's client drives our example server, in process and as a child process |
//! | `rmcp_server.rs` | our client drives an rmcp server |
//! | `protocol.rs` | the initialize gate, version negotiation, `server/discover`, error codes, pagination |
//! | `logging.rs` | log messages filtered by `logging/setLevel` and by a stateless request's `_meta` |
//! | `processes.rs` | `mcp_client` drives `mcp_server`, both as processes |
//! | `streams.rs` | a stream in MCP's convention: items on `notifications/progress`, plain progress untouched |
//! | `supervisor.rs` | `mcp_supervisor` in front of `mcp_flaky_server`: crashes, hangs, garbage, the restart limit, a rollout |

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

#[path = "../common/example_binaries.rs"]
mod example_binaries;
mod logging;
mod processes;
mod protocol;
mod rmcp_client;
mod rmcp_server;
mod streams;
mod supervisor;

/// The example programs the tests run as processes.
struct Binaries {
    client: PathBuf,
    server: PathBuf,
    supervisor: PathBuf,
    flaky_server: PathBuf,
}

/// `mcp_client`, `mcp_server`, `mcp_supervisor` and `mcp_flaky_server`, built once per test
/// run (in one cargo build).
fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let names = [
            "mcp_client",
            "mcp_server",
            "mcp_supervisor",
            "mcp_flaky_server",
        ];
        let [client, server, supervisor, flaky_server] =
            <[PathBuf; 4]>::try_from(example_binaries::build_examples(workspace, &names))
                .expect("four binaries");
        Binaries {
            client,
            server,
            supervisor,
            flaky_server,
        }
    })
}

/// A program spoken to by hand over its stdin and stdout, a JSON line at a time.
struct LinePeer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

/// Turns a hang into a failure; nothing is asserted about time.
const LINE_PATIENCE: Duration = Duration::from_secs(60);

impl LinePeer {
    fn spawn<I: AsRef<OsStr>>(program: &PathBuf, args: impl IntoIterator<Item = I>) -> Self {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{} starts: {error}", program.display()));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("its stdout")).lines();
        LinePeer {
            child,
            stdin,
            stdout,
        }
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next message it writes.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(LINE_PATIENCE, self.stdout.next_line())
            .await
            .expect("hang guard: a line")
            .unwrap()
            .expect("a line before the end");
        serde_json::from_str(&line).unwrap()
    }

    /// Closes its stdin; returns everything it writes up to its exit, and how it exited.
    async fn finish(mut self) -> (Vec<Value>, ExitStatus) {
        drop(self.stdin.take());
        let mut rest = Vec::new();
        while let Some(line) = tokio::time::timeout(LINE_PATIENCE, self.stdout.next_line())
            .await
            .expect("hang guard: its output")
            .unwrap()
        {
            rest.push(serde_json::from_str(&line).unwrap());
        }
        let status = tokio::time::timeout(LINE_PATIENCE, self.child.wait())
            .await
            .expect("hang guard: its exit")
            .unwrap();
        (rest, status)
    }
}
