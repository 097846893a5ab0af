//! Our client against our server, in process over loopback, on both profiles: a session
//! both ways (updates to the client, a request from the agent answered by the client), the
//! token and origin rules, the body limit, and what ends a remote connection.

use std::sync::Arc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use switchboard::{ConnectionTo, Error};
use switchboard_acp::schema::{
    ClientCapabilities, ContentBlock, FileSystemCapabilities, InitializeRequest, NewSessionRequest,
    ProtocolVersion, ReadTextFileRequest, ReadTextFileResponse, SessionNotification, SessionUpdate,
    StopReason, TextContent,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::net::TcpListener;

/// Turns a hang into a failure; nothing is asserted about time.
const HANG_GUARD: Duration = Duration::from_secs(20);

async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"))
}

/// A running server: its endpoint's URL, and a signal for each connection whose handler
/// returned (its echo agent's connection ended).
struct Served {
    url: String,
    handlers_done: mpsc::Receiver<Result<(), Error>>,
    stop: Option<oneshot::Sender<()>>,
    running: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Served {
    async fn stop(mut self) {
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
async fn serve(server: AcpServer) -> Served {
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
fn hello() -> InitializeRequest {
    let fs = FileSystemCapabilities::new().read_text_file(true);
    InitializeRequest::new(ProtocolVersion::V1)
        .client_capabilities(ClientCapabilities::new().fs(fs))
}

fn chunk_text(update: &SessionNotification) -> Option<String> {
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
async fn converse(agent: RemoteAgent) -> Result<(String, StopReason), Error> {
    let (go, ready) = oneshot::channel();
    let _ = go.send(());
    converse_when(agent, oneshot::channel().0, ready).await
}

/// [`converse`], saying on `opened` that the session is open and waiting for `go` before the
/// prompt.
async fn converse_when(
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

#[tokio::test]
async fn a_session_crosses_both_profiles_both_ways() {
    let served = serve(AcpServer::new()).await;
    for agent in [
        RemoteAgent::new(&served.url),
        RemoteAgent::new(&served.url).websocket(),
    ] {
        let (said, reason) = guard("a conversation", converse(agent.clone()))
            .await
            .unwrap_or_else(|error| panic!("{agent:?}: {error}"));
        assert_eq!(
            said, "read @notes.txt [notes.txt: contents of /work/notes.txt] ",
            "{agent:?}"
        );
        assert_eq!(reason, StopReason::EndTurn);
    }
    served.stop().await;
}

#[tokio::test]
async fn with_a_token_only_requests_that_carry_it_get_in() {
    let served = serve(AcpServer::new().token("s3cret")).await;
    for agent in [
        RemoteAgent::new(&served.url),
        RemoteAgent::new(&served.url).websocket(),
    ] {
        let refused = guard("a refused client", converse(agent.clone())).await;
        let error = refused.expect_err("no token, no entry");
        assert!(error.message().contains("401"), "{agent:?}: {error}");
        let admitted = guard("an admitted client", converse(agent.token("s3cret"))).await;
        assert!(admitted.is_ok(), "{admitted:?}");
    }
    served.stop().await;
}

#[tokio::test]
async fn a_repeated_authorization_header_is_refused_so_our_client_sends_it_once() {
    // Our client once sent the token twice on its SSE GETs; this server rule makes the
    // conversation above fail if it ever does again.
    let served = serve(AcpServer::new().token("s3cret")).await;
    let hello = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}"#;
    let bearer = ("Authorization", "Bearer s3cret");
    assert_eq!(raw_post(&served.url, hello, &[bearer]).await, 200);
    assert_eq!(raw_post(&served.url, hello, &[bearer, bearer]).await, 401);
    let agent = RemoteAgent::new(&served.url).token("s3cret");
    let (said, reason) = guard("a conversation with a token", converse(agent))
        .await
        .unwrap_or_else(|error| panic!("over SSE with a token: {error}"));
    assert_eq!(
        said,
        "read @notes.txt [notes.txt: contents of /work/notes.txt] "
    );
    assert_eq!(reason, StopReason::EndTurn);
    served.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_413_and_a_browser_origin_403() {
    let served = serve(AcpServer::new().body_limit(1024)).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2048)
    );
    let status = raw_post(&served.url, &big, &[]).await;
    assert_eq!(status, 413);
    let small = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}"#;
    let status = raw_post(&served.url, small, &[("Origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    let status = raw_post(&served.url, r#"[{"jsonrpc":"2.0","method":"x"}]"#, &[]).await;
    assert_eq!(status, 400, "a batch");
    served.stop().await;
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_turn_ends_its_agent_and_no_other() {
    let mut served = serve(AcpServer::new()).await;
    for agent in [
        RemoteAgent::new(&served.url).websocket(),
        RemoteAgent::new(&served.url),
    ] {
        let (held, holding) = oneshot::channel::<()>();
        let (hang_up, hung_up) = oneshot::channel::<()>();
        let client = tokio::spawn(Client.builder().connect_with(agent, async move |cx| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            session.send_prompt(vec![ContentBlock::Text(TextContent::new(
                "/hold here",
            ))])?;
            // The word after `/hold` comes back, then the turn holds.
            let first = session.next().await;
            assert!(
                matches!(&first, Some(SessionEvent::Update(update)) if chunk_text(update).as_deref() == Some("here ")),
                "{first:?}"
            );
            let _ = held.send(());
            let _ = hung_up.await;
            Ok::<_, Error>(())
        }));
        guard("the turn to hold", holding)
            .await
            .expect("the client got a word");
        // A second client, with a session open, waiting.
        let (opened, is_open) = oneshot::channel();
        let (go, ready) = oneshot::channel();
        let other = tokio::spawn(converse_when(RemoteAgent::new(&served.url), opened, ready));
        guard("the other session", is_open)
            .await
            .expect("it opened");
        let _ = hang_up.send(());
        guard("the first client", client)
            .await
            .expect("its task")
            .expect("it ran");
        // The other is still waiting, so the handler that returns is the first client's.
        let ended = guard(
            "the hung-up client's agent to end",
            served.handlers_done.next(),
        )
        .await;
        assert!(matches!(ended, Some(Ok(()))), "{ended:?}");
        let _ = go.send(());
        let answer = guard("the other client", other).await.expect("its task");
        assert!(answer.is_ok(), "{answer:?}");
        guard(
            "the other client's agent to end",
            served.handlers_done.next(),
        )
        .await;
    }
    served.stop().await;
}

#[tokio::test]
async fn an_idle_http_connection_ends_after_its_timeout_and_the_server_stops_cleanly() {
    let mut served = serve(AcpServer::new().idle_timeout(Duration::from_millis(200))).await;
    // An `initialize` alone, then nothing: no stream, no request.
    let hello = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}"#;
    assert_eq!(raw_post(&served.url, hello, &[]).await, 200);
    let ended = guard("the idle connection to end", served.handlers_done.next()).await;
    assert!(ended.is_some());
    served.stop().await;
}

#[tokio::test]
async fn stopping_the_server_ends_every_live_connection() {
    let served = serve(AcpServer::new()).await;
    let url = served.url.clone();
    let live = Arc::new(tokio::sync::Notify::new());
    let is_live = Arc::clone(&live);
    let client = tokio::spawn(Client.builder().connect_with(
        RemoteAgent::new(url).websocket(),
        async move |cx| {
            cx.initialize(hello()).block_task().await?;
            is_live.notify_one();
            // The server going ends the connection's input.
            cx.input_ended().await;
            Ok::<_, Error>("ended")
        },
    ));
    guard("the client to connect", live.notified()).await;
    served.stop().await;
    let ended = guard("the client to see the end", client)
        .await
        .expect("its task");
    assert_eq!(ended.ok(), Some("ended"));
}

#[tokio::test]
async fn the_answer_to_a_request_for_a_session_without_a_stream_comes_on_the_connections() {
    // A client that names a session in a POST without opening that session's stream (here,
    // one the agent never made) must still get the answer: on the connection's stream, as
    // the official server sends it. It used to wait, unread, in a queue made for the session.
    let served = serve(AcpServer::new()).await;
    let hello = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}"#;
    let opened = raw_exchange(&served.url, "POST", &[], hello, "").await;
    let connection = opened
        .lines()
        .find_map(|line| line.strip_prefix("acp-connection-id: "))
        .expect("a connection id")
        .trim()
        .to_owned();
    let id = ("Acp-Connection-Id", connection.as_str());
    let prompt = r#"{"jsonrpc":"2.0","id":7,"method":"session/prompt","params":{"prompt":[]}}"#;
    let accepted = raw_exchange(
        &served.url,
        "POST",
        &[id, ("Acp-Session-Id", "ghost")],
        prompt,
        "",
    )
    .await;
    assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
    let streamed = raw_exchange(
        &served.url,
        "GET",
        &[id, ("Accept", "text/event-stream")],
        "",
        "\n\n",
    )
    .await;
    let event = streamed
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("an event");
    assert!(
        event.contains(r#""id":7"#) && event.contains(r#""sessionId":"ghost""#),
        "{event}"
    );
    served.stop().await;
}

#[tokio::test]
async fn streams_and_websockets_name_their_connection_as_the_draft_says() {
    let served = serve(AcpServer::new()).await;
    let stream = ("Accept", "text/event-stream");
    let unnamed = raw_exchange(&served.url, "GET", &[stream], "", "").await;
    assert!(unnamed.starts_with("HTTP/1.1 400"), "{unnamed}");
    let unknown = [stream, ("Acp-Connection-Id", "nobody")];
    let unknown = raw_exchange(&served.url, "GET", &unknown, "", "").await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let upgraded = raw_exchange(&served.url, "GET", &upgrade, "", "").await;
    assert!(upgraded.starts_with("HTTP/1.1 101"), "{upgraded}");
    assert!(
        upgraded
            .lines()
            .any(|line| line.starts_with("acp-connection-id: ")),
        "{upgraded}"
    );
    served.stop().await;
}

/// Sends one request to `url` over a plain TCP connection (`body` as JSON, with `headers`)
/// and returns what came back once its head is in and `until` is seen after it (`""`: the
/// head alone; a stream stays open).
async fn raw_exchange(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
    until: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/acp")
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let mut request = format!(
        "{method} /acp HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(head) = text.find("\r\n\r\n")
            && text[head + 4..].contains(until)
        {
            return text;
        }
        let read = guard("the response", stream.read(&mut buffer))
            .await
            .expect("reads");
        assert!(read > 0, "the server hung up after: {text}");
        seen.extend_from_slice(&buffer[..read]);
    }
}

/// POSTs `body` to `url` over a plain TCP connection, with `headers`; returns the status.
async fn raw_post(url: &str, body: &str, headers: &[(&str, &str)]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/acp")
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let mut request = format!(
        "POST /acp HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut head = [0u8; 12];
    guard("the response", stream.read_exact(&mut head))
        .await
        .expect("a status line");
    let status = std::str::from_utf8(&head[9..12]).expect("ASCII");
    status.parse().expect("a status code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_connections_at_once_each_complete_a_prompt() {
    const CONNECTIONS: usize = 200;
    let served = serve(AcpServer::new()).await;
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let agent = RemoteAgent::new(&served.url);
            // Half over each profile.
            let agent = if n % 2 == 0 { agent } else { agent.websocket() };
            tokio::spawn(converse(agent))
        })
        .collect();
    for client in clients {
        let (said, reason) = guard("one of many clients", client)
            .await
            .expect("its task")
            .expect("its conversation");
        assert_eq!(
            said,
            "read @notes.txt [notes.txt: contents of /work/notes.txt] "
        );
        assert_eq!(reason, StopReason::EndTurn);
    }
    served.stop().await;
}

#[tokio::test]
async fn finished_resolves_once_the_goodbye_is_said() {
    // An idle timeout far away: only the goodbye can end the server's side in time.
    let mut served = serve(AcpServer::new().idle_timeout(Duration::from_secs(600))).await;
    for agent in [
        RemoteAgent::new(&served.url),
        RemoteAgent::new(&served.url).websocket(),
    ] {
        let finished = agent.finished();
        guard("a conversation", converse(agent))
            .await
            .expect("it ran");
        guard("the goodbye", finished).await;
        let ended = guard("the server's side to end", served.handlers_done.next()).await;
        assert!(matches!(ended, Some(Ok(()))), "{ended:?}");
    }
    let unused = RemoteAgent::new(&served.url);
    let finished = unused.finished();
    drop(unused);
    guard("an unused agent's finish", finished).await;
    served.stop().await;
}

#[tokio::test]
async fn a_message_larger_than_the_buffers_crosses_both_profiles_whole() {
    let served = serve(AcpServer::new()).await;
    let word = "x".repeat(300 * 1024);
    for agent in [
        RemoteAgent::new(&served.url),
        RemoteAgent::new(&served.url).websocket(),
    ] {
        let sent = word.clone();
        let said = guard(
            "a large prompt",
            Client.builder().connect_with(agent, async move |cx| {
                cx.initialize(hello()).block_task().await?;
                let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                let mut said = String::new();
                session
                    .prompt(sent.as_str(), |update| said.extend(chunk_text(&update)))
                    .await?;
                Ok::<_, Error>(said)
            }),
        )
        .await
        .expect("the prompt is answered");
        assert_eq!(said, format!("{word} "));
    }
    served.stop().await;
}

/// The WebSocket URL of `url`.
fn ws_url(url: &str) -> String {
    url.replacen("http://", "ws://", 1)
}

#[tokio::test]
async fn a_batch_over_websocket_is_refused_with_an_error_frame() {
    use tokio_tungstenite::tungstenite::Message;
    let served = serve(AcpServer::new()).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url(&served.url))
        .await
        .expect("the upgrade");
    let batch =
        r#"[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}]"#;
    socket.send(Message::text(batch)).await.expect("sent");
    let answer = loop {
        match guard("the refusal", socket.next()).await {
            Some(Ok(Message::Text(text))) => break text.as_str().to_owned(),
            Some(Ok(_)) => continue,
            other => panic!("no refusal: {other:?}"),
        }
    };
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(answer["id"], serde_json::Value::Null);
    served.stop().await;
}

#[tokio::test]
async fn a_websocket_peer_that_answers_no_ping_is_taken_for_gone() {
    let keepalive = Duration::from_millis(100);
    let mut served = serve(AcpServer::new().keepalive(keepalive)).await;
    // Connected, and then never read from: no pong ever goes back.
    let (silent, _) = tokio_tungstenite::connect_async(ws_url(&served.url))
        .await
        .expect("the upgrade");
    let ended = guard(
        "the silent peer's agent to end",
        served.handlers_done.next(),
    )
    .await;
    assert!(matches!(ended, Some(Ok(()))), "{ended:?}");
    drop(silent);
    // A live client, idle for many keepalives, answers the pings and stays.
    let said = guard(
        "an idle but live client",
        Client
            .builder()
            .connect_with(RemoteAgent::new(&served.url).websocket(), async move |cx| {
                cx.initialize(hello()).block_task().await?;
                tokio::time::sleep(keepalive * 10).await;
                let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                let mut said = String::new();
                session
                    .prompt("still here", |update| said.extend(chunk_text(&update)))
                    .await?;
                Ok::<_, Error>(said)
            }),
    )
    .await
    .expect("the live client is not cut off");
    assert_eq!(said, "still here ");
    served.stop().await;
}

#[tokio::test]
async fn an_agent_that_cannot_start_is_an_error_answer_to_initialize_saying_why() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/acp", listener.local_addr().expect("its address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(AcpServer::new().serve_until(
        listener,
        |_remote| async {
            Err(Error::internal_error(
                "the agent program `nowhere` cannot start",
            ))
        },
        async {
            let _ = stopped.await;
        },
    ));
    let refused = guard(
        "the initialize",
        Client
            .builder()
            .connect_with(RemoteAgent::new(&url), async |cx| {
                cx.initialize(hello()).block_task().await.map(drop)
            }),
    )
    .await;
    let error = refused.expect_err("there is no agent");
    assert!(
        error.message().contains("`nowhere` cannot start"),
        "{error}"
    );
    let _ = stop.send(());
    guard("the server", server)
        .await
        .expect("its task")
        .expect("it ends cleanly");
}
