//! A proxy built on the official SDK (`agent-client-protocol` 5.2.0) in our chain, alone and
//! between two of ours: it speaks the same proxy-chain protocol (`proxy/initialize`,
//! `proxy/successor`) to our conductor, its default forwarding carries what it does not
//! handle (updates, the agent's file reads, `session/cancel`), and its prompt handler changes
//! prompts on their way to the echo agent.

use agent_client_protocol as sdk;
use futures::StreamExt;
use switchboard::ByteStreams;
use switchboard_acp::schema::{NewSessionRequest, PromptRequest, StopReason};
use switchboard_acp::{AcpClient, SessionEvent};
use switchboard_conductor::Chain;
use switchboard_examples::acp_client_app::{ClientOptions, client};
use switchboard_examples::acp_echo::echo_agent;
use tokio::io::DuplexStream;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::components::prefix_proxy;
use crate::support::{TempFile, chunk_text, drive, guard, hello, text};

/// Room in each direction of the byte pipe.
const PIPE_BYTES: usize = 1 << 16;

/// What the SDK proxy puts in front of every prompt.
const SDK_TAG: &str = "[sdk]";

/// Serves, on the SDK, a proxy that puts [`SDK_TAG`] in front of every prompt.
async fn sdk_proxy(writer: DuplexStream, reader: DuplexStream) -> Result<(), sdk::Error> {
    sdk::Proxy
        .v1()
        .name("sdk-proxy")
        .on_receive_request_from(
            sdk::Client,
            async |mut prompt: PromptRequest, responder, cx| {
                prompt.prompt.insert(0, text(SDK_TAG));
                cx.send_request_to(sdk::Agent, prompt)
                    .forward_response_to(responder)
            },
            sdk::on_receive_request!(),
        )
        .connect_to(sdk::ByteStreams::new(
            writer.compat_write(),
            reader.compat(),
        ))
        .await
}

#[tokio::test]
async fn an_sdk_proxy_in_our_chain_changes_prompts_and_passes_the_rest_on() {
    // Alone, then as proxy 2 of 3 between two of ours.
    for ours_around in [false, true] {
        let (ours_out, theirs_in) = tokio::io::duplex(PIPE_BYTES);
        let (theirs_out, ours_in) = tokio::io::duplex(PIPE_BYTES);
        let proxy = tokio::spawn(sdk_proxy(theirs_out, theirs_in));
        let sdk_component = ByteStreams::tokio(ours_out, ours_in);
        let chain = if ours_around {
            Chain::new(echo_agent())
                .proxy(prefix_proxy(1))
                .proxy(sdk_component)
                .proxy(prefix_proxy(3))
        } else {
            Chain::new(echo_agent()).proxy(sdk_component)
        };
        let file = TempFile::with("sdk-proxy", "read through the SDK proxy");
        let path = file.display();
        let (streamed, read, held) = drive(
            chain,
            client(&ClientOptions {
                yes: false,
                cwd: std::env::temp_dir(),
                prompt: String::new(),
                cancel_after: None,
            }),
            async move |cx| {
                cx.initialize(hello()).block_task().await?;
                let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
                let mut streamed = Vec::new();
                let answer = session
                    .prompt("hello", |update| streamed.extend(chunk_text(&update)))
                    .await?;
                assert_eq!(answer.stop_reason, StopReason::EndTurn);
                // The agent reads the file through the client: its request crosses the SDK
                // proxy from the agent side, and the answer goes back.
                let mut read = Vec::new();
                session
                    .prompt(&format!("@{path}"), |update| {
                        read.extend(chunk_text(&update))
                    })
                    .await?;
                // A held turn ends when `session/cancel` crosses every proxy.
                session.send_prompt(vec![text("/hold on")])?;
                match session.next().await {
                    Some(SessionEvent::Update(_)) => session.cancel()?,
                    other => panic!("expected the held turn's first word, got {other:?}"),
                }
                let held = loop {
                    match session.next().await {
                        Some(SessionEvent::PromptFinished(answer)) => break answer?,
                        Some(SessionEvent::Update(_)) => {}
                        None => panic!("the session ended before the held turn"),
                    }
                };
                Ok((streamed, read, held))
            },
        )
        .await;
        let mut expected: Vec<String> = Vec::new();
        if ours_around {
            expected.push("[p3] ".to_owned());
        }
        expected.push(format!("{SDK_TAG} "));
        if ours_around {
            expected.push("[p1] ".to_owned());
        }
        expected.push("hello ".to_owned());
        assert_eq!(streamed, expected, "ours around it: {ours_around}");
        assert!(
            read.concat().contains("read through the SDK proxy"),
            "ours around it: {ours_around}: {read:?}"
        );
        assert_eq!(held.stop_reason, StopReason::Cancelled);
        guard("the SDK proxy", proxy)
            .await
            .expect("the SDK proxy's task panicked")
            .unwrap_or_else(|error| panic!("the SDK proxy failed: {error:?}"));
    }
}
