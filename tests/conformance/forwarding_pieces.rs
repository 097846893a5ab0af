//! The pieces forwarding is made of, one by one: `Dispatch::map`, `into_request` /
//! `into_notification`, `ResponseRouter::cast(..).route(..)`, and `SentRequest::map` with
//! `forward_response_to` in a hand-written forwarder.

use std::future::ready;
use std::sync::Arc;

use serde_json::json;
use switchboard::{
    Builder, Channel, ConnectionTo, Dispatch, Error, Handled, Handler, UntypedMessage, UntypedRole,
};

use crate::peers::{Log, Note, Ping, Pong, message, pong, push, snapshot};
use crate::support::guard;

/// A server whose one handler renames every message with `Dispatch::map`, and fails to map
/// methods starting with `fail`.
fn renaming_server(log: Log) -> Builder<UntypedRole, impl Handler<UntypedRole>> {
    UntypedRole
        .builder()
        .on_receive_dispatch(move |dispatch: Dispatch, _cx| {
            let fails = dispatch.method().is_some_and(|m| m.starts_with("fail"));
            let mapped = dispatch.map(|message| {
                if fails {
                    return Err(Error::new(-32010, "cannot map"));
                }
                let (method, params) = message.into_parts();
                Ok(UntypedMessage::from_raw(format!("mapped/{method}"), params))
            });
            ready(match mapped {
                Err(error) => {
                    push(&log, format!("map failed {}", error.code()));
                    Ok(())
                }
                Ok(Dispatch::Request(request, responder)) if request.method() == "mapped/log" => {
                    responder.respond(json!(snapshot(&log)))
                }
                Ok(Dispatch::Request(request, responder)) => {
                    request.params_value().and_then(|params| {
                        responder.respond(json!({"method": request.method(), "params": params}))
                    })
                }
                Ok(Dispatch::Notification(notification)) => {
                    push(&log, format!("notification {}", notification.method()));
                    Ok(())
                }
                Ok(Dispatch::Response(..)) => unreachable!("typed handlers never see responses"),
            })
        })
}

#[tokio::test]
async fn dispatch_map_changes_the_message_keeps_the_responder_and_answers_when_it_fails() {
    let log = Log::default();
    let (client_end, server_end) = Channel::duplex();
    let server = renaming_server(Arc::clone(&log)).connect_to(server_end);
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let renamed = cx.send_request(message("greet", json!({"x": 1})));
        cx.send_notification(message("tick", json!({})))?;
        let failed = cx.send_request(message("fail/this", json!({})));
        cx.send_notification(message("fail/note", json!({})))?;
        let log = cx.send_request(message("log", json!({})));
        Ok((
            renamed.block_task().await?,
            failed.block_task().await,
            log.block_task().await?,
        ))
    });
    let (answers, served) =
        guard("client and server", async { tokio::join!(client, server) }).await;
    served.expect("the server's connect_to failed");
    let (renamed, failed, server_log) = answers.expect("the client's main failed");
    assert_eq!(
        renamed,
        json!({"method": "mapped/greet", "params": {"x": 1}})
    );
    assert_eq!(
        failed.expect_err("the map failed"),
        Error::new(-32010, "cannot map"),
        "the request was answered with the map's error"
    );
    assert_eq!(
        server_log,
        json!([
            "notification mapped/tick",
            "map failed -32010",
            "map failed -32010"
        ])
    );
}

#[tokio::test]
async fn into_request_and_into_notification_give_back_what_they_do_not_take() {
    let notes = Log::default();
    let (client_end, server_end) = Channel::duplex();
    let server = UntypedRole
        .builder()
        .on_receive_dispatch(move |dispatch: Dispatch<Ping, Note>, _cx| {
            ready(match dispatch.into_request() {
                Ok((ping, responder)) => {
                    // A request is not a notification: it comes back with its responder.
                    let back = Dispatch::<Ping, Note>::Request(ping, responder)
                        .into_notification()
                        .expect_err("a request is not a notification");
                    let (ping, responder) = back.into_request().unwrap();
                    responder.respond(pong(ping.n, snapshot(&notes).join(",")))
                }
                Err(not_a_request) => {
                    let note = not_a_request.into_notification().unwrap();
                    push(&notes, note.text);
                    Ok(())
                }
            })
        })
        .connect_to(server_end);
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        cx.send_notification(Note { text: "a".into() })?;
        cx.send_notification(Note { text: "b".into() })?;
        cx.send_request(Ping { n: 7 }).block_task().await
    });
    let (answer, served) = guard("client and server", async { tokio::join!(client, server) }).await;
    served.expect("the server's connect_to failed");
    assert_eq!(answer.expect("the client's request failed"), pong(7, "a,b"));
}

/// A server that answers `ping` with `by: "server"`, and `ping` 0 with `zero`.
fn ping_server(zero: Error) -> Builder<UntypedRole, impl Handler<UntypedRole>> {
    UntypedRole
        .builder()
        .on_receive_request(move |ping: Ping, responder, _cx| {
            ready(match ping.n {
                0 => responder.respond_with_error(zero.clone()),
                n => responder.respond(pong(n, "server")),
            })
        })
}

/// Intercepts every answer the connection receives, checks that `Dispatch::map` passes a
/// response through untouched, and routes a changed answer on with a typed router.
struct ChangeAnswers {
    intercepted: Log,
}

impl Handler<UntypedRole> for ChangeAnswers {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        let Dispatch::Response(..) = &dispatch else {
            return Ok(Handled::pass(dispatch));
        };
        let Ok(Dispatch::Response(result, router)) =
            dispatch.map(|_| panic!("map must not touch a response"))
        else {
            panic!("a response stays a response");
        };
        push(&self.intercepted, router.id().to_string());
        let changed = match result {
            Ok(raw) => {
                let answer: Pong = raw.parse()?;
                Ok(pong(answer.n * 10, format!("{} + interceptor", answer.by)))
            }
            Err(error) => Err(Error::new(
                error.code(),
                format!("intercepted: {}", error.message()),
            )),
        };
        router.cast::<Pong>().route(changed).await;
        Ok(Handled::Yes)
    }
}

#[tokio::test]
async fn response_router_cast_and_route_pass_on_a_changed_answer() {
    let (client_end, server_end) = Channel::duplex();
    let server = ping_server(Error::new(-32020, "zero")).connect_to(server_end);
    let intercepted = Log::default();
    let client = UntypedRole
        .builder()
        .with_handler(ChangeAnswers {
            intercepted: Arc::clone(&intercepted),
        })
        .connect_with(client_end, async |cx| {
            let four = cx.send_request(Ping { n: 4 }).block_task().await?;
            let zero = cx.send_request(Ping { n: 0 }).block_task().await;
            Ok((four, zero))
        });
    let (answers, served) =
        guard("client and server", async { tokio::join!(client, server) }).await;
    served.expect("the server's connect_to failed");
    let (four, zero) = answers.expect("the client's main failed");
    assert_eq!(four, pong(40, "server + interceptor"));
    assert_eq!(
        zero.expect_err("the server refused zero"),
        Error::new(-32020, "intercepted: zero")
    );
    assert_eq!(
        snapshot(&intercepted).len(),
        2,
        "both answers were intercepted"
    );
}

#[tokio::test]
async fn a_hand_written_forwarder_maps_answers_and_forwards_them_with_their_errors() {
    let (client_end, forwarder_client_side) = Channel::duplex();
    let (forwarder_server_side, server_end) = Channel::duplex();
    let server = ping_server(Error::new(-32021, "zero").with_data(json!(0))).connect_to(server_end);
    // Typed forwarding inside a handler: send on, change the answer with `map`, and pass it
    // back with `forward_response_to`. Nothing here waits.
    let forwarder = UntypedRole
        .builder()
        .connect_with(forwarder_server_side, async |to_server| {
            UntypedRole
                .builder()
                .on_receive_request(move |ping: Ping, responder, _cx| {
                    to_server
                        .send_request(ping)
                        .map(|answer| {
                            Ok(pong(answer.n + 1, format!("{} via forwarder", answer.by)))
                        })
                        .forward_response_to(responder);
                    ready(Ok(()))
                })
                .connect_to(forwarder_client_side)
                .await
        });
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        let one = cx.send_request(Ping { n: 1 });
        let zero = cx.send_request(Ping { n: 0 });
        Ok((one.block_task().await?, zero.block_task().await))
    });
    let (answers, forwarded, served) = guard("client, forwarder and server", async {
        tokio::join!(client, forwarder, server)
    })
    .await;
    forwarded.expect("the forwarder failed");
    served.expect("the server failed");
    let (one, zero) = answers.expect("the client's main failed");
    assert_eq!(one, pong(2, "server via forwarder"));
    assert_eq!(
        zero.expect_err("the server refused zero"),
        Error::new(-32021, "zero").with_data(json!(0)),
        "map leaves an error answer as it is"
    );
}
