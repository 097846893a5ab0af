//! Remote ACP against the official transport crate (`agent-client-protocol-http` 5.0.0), in
//! process over loopback, both ways and on both profiles (Streamable HTTP with its SSE
//! streams, and WebSocket):
//!
//! - its `HttpClient`, under the SDK's client, drives our `AcpServer` serving our echo agent:
//!   the handshake, a session, a prompt whose updates come before its answer, and the echo
//!   agent's `fs/read_text_file` answered by the SDK client; with a token, sent as the bearer
//!   header through `configure_http`, and refused without it; a `session/load` of a session
//!   our server does not know yet (its client opens the session's stream first);
//! - our `RemoteAgent`, under our client, drives its `AcpHttpServer` serving the SDK agent of
//!   `sdk_agent.rs`: the same conversation the other way, the order of updates and answer
//!   checked event by event.

use std::net::SocketAddr;

use agent_client_protocol as sdk;
use agent_client_protocol_http::{AcpHttpServer, HttpClient};
use axum::http::{HeaderMap, HeaderValue, header};
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use switchboard::{ConnectionTo, Error};
use switchboard_acp::schema::{
    ClientCapabilities, FileSystemCapabilities, InitializeRequest, InitializeResponse,
    LoadSessionRequest, NewSessionRequest, PromptRequest, ProtocolVersion, ReadTextFileRequest,
    ReadTextFileResponse, SessionNotification, StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::sdk_agent::sdk_agent;
use crate::support::{TempFile, chunk_text, guard, hello, text};

/// A server running on a loopback port until [`stop`](Running::stop)ped.
struct Running<E> {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    running: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug> Running<E> {
    /// Stops the server and checks that it ended cleanly.
    async fn stop(self) {
        let _ = self.stop.send(());
        guard("the server's shutdown", self.running)
            .await
            .expect("the server task")
            .unwrap_or_else(|error| panic!("the server failed: {error:?}"));
    }
}

async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    (listener, address)
}

// ---------------------------------------------------------------------------------------
// Their client, our server.
// ---------------------------------------------------------------------------------------

/// Our server with `server`'s rules, serving one echo agent per remote connection.
async fn serve_echo_agent(server: AcpServer) -> Running<Error> {
    let (listener, address) = loopback().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(server.serve_until(
        listener,
        |remote| async move { echo_agent().connect_to(remote).await },
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        address,
        stop,
        running,
    }
}

/// What the SDK's client saw of one prompt.
#[derive(Debug)]
struct Seen {
    init: InitializeResponse,
    /// The text of the updates that had arrived when the prompt's answer came.
    said: String,
    stop: StopReason,
}

/// The SDK's client over `transport`: it offers to read files, opens a session, sends
/// `prompt`, and says what came back.
async fn sdk_client_prompts(transport: HttpClient, prompt: &str) -> Result<Seen, sdk::Error> {
    let (said_tx, mut said_rx) = mpsc::unbounded::<String>();
    let client = sdk::Client
        .v1()
        .on_receive_notification(
            async move |update: SessionNotification, _cx| {
                if let Some(text) = chunk_text(&update) {
                    let _ = said_tx.unbounded_send(text);
                }
                Ok(())
            },
            sdk::on_receive_notification!(),
        )
        .on_receive_request(
            async |request: ReadTextFileRequest, responder, _cx| match std::fs::read_to_string(
                &request.path,
            ) {
                Ok(content) => responder.respond(ReadTextFileResponse::new(content)),
                Err(error) => responder
                    .respond_with_error(sdk::Error::invalid_params().data(error.to_string())),
            },
            sdk::on_receive_request!(),
        );
    let prompt = prompt.to_owned();
    let (init, stop) = guard(
        "the SDK client against our server",
        client.connect_with(transport, async move |cx| {
            let fs = FileSystemCapabilities::new().read_text_file(true);
            let hello = InitializeRequest::new(ProtocolVersion::V1)
                .client_capabilities(ClientCapabilities::new().fs(fs));
            let init = cx.send_request(hello).block_task().await?;
            let opened = cx
                .send_request(NewSessionRequest::new(std::env::temp_dir()))
                .block_task()
                .await?;
            let prompt = PromptRequest::new(opened.session_id, vec![prompt.as_str().into()]);
            let answer = cx.send_request(prompt).block_task().await?;
            Ok((init, answer.stop_reason))
        }),
    )
    .await?;
    // Only what was dispatched before the answer: the updates must have come first.
    let mut said = String::new();
    while let Ok(text) = said_rx.try_recv() {
        said.push_str(&text);
    }
    Ok(Seen { init, said, stop })
}

/// Their client drives a prompt that makes our echo agent read a file through it, over the
/// transport `connect` makes for our server's address; checks what came back.
async fn their_client_converses_with_our_server(
    server: AcpServer,
    connect: impl FnOnce(SocketAddr) -> HttpClient,
) {
    let served = serve_echo_agent(server).await;
    let file = TempFile::with("over-http", "remote line\nnot this one\n");
    let path = file.display();
    let seen = sdk_client_prompts(connect(served.address), &format!("read @{path}"))
        .await
        .unwrap_or_else(|error| panic!("the SDK client failed: {error:?}"));
    assert_eq!(seen.init.protocol_version, ProtocolVersion::V1);
    assert_eq!(
        seen.init.agent_info.map(|info| info.name).as_deref(),
        Some("acp_echo_agent")
    );
    assert_eq!(seen.said, format!("read @{path} [{path}: remote line] "));
    assert_eq!(seen.stop, StopReason::EndTurn);
    served.stop().await;
}

#[tokio::test]
async fn the_official_http_client_converses_with_our_server_over_sse() {
    their_client_converses_with_our_server(AcpServer::new(), |address| {
        HttpClient::new(format!("http://{address}")).expect("an http URL")
    })
    .await;
}

#[tokio::test]
async fn the_official_http_client_converses_with_our_server_over_websocket() {
    their_client_converses_with_our_server(AcpServer::new(), |address| {
        HttpClient::new(format!("ws://{address}")).expect("a ws URL")
    })
    .await;
}

/// Their client, sending `Authorization: Bearer TOKEN` with every request.
fn with_token(url: String, token: &str) -> HttpClient {
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    headers.insert(header::AUTHORIZATION, bearer);
    HttpClient::builder(url)
        .configure_http(|http| http.default_headers(headers))
        .build()
        .expect("a client")
}

#[tokio::test]
async fn the_official_http_client_sends_the_token_our_server_wants_over_sse() {
    their_client_converses_with_our_server(AcpServer::new().token("s3cret"), |address| {
        with_token(format!("http://{address}"), "s3cret")
    })
    .await;
}

#[tokio::test]
async fn the_official_http_client_sends_the_token_our_server_wants_over_websocket() {
    their_client_converses_with_our_server(AcpServer::new().token("s3cret"), |address| {
        with_token(format!("ws://{address}"), "s3cret")
    })
    .await;
}

#[tokio::test]
async fn our_server_refuses_the_official_http_client_without_the_token() {
    let served = serve_echo_agent(AcpServer::new().token("s3cret")).await;
    for url in [
        format!("http://{}", served.address),
        format!("ws://{}", served.address),
    ] {
        let wrong = sdk_client_prompts(with_token(url.clone(), "guess"), "hello").await;
        let error = wrong.expect_err("a wrong token is refused");
        assert!(
            format!("{error:?}").contains("401"),
            "{url}: expected a 401, got {error:?}"
        );
        let none = HttpClient::new(&url).expect("a URL");
        let error = sdk_client_prompts(none, "hello")
            .await
            .expect_err("no token is refused");
        assert!(
            format!("{error:?}").contains("401"),
            "{url}: expected a 401, got {error:?}"
        );
    }
    served.stop().await;
}

#[tokio::test]
async fn the_official_http_client_loads_an_unknown_session_and_reads_our_agents_refusal() {
    // Over SSE, its client opens the session's stream before `session/load` (the session is
    // not known yet): our server must let it, and put the answer there.
    let served = serve_echo_agent(AcpServer::new()).await;
    for url in [
        format!("http://{}", served.address),
        format!("ws://{}", served.address),
    ] {
        let transport = HttpClient::new(&url).expect("a URL");
        let refused = guard(
            "the SDK client loading a session",
            sdk::Client.v1().connect_with(transport, async |cx| {
                cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
                    .block_task()
                    .await?;
                let load = LoadSessionRequest::new("elsewhere", std::env::temp_dir());
                Ok(cx.send_request(load).block_task().await)
            }),
        )
        .await
        .unwrap_or_else(|error| panic!("{url}: the SDK client failed: {error:?}"));
        let error = refused.expect_err("the echo agent has no session `elsewhere`");
        // The echo agent loads only the sessions it made: invalid params, naming the session.
        assert_eq!(error.code, sdk::ErrorCode::INVALID_PARAMS, "{url}");
        assert!(
            error.message.contains("no session `elsewhere`"),
            "{url}: {error:?}"
        );
    }
    served.stop().await;
}

// ---------------------------------------------------------------------------------------
// Our client, their server.
// ---------------------------------------------------------------------------------------

/// The official server, serving one SDK agent (`sdk_agent.rs`) per remote connection.
async fn serve_sdk_agent() -> Running<std::io::Error> {
    let (listener, address) = loopback().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = AcpHttpServer::new(sdk_agent).into_router();
    let running = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        address,
        stop,
        running,
    }
}

/// What our client saw of one session at `agent`, event by event: each update's text, and
/// the answer's stop reason in angle brackets, in the order they came.
async fn our_client_prompts(
    agent: RemoteAgent,
    prompt: String,
) -> Result<(InitializeResponse, Vec<String>), Error> {
    Client
        .builder()
        .on_receive_request(async |request: ReadTextFileRequest, responder, _cx| {
            match std::fs::read_to_string(&request.path) {
                Ok(content) => responder.respond(ReadTextFileResponse::new(content)),
                Err(error) => {
                    responder.respond_with_error(Error::invalid_params(error.to_string()))
                }
            }
        })
        .connect_with(agent, async move |cx: ConnectionTo<Agent>| {
            let init = cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            session.send_prompt(vec![text(&prompt)])?;
            let mut events = Vec::new();
            while let Some(event) = session.next().await {
                match event {
                    SessionEvent::Update(update) => events.extend(chunk_text(&update)),
                    SessionEvent::PromptFinished(answer) => {
                        events.push(format!("<{:?}>", answer?.stop_reason));
                        break;
                    }
                }
            }
            Ok((init, events))
        })
        .await
}

/// Our client drives a prompt that makes the SDK agent read a file through it, over the
/// `RemoteAgent` `connect` makes for the official server's address; checks what came back.
async fn our_client_converses_with_their_server(connect: impl FnOnce(SocketAddr) -> RemoteAgent) {
    let served = serve_sdk_agent().await;
    let file = TempFile::with("to-sdk-server", "their line\nnot this one\n");
    let path = file.display();
    let (init, events) = guard(
        "our client against the official server",
        our_client_prompts(connect(served.address), format!("hello @{path}")),
    )
    .await
    .unwrap_or_else(|error| panic!("our client failed: {error}"));
    assert_eq!(init.protocol_version, ProtocolVersion::V1);
    assert_eq!(
        init.agent_info.map(|info| info.name).as_deref(),
        Some("sdk-agent")
    );
    // Every update, then the answer: the order the agent sent them in.
    assert_eq!(
        events,
        [
            "hello ".to_owned(),
            format!("@{path} "),
            format!("[{path}: their line] "),
            "<EndTurn>".to_owned(),
        ]
    );
    served.stop().await;
}

#[tokio::test]
async fn our_remote_agent_converses_with_the_official_server_over_sse() {
    our_client_converses_with_their_server(|address| {
        RemoteAgent::new(format!("http://{address}/acp"))
    })
    .await;
}

#[tokio::test]
async fn our_remote_agent_converses_with_the_official_server_over_websocket() {
    our_client_converses_with_their_server(|address| {
        RemoteAgent::new(format!("http://{address}/acp")).websocket()
    })
    .await;
}

#[tokio::test]
async fn our_remote_agent_reaches_the_official_server_by_a_ws_url() {
    our_client_converses_with_their_server(|address| {
        RemoteAgent::new(format!("ws://{address}/acp"))
    })
    .await;
}
