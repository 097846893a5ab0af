//! A component that ends while a prompt is in flight ends the chain: the editor's prompt
//! fails with a connection-closed error (-32099) that names the component, `Chain::run`
//! returns the same error, the editor's connection is closed, and nothing hangs.
//!
//! The component that "crashes" is an ordinary connection on one end of a `Channel`, whose
//! `connect_with` main returns as soon as a prompt arrives: its connection ends with the
//! prompt unanswered. The main hands the prompt's responder back to the test, so it is not
//! dropped (a dropped responder would answer -32603 instead).

use std::future::Future;

use futures::channel::oneshot;
use switchboard::error::codes::CONNECTION_CLOSED;
use switchboard::{Channel, ConnectionTo, Error, Responder};
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    InitializeRequest, NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse,
};
use switchboard_acp::{AcpClient, Agent, Client, Conductor, Proxy};
use switchboard_conductor::Chain;

use crate::support::{PROXY_COUNTS, guard, hello, transparent};

/// What the crashing component's main returns: the unanswered prompt's responder.
type Held = Result<Responder<PromptResponse>, Error>;

/// The first responder given to the returned closure, for a main to wait for.
fn first_prompt() -> (
    impl FnMut(Responder<PromptResponse>) + Send + 'static,
    impl Future<Output = Held> + Send + 'static,
) {
    let (arrived_tx, arrived) = oneshot::channel();
    let mut arrived_tx = Some(arrived_tx);
    let take = move |responder| {
        if let Some(arrived_tx) = arrived_tx.take() {
            let _ = arrived_tx.send(responder);
        }
    };
    let wait = async move {
        arrived
            .await
            .map_err(|_| Error::internal_error("no prompt arrived"))
    };
    (take, wait)
}

/// An agent on `end` whose connection ends when the first prompt arrives.
fn crashing_agent(end: Channel) -> impl Future<Output = Held> + Send + 'static {
    let (mut take, arrived) = first_prompt();
    Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request))
        })
        .on_receive_request(async |_: NewSessionRequest, responder, _cx| {
            responder.respond(NewSessionResponse::new("doomed"))
        })
        .on_receive_request(move |_: PromptRequest, responder, _cx| {
            take(responder);
            std::future::ready(Ok(()))
        })
        .connect_with(end, async move |_cx| arrived.await)
}

/// A proxy on `end`, transparent but for prompts: its connection ends at the first one.
fn crashing_proxy(end: Channel) -> impl Future<Output = Held> + Send + 'static {
    let (mut take, arrived) = first_prompt();
    Proxy
        .builder()
        .on_receive_request_from(
            Client,
            move |_: PromptRequest, responder, _cx: ConnectionTo<Conductor>| {
                take(responder);
                std::future::ready(Ok(()))
            },
        )
        .connect_with(end, async move |_cx| arrived.await)
}

/// Runs `chain` for a client that opens a session and prompts it; returns the prompt's error
/// and what `run` returned. The client also checks that its connection is closed after.
async fn prompt_through(chain: Chain) -> (Error, Result<(), Error>) {
    let (client_end, editor_end) = Channel::duplex();
    let run = tokio::spawn(chain.run(editor_end));
    let client = Client.builder().connect_with(client_end, async |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let failed = match session.prompt("are you there", |_| {}).await {
            Ok(answer) => panic!("the prompt was answered: {answer:?}"),
            Err(error) => error,
        };
        // The chain ended: it closes the editor's connection too.
        cx.input_ended().await;
        Ok(failed)
    });
    let failed = guard("the client", client)
        .await
        .unwrap_or_else(|error| panic!("the client failed: {error}"));
    let ran = guard("the chain", run)
        .await
        .expect("the chain's task panicked");
    (failed, ran)
}

/// Checks that `error` is the chain's connection-closed error naming `who`.
#[track_caller]
fn assert_names(error: &Error, who: &str, context: &str) {
    assert_eq!(error.code(), CONNECTION_CLOSED, "{context}: {error}");
    let message = error.message();
    assert!(
        message.contains(who) && message.contains("closed its connection"),
        "{context}: the error should name {who}: {message}"
    );
}

#[tokio::test]
async fn an_agent_that_ends_mid_prompt_ends_the_chain_with_its_name() {
    for n in PROXY_COUNTS {
        let (agent_end, chain_end) = Channel::duplex();
        let agent = tokio::spawn(crashing_agent(agent_end));
        let (failed, ran) = prompt_through(transparent(chain_end, n)).await;
        let context = format!("{n} proxies");
        assert_names(&failed, "the agent", &context);
        let ran = ran.expect_err("`run` returned Ok after the agent ended");
        assert_names(&ran, "the agent", &context);
        assert_eq!(ran.message(), failed.message(), "{context}");
        // The agent's connection ended with the prompt still unanswered.
        let held = guard("the agent", agent)
            .await
            .expect("the agent's task panicked")
            .unwrap_or_else(|error| panic!("{context}: the agent failed: {error}"));
        assert!(!held.is_cancelled(), "{context}");
    }
}

#[tokio::test]
async fn a_proxy_that_ends_mid_prompt_ends_the_chain_with_its_name() {
    for n in [1_usize, 3] {
        let crashing = n.div_ceil(2);
        let (proxy_end, chain_end) = Channel::duplex();
        let proxy = tokio::spawn(crashing_proxy(proxy_end));
        let mut chain_end = Some(chain_end);
        let mut chain = Chain::new(switchboard_examples::acp_echo::echo_agent());
        for k in 1..=n {
            chain = match chain_end.take_if(|_| k == crashing) {
                Some(end) => chain.proxy(end),
                None => chain.proxy(Proxy.builder()),
            };
        }
        let (failed, ran) = prompt_through(chain).await;
        let who = format!("proxy {crashing}");
        let context = format!("{n} proxies, {who} crashing");
        assert_names(&failed, &who, &context);
        let ran = ran.expect_err("`run` returned Ok after a proxy ended");
        assert_names(&ran, &who, &context);
        assert_eq!(ran.message(), failed.message(), "{context}");
        let held = guard("the proxy", proxy)
            .await
            .expect("the proxy's task panicked")
            .unwrap_or_else(|error| panic!("{context}: the proxy failed: {error}"));
        assert!(!held.is_cancelled(), "{context}");
    }
}
