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
//! | `supervisor.rs` | `mcp_supervisor` in front of `mcp_flaky_server`: crashes, hangs, garbage, the restart limit, a rollout |

use std::path::PathBuf;
use std::sync::OnceLock;

#[path = "../common/example_binaries.rs"]
mod example_binaries;
mod logging;
mod processes;
mod protocol;
mod rmcp_client;
mod rmcp_server;
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
