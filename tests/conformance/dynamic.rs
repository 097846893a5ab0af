//! Dynamic handlers (guarantee 6, scale): added at run time, removed when their registration
//! is dropped, offered messages after the builder's handlers and before the role's default,
//! and found by a keyed lookup, so routing does not grow with the number of sessions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use switchboard::dynamic::RoutingKey;
use switchboard::error::codes;
use switchboard::{
    Channel, ConnectionTo, Dispatch, Error, Handled, Handler, Responder, UntypedMessage,
    UntypedRole,
};

use crate::session_host::{Host, Observed, notification, raw_peer, request};
use crate::support::guard;

/// Sends `method` with `params` and waits for the answer.
async fn call(cx: &ConnectionTo<UntypedRole>, method: &str, params: Value) -> Result<Value, Error> {
    let message = UntypedMessage::new(method, params)?;
    guard(method, cx.send_request(message).block_task()).await
}

#[tokio::test]
async fn dropping_the_registration_removes_the_handler() {
    let observed = Observed::default();
    let server = UntypedRole.builder().with_handler(Host::new(&observed));
    let (client_end, server_end) = Channel::duplex();
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        call(&cx, "open", json!({"sessionId": "s1"})).await?;
        let answer = call(&cx, "work", json!({"sessionId": "s1"})).await?;
        assert_eq!(answer["session"], "s1");

        let closed = call(&cx, "close", json!({"sessionId": "s1"})).await?;
        assert_eq!(closed["closed"], true);
        let after = call(&cx, "work", json!({"sessionId": "s1"})).await;
        assert_eq!(after.unwrap_err().code(), codes::METHOD_NOT_FOUND);
        Ok(())
    });
    let (client, server) = futures::join!(client, server.connect_to(server_end));
    client.unwrap();
    server.unwrap();
    assert_eq!(observed.log(), ["s1:work"]);
}

#[tokio::test]
async fn a_kept_registration_outlives_its_handle() {
    let observed = Observed::default();
    let server = UntypedRole.builder().with_handler(Host::new(&observed));
    let (client_end, server_end) = Channel::duplex();
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        call(&cx, "open", json!({"sessionId": "s1", "keep": true})).await?;
        // Nothing to close: the registration was given up with `keep()`.
        let closed = call(&cx, "close", json!({"sessionId": "s1"})).await?;
        assert_eq!(closed["closed"], false);
        let answer = call(&cx, "work", json!({"sessionId": "s1"})).await?;
        assert_eq!(answer["session"], "s1");
        Ok(())
    });
    let (client, server) = futures::join!(client, server.connect_to(server_end));
    client.unwrap();
    server.unwrap();
}

/// With thousands of sessions open, each message is offered to its own session's handler
/// and to no other: a scan would offer it to every handler until one took it.
#[tokio::test]
async fn keyed_lookup_offers_a_message_only_to_its_own_handler() {
    const SESSIONS: usize = 5_000;
    const STRIDE: usize = 97;
    let observed = Observed::default();
    let server = UntypedRole.builder().with_handler(Host::new(&observed));
    let (client_end, server_end) = Channel::duplex();
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        for n in 0..SESSIONS {
            call(
                &cx,
                "open",
                json!({"sessionId": format!("s{n}"), "keep": true}),
            )
            .await?;
        }
        let mut asked = 0;
        for n in (0..SESSIONS).step_by(STRIDE) {
            let answer = call(&cx, "work", json!({"sessionId": format!("s{n}"), "n": n})).await?;
            assert_eq!(answer["session"], format!("s{n}"));
            asked += 1;
        }
        let unknown = call(&cx, "work", json!({"sessionId": "nobody"})).await;
        assert_eq!(unknown.unwrap_err().code(), codes::METHOD_NOT_FOUND);
        Ok(asked)
    });
    let (asked, server) = futures::join!(client, server.connect_to(server_end));
    server.unwrap();
    let asked = asked.unwrap();
    assert_eq!(asked, SESSIONS.div_ceil(STRIDE));
    // One offer per routed message; the unknown session was offered to no session handler.
    assert_eq!(observed.offers(), asked);
    assert_eq!(observed.log().len(), asked);
}

/// An unkeyed dynamic handler that claims the requests named `method` and answers `answer`,
/// counting every message it is offered.
struct Claims {
    method: &'static str,
    answer: &'static str,
    offers: Arc<AtomicUsize>,
}

impl Handler<UntypedRole> for Claims {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        self.offers.fetch_add(1, Ordering::SeqCst);
        match dispatch {
            Dispatch::Request(message, responder) if message.method() == self.method => {
                responder.respond(json!(self.answer))?;
                Ok(Handled::Yes)
            }
            other => Ok(Handled::pass(other)),
        }
    }
}

/// A static handler: `install` adds two unkeyed dynamic handlers, one claiming `both` (which
/// the builder's [`Claims`] takes first), one claiming `dynamic`.
struct Install {
    first_offers: Arc<AtomicUsize>,
}

impl Handler<UntypedRole> for Install {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Request(message, responder) if message.method() == "install" => {
                let first = Claims {
                    method: "both",
                    answer: "dynamic",
                    offers: Arc::clone(&self.first_offers),
                };
                let second = Claims {
                    method: "dynamic",
                    answer: "dynamic",
                    offers: Arc::new(AtomicUsize::new(0)),
                };
                cx.add_dynamic_handler(first).keep();
                cx.add_dynamic_handler(second).keep();
                responder.respond(json!("installed"))?;
                Ok(Handled::Yes)
            }
            other => Ok(Handled::pass(other)),
        }
    }
}

#[tokio::test]
async fn dynamic_handlers_come_after_the_builders_and_before_the_default() {
    let first_offers = Arc::new(AtomicUsize::new(0));
    let server = UntypedRole
        .builder()
        .with_handler(Install {
            first_offers: Arc::clone(&first_offers),
        })
        .with_handler(Claims {
            method: "both",
            answer: "static",
            offers: Arc::new(AtomicUsize::new(0)),
        });
    let (client_end, server_end) = Channel::duplex();
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        call(&cx, "install", json!({})).await?;
        assert_eq!(call(&cx, "both", json!({})).await?, "static");
        assert_eq!(call(&cx, "dynamic", json!({})).await?, "dynamic");
        let unclaimed = call(&cx, "nobody", json!({})).await;
        assert_eq!(unclaimed.unwrap_err().code(), codes::METHOD_NOT_FOUND);
        Ok(())
    });
    let (client, server) = futures::join!(client, server.connect_to(server_end));
    client.unwrap();
    server.unwrap();
    // The first dynamic handler saw `dynamic` and `nobody`, never `both`: the builder's
    // handler took that one first.
    assert_eq!(first_offers.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_handler_added_in_a_response_callback_sees_the_very_next_message() {
    let (mut agent, lines) = raw_peer();
    let (probed, until_probed) = futures::channel::oneshot::channel::<()>();
    let updates = Arc::new(AtomicUsize::new(0));
    let seen_by_session = Arc::clone(&updates);
    let client = UntypedRole
        .builder()
        .on_receive_request(
            // The agent's probe: how many updates had the session handler seen by then?
            move |_: UntypedMessage, responder: Responder<Value>, _cx| {
                let seen = updates.load(Ordering::SeqCst);
                async move { responder.respond(json!({ "updates": seen })) }
            },
        )
        .connect_with(lines, async move |cx| {
            let session_cx = cx.clone();
            cx.send_request(UntypedMessage::new("session/new", json!({}))?)
                .on_receiving_result(async move |result: Result<Value, Error>| {
                    let session = result?["sessionId"].as_str().unwrap_or_default().to_owned();
                    let updates = Arc::clone(&seen_by_session);
                    session_cx
                        .add_keyed_handler(
                            RoutingKey::new("sessionId", session),
                            switchboard::handler::NotificationHandler::new(
                                move |_: UntypedMessage, _cx: ConnectionTo<UntypedRole>| {
                                    updates.fetch_add(1, Ordering::SeqCst);
                                    std::future::ready(Ok(()))
                                },
                            ),
                        )
                        .keep();
                    Ok(())
                });
            // Serve until the agent has its probe answer.
            guard("the probe", until_probed).await.ok();
            Ok(())
        });
    let agent_side = async move {
        let new_session = agent.receive().await;
        assert_eq!(new_session["method"], "session/new");
        // The answer and the first update, back to back, then the probe.
        agent
            .send(json!({"jsonrpc": "2.0", "id": new_session["id"], "result": {"sessionId": "s9"}}))
            .await;
        agent
            .send(notification(
                "session/update",
                json!({"sessionId": "s9", "text": "hi"}),
            ))
            .await;
        agent.send(request(1, "probe", json!({}))).await;
        let probe = agent.receive().await;
        probed.send(()).unwrap();
        probe
    };
    let (client, probe) = futures::join!(client, agent_side);
    client.unwrap();
    assert_eq!(probe["id"], 1);
    assert_eq!(
        probe["result"]["updates"], 1,
        "the update was not routed to the new handler"
    );
}

/// A key with a path routes by a field inside an envelope, and only there: the same name at
/// the top level is another key.
#[tokio::test]
async fn a_nested_key_routes_by_the_field_inside_the_envelope() {
    let nested_offers = Arc::new(AtomicUsize::new(0));
    let top_offers = Arc::new(AtomicUsize::new(0));
    let (client_end, server_end) = Channel::duplex();
    let (nested, top) = (Arc::clone(&nested_offers), Arc::clone(&top_offers));
    let (registered, ready) = futures::channel::oneshot::channel::<()>();
    let server = UntypedRole
        .builder()
        .connect_with(server_end, async move |cx| {
            let inner = Claims {
                method: "work",
                answer: "inside",
                offers: nested,
            };
            let outer = Claims {
                method: "work",
                answer: "top",
                offers: top,
            };
            cx.add_keyed_handler(RoutingKey::nested(["params", "serverId"], "a"), inner)
                .keep();
            cx.add_keyed_handler(RoutingKey::new("serverId", "a"), outer)
                .keep();
            let _ = registered.send(());
            cx.input_ended().await;
            Ok(())
        });
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let _ = ready.await;
        let wrapped = call(&cx, "work", json!({"params": {"serverId": "a"}})).await?;
        let plain = call(&cx, "work", json!({"serverId": "a"})).await?;
        let other = call(&cx, "work", json!({"params": {"serverId": "b"}})).await;
        Ok((wrapped, plain, other.map_err(|error| error.code())))
    });
    let (answers, server) = futures::join!(client, server);
    server.unwrap();
    let (wrapped, plain, other) = answers.unwrap();
    assert_eq!((wrapped, plain), (json!("inside"), json!("top")));
    assert_eq!(other, Err(codes::METHOD_NOT_FOUND));
    assert_eq!(nested_offers.load(Ordering::SeqCst), 1);
    assert_eq!(top_offers.load(Ordering::SeqCst), 1);
}
