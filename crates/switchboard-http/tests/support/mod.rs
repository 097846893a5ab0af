//! What the tests of this crate share: a server of echo agents on loopback, a client's
//! conversation, and requests written by hand.

use std::future::Future;
use std::time::Duration;

use futures::SinkExt;
use futures::channel::{mpsc, oneshot};
use switchboard::{ConnectionTo, Error};
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, FileSystemCapabilities, InitializeRequest, NewSessionRequest,
    ProtocolVersion, ReadTextFileRequest, ReadTextFileResponse, SessionNotification, SessionUpdate,
    StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client};
use switchboard_examples::acp_echo::echo_agent;
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::net::TcpListener;

/// Turns a hang into a failure; nothing is asserted about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"))
}

/// A running server: its endpoint's URL, and a signal for each connection whose handler
/// returned (its echo agent's connection ended).
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) handlers_done: mpsc::Receiver<Result<(), Error>>,
    pub(crate) stop: Option<oneshot::Sender<()>>,
    pub(crate) running: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Served {
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        guard("the server's shutdown", self.running)
            .await
            .expect("the server task")
            .expect("the server ends cleanly");
    }
}

/// Serves the echo agent, one per remote connection, with `server`'s rules.
pub(crate) async fn serve(server: AcpServer) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/acp", listener.local_addr().expect("its address"));
    // Room for every handler of any test here: a handler waiting to report would not return.
    let (done, handlers_done) = mpsc::channel(256);
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(server.serve_until(
        listener,
        move |remote| {
            let mut done = done.clone();
            async move {
                let ended = echo_agent().connect_to(remote).await;
                let _ = done.send(ended).await;
                Ok(())
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    Served {
        url,
        handlers_done,
        stop: Some(stop),
        running,
    }
}

/// An `initialize` that offers to read files.
pub(crate) fn hello() -> InitializeRequest {
    let fs = FileSystemCapabilities::new().read_text_file(true);
    InitializeRequest::new(ProtocolVersion::V1)
        .client_capabilities(ClientCapabilities::new().fs(fs))
}

pub(crate) fn chunk_text(update: &SessionNotification) -> Option<String> {
    match &update.update {
        SessionUpdate::AgentMessageChunk(chunk) => match &chunk.content {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Opens a session at `agent` and sends a prompt whose `@notes.txt` makes the agent ask the
/// client for the file; returns what the agent said and the stop reason.
pub(crate) async fn converse(agent: RemoteAgent) -> Result<(String, StopReason), Error> {
    let (go, ready) = oneshot::channel();
    let _ = go.send(());
    converse_when(agent, oneshot::channel().0, ready).await
}

/// [`converse`], saying on `opened` that the session is open and waiting for `go` before the
/// prompt.
pub(crate) async fn converse_when(
    agent: RemoteAgent,
    opened: oneshot::Sender<()>,
    go: oneshot::Receiver<()>,
) -> Result<(String, StopReason), Error> {
    Client
        .builder()
        .on_receive_request(async |request: ReadTextFileRequest, responder, _cx| {
            let name = request.path.display().to_string();
            responder.respond(ReadTextFileResponse::new(format!("contents of {name}")))
        })
        .connect_with(agent, async |cx: ConnectionTo<Agent>| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/work")).await?;
            let _ = opened.send(());
            let _ = go.await;
            let mut said = String::new();
            let answer = session
                .prompt("read @notes.txt", |update| said.extend(chunk_text(&update)))
                .await?;
            Ok((said, answer.stop_reason))
        })
        .await
}

/// Sends one request to `url` over a plain TCP connection (`body` as JSON, with `headers`)
/// and returns what came back once its head is in and `until` is seen after it (`""`: the
/// head alone; a stream stays open).
pub(crate) async fn raw_exchange(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
    until: &str,
) -> String {
    let mut response = RawResponse::send(url, method, headers, body).await;
    response.read_until(until).await
}

/// A response read by hand from its own TCP connection, which stays open until dropped.
pub(crate) struct RawResponse {
    stream: tokio::net::TcpStream,
    seen: Vec<u8>,
}

impl RawResponse {
    /// Sends one request to `url` (`body` as JSON, with `headers`).
    pub(crate) async fn send(
        url: &str,
        method: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Self {
        use tokio::io::AsyncWriteExt;
        let rest = url.trim_start_matches("http://");
        let (address, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connects");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.expect("writes");
        RawResponse {
            stream,
            seen: Vec::new(),
        }
    }

    /// Everything read so far, once the head is in and `until` is seen after it.
    pub(crate) async fn read_until(&mut self, until: &str) -> String {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&self.seen).into_owned();
            if let Some(head) = text.find("\r\n\r\n")
                && text[head + 4..].contains(until)
            {
                return text;
            }
            let read = guard("the response", self.stream.read(&mut buffer))
                .await
                .expect("reads");
            assert!(read > 0, "the server hung up after: {text}");
            self.seen.extend_from_slice(&buffer[..read]);
        }
    }

    /// Reads until the server ends the response or hangs up; returns everything read.
    pub(crate) async fn read_to_end(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&self.seen).into_owned();
            // The last chunk of a chunked body.
            if text.ends_with("\r\n0\r\n\r\n") {
                return text;
            }
            match guard("the end of the response", self.stream.read(&mut buffer)).await {
                Ok(0) | Err(_) => return text,
                Ok(read) => self.seen.extend_from_slice(&buffer[..read]),
            }
        }
    }
}

/// Opens a connection at `url` with an `initialize` written by hand; returns its id.
pub(crate) async fn raw_initialize(url: &str) -> String {
    let hello = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}"#;
    let opened = raw_exchange(url, "POST", &[], hello, "").await;
    opened
        .lines()
        .find_map(|line| line.strip_prefix("acp-connection-id: "))
        .expect("a connection id")
        .trim()
        .to_owned()
}

/// POSTs `body` to `url` over a plain TCP connection, with `headers`; returns the status.
pub(crate) async fn raw_post(url: &str, body: &str, headers: &[(&str, &str)]) -> u16 {
    let response = raw_exchange(url, "POST", headers, body, "").await;
    response
        .get(9..12)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// The WebSocket URL of `url`.
pub(crate) fn ws_url(url: &str) -> String {
    url.replacen("http://", "ws://", 1)
}
