//! Our prefix proxies in front of an agent built on the official SDK
//! (`agent-client-protocol` 5.2.0), connected to the conductor over an in-memory byte pipe:
//! the SDK agent echoes the prompt it got, tags included, and a turn it holds ends
//! `cancelled` when the editor's `session/cancel` reaches it through the proxies.
//!
//! The SDK agent here is a small one written for these tests: it echoes each word of the
//! prompt as a chunk; at the word `/hold` it stops and waits for `session/cancel`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agent_client_protocol as sdk;
use futures::StreamExt;
use futures::channel::oneshot;
use sdk::v1::ConnectionTo as SdkConnection;
use switchboard::ByteStreams;
use switchboard_acp::schema::{
    AgentCapabilities, CancelNotification, ContentBlock, Implementation, InitializeRequest,
    InitializeResponse, NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse,
    ProtocolVersion, SessionId, StopReason,
};
use switchboard_acp::{AcpClient, Client, SessionEvent};
use tokio::io::DuplexStream;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::components::{prefix_proxy, tag};
use crate::support::{chain_of, chunk_text, drive, guard, hello, say, text};

/// Held turns, by session: `session/cancel` fires the sender.
type Holds = Arc<Mutex<HashMap<SessionId, oneshot::Sender<()>>>>;

/// Room in each direction of the byte pipe.
const PIPE_BYTES: usize = 1 << 16;

/// Serves the SDK agent on `writer` and `reader` until its input ends.
async fn sdk_agent(writer: DuplexStream, reader: DuplexStream) -> Result<(), sdk::Error> {
    let holds: Holds = Arc::default();
    let for_cancel = Arc::clone(&holds);
    sdk::Agent
        .v1()
        .name("sdk-agent")
        .on_receive_request(
            async |_: InitializeRequest, responder, _cx| {
                responder.respond(
                    InitializeResponse::new(ProtocolVersion::V1)
                        .agent_capabilities(AgentCapabilities::new())
                        .agent_info(Implementation::new("sdk-agent", "5.2.0")),
                )
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async |_: NewSessionRequest, responder, _cx| {
                responder.respond(NewSessionResponse::new("sdk-session"))
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            async move |prompt: PromptRequest, responder, cx: SdkConnection<sdk::Client>| {
                let holds = Arc::clone(&holds);
                let turn_cx = cx.clone();
                // A held turn waits for a notification: a task, off the dispatch loop.
                cx.spawn(async move {
                    let reason = turn(&turn_cx, &holds, prompt)?.await;
                    responder.respond(PromptResponse::new(reason))
                })
            },
            sdk::on_receive_request!(),
        )
        .on_receive_notification(
            async move |cancel: CancelNotification, _cx| {
                if let Some(held) = for_cancel.lock().unwrap().remove(&cancel.session_id) {
                    let _ = held.send(());
                }
                Ok(())
            },
            sdk::on_receive_notification!(),
        )
        .connect_to(sdk::ByteStreams::new(
            writer.compat_write(),
            reader.compat(),
        ))
        .await
}

/// Echoes `prompt` word by word up to `/hold`; the turn's stop reason comes from the
/// returned future (at once, or once the session is cancelled).
fn turn(
    cx: &SdkConnection<sdk::Client>,
    holds: &Holds,
    prompt: PromptRequest,
) -> Result<impl Future<Output = StopReason> + use<>, sdk::Error> {
    let id = prompt.session_id;
    let words: Vec<String> = prompt
        .prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        })
        .flat_map(|text| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    // Registered before anything is said, so a cancel cannot come too early.
    let held = if words.iter().any(|word| word == "/hold") {
        let (held, cancelled) = oneshot::channel();
        holds.lock().unwrap().insert(id.clone(), held);
        Some(cancelled)
    } else {
        None
    };
    for word in words.iter().take_while(|word| *word != "/hold") {
        cx.send_notification(say(&id, &format!("{word} ")))?;
    }
    Ok(async move {
        match held {
            Some(cancelled) => {
                let _ = cancelled.await;
                StopReason::Cancelled
            }
            None => StopReason::EndTurn,
        }
    })
}

#[tokio::test]
async fn prefix_proxies_in_front_of_an_sdk_agent() {
    for n in [1, 3] {
        let (ours_out, theirs_in) = tokio::io::duplex(PIPE_BYTES);
        let (theirs_out, ours_in) = tokio::io::duplex(PIPE_BYTES);
        let agent = tokio::spawn(sdk_agent(theirs_out, theirs_in));
        let chain = chain_of(ByteStreams::tokio(ours_out, ours_in), n, prefix_proxy);
        let (init, streamed, first, held) = drive(chain, Client.builder(), async move |cx| {
            let init = cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            let mut streamed = Vec::new();
            let answer = session
                .prompt("hello sdk", |update| streamed.extend(chunk_text(&update)))
                .await?;
            assert_eq!(answer.stop_reason, StopReason::EndTurn);

            // A held turn: the tags come back, then the agent waits for the cancel.
            session.send_prompt(vec![text("/hold here")])?;
            let mut first = Vec::new();
            while first.len() < n {
                match session.next().await {
                    Some(SessionEvent::Update(update)) => first.extend(chunk_text(&update)),
                    other => panic!("expected the tags, got {other:?}"),
                }
            }
            session.cancel()?;
            let held = match session.next().await {
                Some(SessionEvent::PromptFinished(answer)) => answer?,
                other => panic!("expected the answer, got {other:?}"),
            };
            Ok((init, streamed, first, held))
        })
        .await;
        let agent_name = init.agent_info.map(|info| info.name);
        assert_eq!(agent_name.as_deref(), Some("sdk-agent"), "{n} proxies");
        let tags: Vec<String> = (1..=n).rev().map(|k| format!("{} ", tag(k))).collect();
        let mut expected = tags.clone();
        expected.extend(["hello ".to_owned(), "sdk ".to_owned()]);
        assert_eq!(streamed, expected, "{n} proxies");
        assert_eq!(first, tags, "{n} proxies");
        assert_eq!(held.stop_reason, StopReason::Cancelled, "{n} proxies");
        // The chain closed the SDK agent's input when the editor hung up: it ends cleanly.
        guard("the SDK agent", agent)
            .await
            .expect("the SDK agent's task panicked")
            .unwrap_or_else(|error| panic!("{n} proxies: the SDK agent failed: {error:?}"));
    }
}
