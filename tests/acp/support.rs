//! Shared helpers: running a client against an agent in process, a raw JSON-line peer for
//! wire-level checks, byte pipes for talking to the official SDK, temporary files, and the
//! built `acp_echo_agent` binary.

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{Builder, ByteStreams, Channel, ConnectionTo, Error, Handler};
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, FileSystemCapabilities, InitializeRequest, ProtocolVersion,
    SessionNotification, TextContent,
};
use switchboard_acp::{Agent, Client};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;

/// How long any single await may take before the test is declared hung. It only turns a
/// hang into a failure; no test asserts anything about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

/// Room in each direction of an in-memory byte pipe.
const PIPE_BYTES: usize = 1 << 16;

/// Awaits `future`, failing the test if it takes longer than [`HANG_GUARD`].
pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// Runs `agent` on one end of `Channel::duplex()` and `client` with `main` on the other;
/// returns what `main` returned, after checking that both ends finished cleanly.
pub(crate) async fn talk<HA, HC, T, F, Fut>(
    agent: Builder<Agent, HA>,
    client: Builder<Client, HC>,
    main: F,
) -> T
where
    HA: Handler<Client> + 'static,
    HC: Handler<Agent> + 'static,
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Agent>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (client_end, agent_end) = Channel::duplex();
    let agent = tokio::spawn(agent.connect_to(agent_end));
    let answer = guard("the client", client.connect_with(client_end, main))
        .await
        .unwrap_or_else(|error| panic!("the client failed: {error}"));
    guard("the agent", agent)
        .await
        .expect("the agent task panicked")
        .unwrap_or_else(|error| panic!("the agent failed: {error}"));
    answer
}

/// An `initialize` for version 1 that advertises reading and writing files.
pub(crate) fn hello() -> InitializeRequest {
    let fs = FileSystemCapabilities::new()
        .read_text_file(true)
        .write_text_file(true);
    InitializeRequest::new(ProtocolVersion::V1)
        .client_capabilities(ClientCapabilities::new().fs(fs))
}

/// A text content block.
pub(crate) fn text(text: &str) -> ContentBlock {
    ContentBlock::Text(TextContent::new(text))
}

/// The text of an `agent_message_chunk` update, owned.
pub(crate) fn chunk_text(update: &SessionNotification) -> Option<String> {
    switchboard_examples::acp_client_app::agent_text(update).map(str::to_owned)
}

/// Two one-way in-memory pipes, as (our writer, our reader, their writer, their reader).
pub(crate) fn byte_pipes() -> (DuplexStream, DuplexStream, DuplexStream, DuplexStream) {
    let (ours_out, theirs_in) = tokio::io::duplex(PIPE_BYTES);
    let (theirs_out, ours_in) = tokio::io::duplex(PIPE_BYTES);
    (ours_out, ours_in, theirs_out, theirs_in)
}

/// The test's end of a byte pipe to a connection: it writes and reads JSON lines itself, so
/// the test sees exactly what goes over the wire.
pub(crate) struct RawPeer {
    writer: DuplexStream,
    reader: BufReader<DuplexStream>,
}

/// Runs `builder` over a byte pipe as a tokio task; the test drives the [`RawPeer`].
pub(crate) fn raw_peer<R, H>(builder: Builder<R, H>) -> (RawPeer, JoinHandle<Result<(), Error>>)
where
    R: switchboard::Role,
    H: Handler<R::Counterpart> + 'static,
{
    let (peer_out, peer_in, connection_out, connection_in) = byte_pipes();
    let streams = ByteStreams::tokio(connection_out, connection_in);
    let task = tokio::spawn(builder.connect_to(streams));
    let peer = RawPeer {
        writer: peer_out,
        reader: BufReader::new(peer_in),
    };
    (peer, task)
}

impl RawPeer {
    /// Writes one frame.
    pub(crate) async fn send(&mut self, frame: Value) {
        let line = format!("{frame}\n");
        guard("writing a frame", self.writer.write_all(line.as_bytes()))
            .await
            .expect("writing to the pipe failed");
    }

    /// Writes a request.
    pub(crate) async fn request(&mut self, id: u64, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    /// Writes a notification.
    pub(crate) async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Reads one frame; fails if the output ends first.
    pub(crate) async fn recv(&mut self) -> Value {
        let mut line = String::new();
        let read = guard("reading a frame", self.reader.read_line(&mut line))
            .await
            .expect("reading from the pipe failed");
        assert!(read > 0, "the connection's output ended");
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// Reads frames until the answer to `id` and returns it with the frames read before it.
    pub(crate) async fn answer(&mut self, id: u64) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame.get("method").is_none() && frame["id"] == id {
                return (frame, before);
            }
            before.push(frame);
        }
    }

    /// Hangs up and waits for the connection to finish cleanly.
    pub(crate) async fn hang_up(self, task: JoinHandle<Result<(), Error>>) {
        drop(self);
        guard("the connection", task)
            .await
            .expect("the connection task panicked")
            .unwrap_or_else(|error| panic!("the connection failed: {error}"));
    }
}

/// Checks that `answer` is an error with `code`, and returns its message.
#[track_caller]
pub(crate) fn error_message(answer: &Value, code: i64) -> String {
    assert_eq!(answer["error"]["code"], code, "wrong answer: {answer}");
    answer["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("an error without a message: {answer}"))
        .to_owned()
}

#[path = "../common/temp_file.rs"]
mod temp_file;
pub(crate) use temp_file::TempFile;
