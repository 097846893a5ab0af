//! Our client against our server, in process over loopback, on both profiles: a session
//! both ways (updates to the client, a request from the agent answered by the client), the
//! token, large messages, many connections, and what ends a remote connection.

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::oneshot;
use switchboard::Error;
use switchboard_acp::schema::{ContentBlock, NewSessionRequest, StopReason, TextContent};
use switchboard_acp::{AcpClient, Client, SessionEvent};
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::net::TcpListener;

use support::{chunk_text, converse, converse_when, guard, hello, raw_post, serve};

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
