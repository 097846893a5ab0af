//! Workload 6 on the official stack: the SDK's conductor (`agent-client-protocol-conductor`
//! 5.0.0) with 0, 1 or 3 transparent SDK proxies, next to ours in `chain.rs`.
//!
//! Our client and agent are Switchboard builders and the official conductor takes SDK
//! components (`agent_client_protocol::ConnectTo`), so they cannot meet in process without a
//! translating bridge that would add its own cost to one side. Each conductor is therefore
//! driven by its own stack's client and agent, written to the same shape as `chain.rs`: the
//! agent answers each prompt from inside its handler with one `session/update` echoing the
//! prompt's text and then `end_turn`; the client counts the echoes in a plain notification
//! handler and checks the count at the end. The proxies are `Proxy.v1()` with no handlers,
//! which the SDK documents as "all messages pass through unchanged", the counterpart of our
//! `Proxy.builder()` with no handlers.
//!
//! "Direct" connects the SDK client to the SDK agent with no conductor: the floor the
//! official conductor's rows stand on, as `direct (no conductor)` is for ours.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, ContentBlock, ContentChunk, InitializeRequest, InitializeResponse,
    NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse, SessionId,
    SessionNotification, SessionUpdate, StopReason, TextContent,
};
use agent_client_protocol::{Agent, Client, ConnectTo, Error, Proxy};
use agent_client_protocol_conductor::{ConductorImpl, ProxiesAndAgent};

use crate::chain::Variant;
use crate::common::{self, TEXT};
use crate::measure::{Measured, Span};

/// The SDK agent: opens one session and answers each prompt with one update echoing its
/// first block, then `end_turn`, both from inside the handler (nothing spawned).
fn agent() -> impl ConnectTo<Client> + 'static {
    Agent
        .v1()
        .name("echo-agent")
        .on_receive_request(
            async |initialize: InitializeRequest, responder, _cx| {
                responder.respond(
                    InitializeResponse::new(initialize.protocol_version)
                        .agent_capabilities(AgentCapabilities::new()),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async |_: NewSessionRequest, responder, _cx| {
                responder.respond(NewSessionResponse::new("s-1"))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async |prompt: PromptRequest, responder, cx| {
                let PromptRequest {
                    session_id, prompt, ..
                } = prompt;
                let echoed = prompt
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::invalid_params().data("an empty prompt"))?;
                let chunk = SessionUpdate::AgentMessageChunk(ContentChunk::new(echoed));
                cx.send_notification(SessionNotification::new(session_id, chunk))?;
                responder.respond(PromptResponse::new(StopReason::EndTurn))
            },
            agent_client_protocol::on_receive_request!(),
        )
}

/// The official conductor with `proxies` transparent SDK proxies in front of [`agent`].
fn conductor(proxies: usize) -> impl ConnectTo<Client> + 'static {
    let chain = (0..proxies).fold(ProxiesAndAgent::new(agent()), |chain, _| {
        chain.proxy(Proxy.v1())
    });
    ConductorImpl::new_agent("official-conductor", chain)
}

/// Whether `notification` is the echo the agent owes for one of our prompts.
fn is_echo(notification: &SessionNotification) -> bool {
    matches!(
        &notification.update,
        SessionUpdate::AgentMessageChunk(ContentChunk {
            content: ContentBlock::Text(text),
            ..
        }) if text.text == TEXT
    )
}

fn ended(answer: PromptResponse) -> Result<(), Error> {
    if answer.stop_reason == StopReason::EndTurn {
        Ok(())
    } else {
        Err(Error::internal_error().data(format!("the turn ended with {:?}", answer.stop_reason)))
    }
}

/// One run: the SDK client through the official conductor with `proxies` proxies, or
/// straight to the agent with `None`; `warmup` prompts, then `n` timed.
pub async fn run(
    proxies: Option<usize>,
    variant: Variant,
    warmup: u64,
    n: u64,
) -> Result<Measured, Error> {
    match proxies {
        None => drive(agent(), variant, warmup, n).await,
        Some(k) => drive(conductor(k), variant, warmup, n).await,
    }
}

/// The client: initializes, opens a session, sends `warmup` then `n` prompts as `variant`
/// says, and checks that every prompt ended its turn and had its echo counted.
async fn drive(
    agent: impl ConnectTo<Client> + 'static,
    variant: Variant,
    warmup: u64,
    n: u64,
) -> Result<Measured, Error> {
    let echoes = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&echoes);
    Client
        .v1()
        .on_receive_notification(
            async move |notification: SessionNotification, _cx| {
                if is_echo(&notification) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .connect_with(agent, async move |cx| {
            cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
                .block_task()
                .await?;
            let session: SessionId = cx
                .send_request(NewSessionRequest::new("/tmp"))
                .block_task()
                .await?
                .session_id;
            let prompt = |_| {
                let request = PromptRequest::new(
                    session.clone(),
                    vec![ContentBlock::Text(TextContent::new(TEXT))],
                );
                let answer = cx.send_request(request).block_task();
                async move { ended(answer.await?) }
            };
            let send = async |ids: std::ops::Range<u64>| match variant {
                Variant::Sequential => {
                    for i in ids {
                        prompt(i).await?;
                    }
                    Ok::<_, Error>(())
                }
                Variant::Pipelined => common::pipelined(ids, prompt).await,
            };
            send(0..warmup).await?;
            let span = Span::start();
            send(warmup..warmup + n).await?;
            let measured = span.finish(n);
            // Each update is read before the answer that follows it, so all are in.
            let echoed = echoes.load(Ordering::Relaxed);
            if echoed != warmup + n {
                return Err(Error::internal_error()
                    .data(format!("{echoed} echoes for {} prompts", warmup + n)));
            }
            Ok(measured)
        })
        .await
}
