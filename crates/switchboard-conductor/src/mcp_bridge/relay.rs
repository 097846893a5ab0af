//! The relay: the process an agent starts for a bridged server. It connects to the
//! conductor's listener, says who it is in one line, waits for one line back, and then
//! copies its stdin to the connection and the connection to its stdout until either ends.
//!
//! The handshake, one JSON object a line each way:
//!
//! ```text
//! relay → conductor   {"token": "<hex>", "serverId": "<id>"}
//! conductor → relay   {"ok": true}            or   {"error": "<why not>"}
//! ```
//!
//! after which the connection carries the agent's MCP messages, newline-delimited, as they
//! are. The relay never looks at them.

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{RELAY_FLAG, TOKEN_ENV};

/// The longest handshake line either side reads; a longer one closes the connection.
pub(crate) const MAX_HELLO_BYTES: u64 = 4096;

/// How long either side waits for the other's handshake line.
pub(crate) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a stream one read takes before it is written on.
const RELAY_CHUNK: usize = 16 * 1024;

/// The relay's line: who sent it, for which server.
#[derive(Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) token: String,
    #[serde(rename = "serverId")]
    pub(crate) server_id: String,
}

/// The conductor's line: in, or why not.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum HelloAnswer {
    Admitted { ok: bool },
    Refused { error: String },
}

impl HelloAnswer {
    /// The answer as the line that is written.
    pub(crate) fn line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        line.push('\n');
        line
    }
}

/// Reads one handshake line of at most [`MAX_HELLO_BYTES`] as a `T`, and nothing after it.
pub(crate) async fn read_line_as<T: serde::de::DeserializeOwned>(
    from: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<T, String> {
    let mut line = Vec::new();
    from.take(MAX_HELLO_BYTES)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|error| format!("reading the handshake failed: {error}"))?;
    if line.last() != Some(&b'\n') {
        return Err(if line.len() as u64 >= MAX_HELLO_BYTES {
            format!("the handshake line is longer than {MAX_HELLO_BYTES} bytes")
        } else {
            "the connection ended before the handshake".to_owned()
        });
    }
    serde_json::from_slice(&line).map_err(|error| format!("not a handshake line: {error}"))
}

/// When `args` (this program's, without its name) start with [`RELAY_FLAG`], runs the relay
/// they describe on this process's stdio and returns its exit code; `None` when they do not.
///
/// A program that embeds a [`Chain`](crate::Chain) and uses
/// [`McpBridgeRelay::this_program`](super::McpBridgeRelay::this_program) calls this first
/// thing in `main`:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     let args: Vec<_> = std::env::args_os().skip(1).collect();
///     if let Some(code) = switchboard_conductor::mcp_bridge::relay_if_asked(&args) {
///         return code;
///     }
///     // ... the program itself, whose chain has
///     // `.mcp_bridge(McpBridgeRelay::this_program()?)`
/// #   std::process::ExitCode::SUCCESS
/// }
/// ```
///
/// Exit codes: 0 when stdin or the connection ended, 1 when the relay failed or was refused
/// (the reason is on stderr), 2 for arguments or environment that do not describe a relay.
pub fn relay_if_asked(args: &[OsString]) -> Option<ExitCode> {
    if args.first()? != RELAY_FLAG {
        return None;
    }
    let usage = || {
        eprintln!(
            "switchboard-conductor: {RELAY_FLAG} ADDRESS SERVER_ID, with the token in \
             {TOKEN_ENV} (the conductor writes this command for an agent; it is not for people)"
        );
        Some(ExitCode::from(2))
    };
    let [_, address, server_id] = args else {
        return usage();
    };
    let (Some(address), Some(server_id), Ok(token)) = (
        address.to_str(),
        server_id.to_str(),
        std::env::var(TOKEN_ENV),
    ) else {
        return usage();
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchboard-conductor: the MCP bridge relay cannot start: {error}");
            return Some(ExitCode::FAILURE);
        }
    };
    let relayed = runtime.block_on(run_relay(address, server_id, &token));
    // A blocking read of stdin may still hold a thread: not waited for.
    runtime.shutdown_background();
    Some(match relayed {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-conductor: MCP bridge to `{server_id}`: {error}");
            ExitCode::FAILURE
        }
    })
}

/// Relays this process's stdin and stdout to the conductor listening at `address`, for the
/// server `server_id`, proving itself with `token`. Returns when either stream ends.
///
/// # Errors
///
/// When the conductor cannot be reached, refuses the relay (the error says why), or a
/// stream fails.
pub async fn run_relay(address: &str, server_id: &str, token: &str) -> io::Result<()> {
    relay(
        address,
        server_id,
        token,
        tokio::io::stdin(),
        tokio::io::stdout(),
    )
    .await
}

/// [`run_relay`] over any input and output.
pub(crate) async fn relay(
    address: &str,
    server_id: &str,
    token: &str,
    input: impl AsyncRead + Unpin,
    output: impl AsyncWrite + Unpin,
) -> io::Result<()> {
    let stream = TcpStream::connect(address).await.map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot reach the conductor at {address}: {error}"),
        )
    })?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let hello = Hello {
        token: token.to_owned(),
        server_id: server_id.to_owned(),
    };
    let mut line = serde_json::to_string(&hello).map_err(io::Error::other)?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let answer = tokio::time::timeout(HELLO_TIMEOUT, read_line_as::<HelloAnswer>(&mut read))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the conductor did not answer within {HELLO_TIMEOUT:?}"),
            )
        })?
        .map_err(|problem| io::Error::new(io::ErrorKind::InvalidData, problem))?;
    match answer {
        HelloAnswer::Admitted { ok: true } => {}
        HelloAnswer::Admitted { ok: false } => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the conductor refused the relay",
            ));
        }
        HelloAnswer::Refused { error } => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("the conductor refused the relay: {error}"),
            ));
        }
    }
    tokio::select! {
        sent = pump(input, &mut write) => {
            // The MCP client is done: the conductor hears it as the end of the connection.
            let _ = write.shutdown().await;
            sent
        }
        received = pump(read, output) => received,
    }
}

/// Copies `from` to `to` until `from` ends, flushing after every read so that each message
/// is passed on as soon as it arrives.
async fn pump(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) -> io::Result<()> {
    let mut buffer = vec![0u8; RELAY_CHUNK];
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        to.write_all(&buffer[..read]).await?;
        to.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_arguments_are_not_a_relay() {
        assert!(relay_if_asked(&["--proxy".into()]).is_none());
        assert!(relay_if_asked(&[]).is_none());
        assert_eq!(
            relay_if_asked(&[RELAY_FLAG.into()]),
            Some(ExitCode::from(2))
        );
    }

    #[tokio::test]
    async fn a_line_too_long_or_cut_short_is_not_a_handshake() {
        let long = vec![b'x'; MAX_HELLO_BYTES as usize + 10];
        let error = read_line_as::<Hello>(&mut &long[..]).await.err().unwrap();
        assert!(error.contains("longer than"), "{error}");
        let error = read_line_as::<Hello>(&mut &b"{\"tok"[..])
            .await
            .err()
            .unwrap();
        assert!(error.contains("ended before"), "{error}");
        let error = read_line_as::<Hello>(&mut &b"garbage\n"[..])
            .await
            .err()
            .unwrap();
        assert!(error.contains("not a handshake"), "{error}");
    }
}
