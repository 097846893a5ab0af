//! The wire, written and read by hand: what the server says to requests no client of ours
//! sends (a repeated token, an oversized body, a browser's origin, a batch), how it routes
//! and names, and how it treats a WebSocket peer that stops answering.

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchboard::Error;
use switchboard_acp::AcpClient;
use switchboard_acp::Client;
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_http::{AcpServer, RemoteAgent};

use support::{
    RawResponse, chunk_text, converse, guard, hello, raw_exchange, raw_initialize, raw_post, serve,
    ws_url,
};

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
async fn the_answer_to_a_request_for_a_session_without_a_stream_comes_on_the_connections() {
    // A client that names a session in a POST without opening that session's stream (here,
    // one the agent never made) must still get the answer: on the connection's stream, as
    // the official server sends it. It used to wait, unread, in a queue made for the session.
    let served = serve(AcpServer::new()).await;
    let connection = raw_initialize(&served.url).await;
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

#[tokio::test]
async fn the_health_path_answers_without_the_token() {
    let served = serve(AcpServer::new().token("s3cret")).await;
    let health = served.url.replace("/acp", "/health");
    let answer = raw_exchange(&health, "GET", &[], "", "").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let endpoint = raw_exchange(
        &served.url,
        "GET",
        &[("Accept", "text/event-stream")],
        "",
        "",
    )
    .await;
    assert!(endpoint.starts_with("HTTP/1.1 401"), "{endpoint}");
    served.stop().await;
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
async fn a_client_that_reconnects_takes_its_stream_over_from_the_socket_it_left() {
    // A client whose network dropped opens its stream again while the server still holds
    // the old socket (it learns that a socket is dead only when a write fails): the new GET
    // gets the stream at once, the old one ends, and the answers go to the new one.
    let mut served = serve(AcpServer::new()).await;
    let connection = raw_initialize(&served.url).await;
    let id = ("Acp-Connection-Id", connection.as_str());
    let stream = ("Accept", "text/event-stream");
    let new_session = |n: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{n},"method":"session/new","params":{{"cwd":"/","mcpServers":[]}}}}"#
        )
    };
    let mut left = RawResponse::send(&served.url, "GET", &[id, stream], "").await;
    let accepted = raw_exchange(&served.url, "POST", &[id], &new_session(1), "").await;
    assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
    let first = left.read_until(r#""id":1"#).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Back, on a new socket, with the old one still open.
    let mut back = RawResponse::send(&served.url, "GET", &[id, stream], "").await;
    let head = back.read_until("").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let accepted = raw_exchange(&served.url, "POST", &[id], &new_session(2), "").await;
    assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
    let second = back.read_until(r#""id":2"#).await;
    assert!(second.contains("sessionId"), "{second}");
    let old = left.read_to_end().await;
    assert!(
        !old.contains(r#""id":2"#),
        "the old socket got the answer: {old}"
    );
    assert!(
        served.handlers_done.try_recv().is_err(),
        "the agent still runs"
    );
    served.stop().await;
}
