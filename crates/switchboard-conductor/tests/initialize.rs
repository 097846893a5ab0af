//! Opening a chain: each proxy gets `proxy/initialize`, which its handlers see as the
//! client's `initialize`, and what it answers is what the editor sees.

use switchboard::{Builder, ConnectionTo, Handler};
use switchboard_acp::schema::{
    Implementation, InitializeRequest, InitializeResponse, ProtocolVersion,
};
use switchboard_acp::{Agent, Client, Conductor, Proxy, initialize};
use switchboard_conductor::Chain;

/// An agent that answers `initialize` and nothing else.
fn agent() -> Builder<Agent, impl Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            let answer = initialize::agent_response(&request)
                .agent_info(Implementation::new("the-agent", "1.0"));
            responder.respond(answer)
        })
}

/// A proxy that renames the agent in the answer to `initialize`, and adds what it saw.
fn renaming_proxy(name: &'static str) -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    Proxy.builder().on_receive_request_from(
        Client,
        move |request: InitializeRequest, responder, cx: ConnectionTo<Conductor>| async move {
            cx.send_request_to(Agent, request).on_receiving_ok_result(
                responder,
                async move |answer: InitializeResponse, responder| {
                    let below = answer
                        .agent_info
                        .as_ref()
                        .map_or("nobody".to_owned(), |info| info.name.clone());
                    let info = Implementation::new(format!("{name} over {below}"), "1.0");
                    responder.respond(answer.agent_info(info))
                },
            );
            Ok(())
        },
    )
}

async fn open(chain: Chain) -> InitializeResponse {
    let opened = Client.builder().connect_with(chain, async |cx| {
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await
    });
    tokio::time::timeout(std::time::Duration::from_secs(20), opened)
        .await
        .expect("hang guard: the chain did not open")
        .expect("initialize through the chain")
}

#[tokio::test]
async fn a_proxy_sees_initialize_and_changes_the_answer() {
    let answer = open(Chain::new(agent()).proxy(renaming_proxy("outer"))).await;
    assert_eq!(answer.protocol_version, ProtocolVersion::V1);
    assert_eq!(answer.agent_info.unwrap().name, "outer over the-agent");
}

#[tokio::test]
async fn each_proxy_opens_its_successor_in_turn() {
    let chain = Chain::new(agent())
        .proxy(renaming_proxy("first"))
        .proxy(Proxy.builder())
        .proxy(renaming_proxy("third"));
    let answer = open(chain).await;
    assert_eq!(
        answer.agent_info.unwrap().name,
        "first over third over the-agent"
    );
}

#[tokio::test]
async fn without_proxies_the_agent_answers_as_it_is() {
    let answer = open(Chain::new(agent())).await;
    assert_eq!(answer.agent_info.unwrap().name, "the-agent");
}
