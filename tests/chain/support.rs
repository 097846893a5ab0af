//! Shared helpers: building chains of `n` proxies, running a client against a chain in
//! process, reading a chain's trace, a raw JSON-lines component, and the small ACP helpers
//! (`hello`, `text`, temporary files).

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard::{Builder, Channel, ConnectTo, ConnectionTo, Error, Handler, Lines};
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, ContentChunk, FileSystemCapabilities, InitializeRequest,
    ProtocolVersion, SessionId, SessionNotification, SessionUpdate, TextContent,
};
use switchboard_acp::{Agent, Client, Conductor, Proxy};
use switchboard_conductor::{Chain, Trace};

/// How long any single await may take before the test is declared hung. It only turns a
/// hang into a failure; no test asserts anything about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

/// The chain lengths every behaviour is checked for.
pub(crate) const PROXY_COUNTS: [usize; 3] = [0, 1, 3];

/// Awaits `future`, failing the test if it takes longer than [`HANG_GUARD`].
pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// `agent` behind `n` proxies that pass everything on untouched.
pub(crate) fn transparent(agent: impl ConnectTo<Client>, n: usize) -> Chain {
    (0..n).fold(Chain::new(agent), |chain, _| chain.proxy(Proxy.builder()))
}

/// `agent` behind `n` proxies, proxy `k` (from 1, on the editor's side) made by `proxy(k)`.
pub(crate) fn chain_of<P: ConnectTo<Conductor>>(
    agent: impl ConnectTo<Client>,
    n: usize,
    proxy: impl Fn(usize) -> P,
) -> Chain {
    (1..=n).fold(Chain::new(agent), |chain, k| chain.proxy(proxy(k)))
}

/// Runs `chain` with [`Chain::run`] as a task, and `client` with `main` on the editor's side
/// of an in-process channel. Returns what `main` returned, after checking that the chain
/// ended cleanly when the client hung up (so a trace is complete by then).
pub(crate) async fn drive<H, T, F, Fut>(chain: Chain, client: Builder<Client, H>, main: F) -> T
where
    H: Handler<Agent> + 'static,
    T: Send + 'static,
    F: FnOnce(ConnectionTo<Agent>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (client_end, editor_end) = Channel::duplex();
    let chain = tokio::spawn(chain.run(editor_end));
    let answer = guard("the client", client.connect_with(client_end, main))
        .await
        .unwrap_or_else(|error| panic!("the client failed: {error}"));
    guard("the chain", chain)
        .await
        .expect("the chain's task panicked")
        .unwrap_or_else(|error| panic!("the chain failed: {error}"));
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

/// A `session/update` carrying `text` as an `agent_message_chunk`.
pub(crate) fn say(session: &SessionId, text: &str) -> SessionNotification {
    let chunk = ContentChunk::new(ContentBlock::Text(TextContent::new(text)));
    SessionNotification::new(session.clone(), SessionUpdate::AgentMessageChunk(chunk))
}

/// The text of an `agent_message_chunk` update, owned.
pub(crate) fn chunk_text(update: &SessionNotification) -> Option<String> {
    switchboard_examples::acp_client_app::agent_text(update).map(str::to_owned)
}

/// The text blocks of a prompt (the `params` of `session/prompt`), in order.
pub(crate) fn prompt_texts(params: &Value) -> Vec<String> {
    params["prompt"]
        .as_array()
        .unwrap_or_else(|| panic!("not a prompt: {params}"))
        .iter()
        .filter_map(|block| block["text"].as_str().map(str::to_owned))
        .collect()
}

/// Where a chain's trace goes in a test: memory, read back as JSON lines.
#[derive(Clone, Default)]
pub(crate) struct Memory(Arc<Mutex<Vec<u8>>>);

impl Memory {
    /// A trace that writes here.
    pub(crate) fn trace(&self) -> Trace {
        Trace::to_writer(self.clone())
    }

    /// Every line written so far, parsed; fails the test on a line that is not JSON.
    pub(crate) fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).expect("the trace is UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "the trace ends mid-line"
        );
        text.lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("a trace line is not JSON ({error}): {line}"))
            })
            .collect()
    }
}

impl Write for Memory {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The messages of `trace` that crossed `hop` in `direction` (`"received"` or `"sent"`).
pub(crate) fn on_hop<'a>(
    trace: &'a [Value],
    hop: usize,
    direction: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    trace
        .iter()
        .filter(move |line| line["hop"] == hop && line["direction"] == direction)
        .map(|line| &line["message"])
}

/// A message's method and params, seen through a `proxy/successor` envelope if it has one.
pub(crate) fn carried(message: &Value) -> (Option<&str>, &Value) {
    if message["method"] == "proxy/successor" {
        let inner = &message["params"];
        (inner["method"].as_str(), &inner["params"])
    } else {
        (message["method"].as_str(), &message["params"])
    }
}

/// The requests of `method` (seen through envelopes) among `messages`, with their ids.
pub(crate) fn requests<'a>(
    messages: impl Iterator<Item = &'a Value>,
    method: &str,
) -> Vec<(&'a Value, &'a Value)> {
    messages
        .filter(|message| message.get("id").is_some() && carried(message).0 == Some(method))
        .map(|message| (&message["id"], carried(message).1))
        .collect()
}

/// A component made of two in-memory line queues, the other end of which the test drives
/// by hand: it writes and reads JSON text itself, so it can send what no builder would.
pub(crate) struct RawEnd {
    to_component: mpsc::UnboundedSender<std::io::Result<String>>,
    from_component: mpsc::UnboundedReceiver<String>,
}

/// The component end of a [`RawEnd`]: give it to a chain.
pub(crate) type RawComponent =
    Lines<mpsc::UnboundedSender<String>, mpsc::UnboundedReceiver<std::io::Result<String>>>;

/// A raw JSON-lines component, and the test's end of it.
pub(crate) fn raw_lines() -> (RawEnd, RawComponent) {
    let (to_component, incoming) = mpsc::unbounded();
    let (outgoing, from_component) = mpsc::unbounded();
    let end = RawEnd {
        to_component,
        from_component,
    };
    (end, Lines::new(outgoing, incoming))
}

impl RawEnd {
    /// Writes one frame.
    pub(crate) async fn send(&mut self, frame: Value) {
        self.to_component
            .send(Ok(frame.to_string()))
            .await
            .expect("the component stopped reading");
    }

    /// Reads one frame; fails if the component's output ends first.
    pub(crate) async fn recv(&mut self) -> Value {
        let line = guard("reading a frame", self.from_component.next())
            .await
            .expect("the component's output ended");
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// Reads until the component's output ends; returns what came before the end.
    pub(crate) async fn closed(mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Some(line) = self.from_component.next().await {
            rest.push(line);
        }
        rest
    }
}

#[path = "../common/temp_file.rs"]
mod temp_file;
pub(crate) use temp_file::TempFile;
