//! The proxies and agents the chain tests put together: each does one thing a real proxy
//! does (change a prompt, answer it, add to it), or shows the test what reached the end.

use switchboard::{Builder, ConnectionTo, Handler, Responder, UntypedMessage};
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    ContentBlock, InitializeRequest, NewSessionRequest, NewSessionResponse, PromptRequest,
    PromptResponse, StopReason,
};
use switchboard_acp::{Agent, Client, Conductor, Proxy};

use crate::support::{say, text};

/// The prompt text proxy `k`, a [`ping_proxy`], answers itself.
pub(crate) fn ping(k: usize) -> String {
    format!("/proxy-ping {k}")
}

/// What a [`ping_proxy`] says before it answers.
pub(crate) const PONG: &str = "pong from the proxy";

/// The tag proxy `k` of a chain of [`prefix_proxy`]s puts in front of a prompt.
pub(crate) fn tag(k: usize) -> String {
    format!("[p{k}]")
}

/// A proxy that puts [`tag`]`(k)` in front of every prompt, as a block of its own, and
/// passes everything else on untouched.
pub(crate) fn prefix_proxy(k: usize) -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    Proxy.builder().on_receive_request_from(
        Client,
        move |mut prompt: PromptRequest, responder, cx: ConnectionTo<Conductor>| {
            prompt.prompt.insert(0, text(&tag(k)));
            cx.send_request_to(Agent, prompt)
                .forward_response_to(responder);
            std::future::ready(Ok(()))
        },
    )
}

/// What proxy `k` of a chain of [`announcing_proxy`]s tells the client about a prompt.
pub(crate) fn announcement(k: usize) -> String {
    format!("proxy {k} saw your prompt")
}

/// A proxy that tells the client, on its own, that it saw each prompt ([`announcement`]),
/// before it passes the prompt on.
pub(crate) fn announcing_proxy(k: usize) -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    Proxy.builder().on_receive_request_from(
        Client,
        move |prompt: PromptRequest, responder, cx: ConnectionTo<Conductor>| {
            let sent = cx.send_notification_to(Client, say(&prompt.session_id, &announcement(k)));
            cx.send_request_to(Agent, prompt)
                .forward_response_to(responder);
            std::future::ready(sent)
        },
    )
}

/// Proxy `k`, which answers a prompt whose only text is [`ping`]`(k)` itself: it says
/// [`PONG`] and ends the turn, without the agent. Every other prompt goes on to the agent.
pub(crate) fn ping_proxy(k: usize) -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    Proxy.builder().on_receive_request_from(
        Client,
        move |prompt: PromptRequest,
              responder: Responder<PromptResponse>,
              cx: ConnectionTo<Conductor>| {
            let is_ping = matches!(
                prompt.prompt.as_slice(),
                [ContentBlock::Text(only)] if only.text == ping(k)
            );
            let done = if is_ping {
                cx.send_notification_to(Client, say(&prompt.session_id, PONG))
                    .and_then(|()| responder.respond(PromptResponse::new(StopReason::EndTurn)))
            } else {
                cx.send_request_to(Agent, prompt)
                    .forward_response_to(responder);
                Ok(())
            };
            std::future::ready(done)
        },
    )
}

/// An agent whose turns run until the client cancels the prompt request itself
/// (`$/cancel_request`). Before it answers `session/new` it sends the client a request of
/// its own. It says `started` when a prompt arrives and `cancelled` when it sees
/// the prompt's responder cancelled; it then drops the responder, which answers -32800.
pub(crate) fn cancel_watching_agent() -> Builder<Agent, impl Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request))
        })
        .on_receive_request(async |_: NewSessionRequest, responder, cx| {
            // A request of its own to the client first (which answers -32601): the
            // conductor's ids on the hops it crosses move ahead of the editor's.
            cx.send_request(UntypedMessage::new("_watched/hello", ())?)
                .on_receiving_result(async move |_| {
                    responder.respond(NewSessionResponse::new("watched"))
                });
            Ok(())
        })
        .on_receive_request(
            |prompt: PromptRequest,
             responder: Responder<PromptResponse>,
             cx: ConnectionTo<Client>| {
                let session = prompt.session_id;
                let turn = cx.clone();
                cx.spawn(async move {
                    turn.send_notification(say(&session, "started"))?;
                    responder.cancelled().await;
                    turn.send_notification(say(&session, "cancelled"))?;
                    drop(responder);
                    Ok(())
                });
                std::future::ready(Ok(()))
            },
        )
}
