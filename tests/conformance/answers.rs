//! Guarantee 4, every request is answered exactly once: a dropped `Responder` answers -32603;
//! a handler that returns an error answers with that error; a handler that panics answers
//! with an error and the connection lives on; unknown methods get -32601; params that do not
//! fit the type get -32602 naming the field; notifications are never answered.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard::handler::Handler;
use switchboard::{
    Builder, Error, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, UntypedRole,
};

use crate::support::{error_of, hang_up, notification, request, result_of, serve};

#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "add", response = Sum)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonRpcResponse)]
struct Sum {
    sum: i64,
}

/// A request with a nested field, to see the path of a field that does not fit.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "configure", response = Value)]
struct Configure {
    name: String,
    limits: Limits,
}

#[derive(Debug, Serialize, Deserialize)]
struct Limits {
    max: u32,
}

/// A request whose handler misbehaves in the way `how` names.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "behave", response = Value)]
struct Behave {
    how: String,
}

/// A notification whose handler misbehaves in the way `how` names.
#[derive(Debug, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "note")]
struct Note {
    how: String,
}

fn server() -> Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .on_receive_request(async |add: Add, responder, _cx| {
            responder.respond(Sum { sum: add.a + add.b })
        })
        .on_receive_request(async |configure: Configure, responder, _cx| {
            responder.respond(json!({"name": configure.name, "max": configure.limits.max}))
        })
        .on_receive_request(
            async |behave: Behave, responder, cx| match behave.how.as_str() {
                "drop" => {
                    drop(responder);
                    Ok(())
                }
                "drop_in_task" => {
                    cx.spawn(async move {
                        drop(responder);
                        Ok(())
                    });
                    Ok(())
                }
                "fail_in_task" => {
                    cx.spawn(async move {
                        let _owed = responder;
                        Err(Error::new(-32005, "the task gave up"))
                    });
                    Ok(())
                }
                "panic_in_task" => {
                    cx.spawn(async move {
                        let _owed = responder;
                        panic!("task boom")
                    });
                    Ok(())
                }
                "fail" => {
                    drop(responder);
                    Err(Error::new(-32001, "refused").with_data(json!({"why": "test"})))
                }
                "fail_without_touching_the_responder" => {
                    let _keep = responder;
                    Err(Error::new(-32002, "refused again"))
                }
                "fail_after_answer" => {
                    responder.respond(json!("answered"))?;
                    Err(Error::new(-32003, "too late to matter"))
                }
                "panic" => panic!("boom"),
                other => responder.respond(json!(other)),
            },
        )
        .on_receive_notification(async |note: Note, _cx| match note.how.as_str() {
            "fail" => Err(Error::new(-32004, "a failing notification handler")),
            "panic" => panic!("notification boom"),
            _ => Ok(()),
        })
}

fn behave(id: i64, how: &str) -> String {
    request(json!(id), "behave", json!({"how": how}))
}

#[tokio::test]
async fn a_dropped_responder_answers_internal_error() {
    let (mut peer, server) = serve(server());
    for (id, how) in [(1, "drop"), (2, "drop_in_task")] {
        peer.send(&behave(id, how)).await;
        let answer = peer.recv().await;
        let error = error_of(&answer, json!(id), -32603);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("dropped without an answer"),
            "{answer}"
        );
    }
    assert!(hang_up(peer, server).await.is_empty(), "answered twice");
}

#[tokio::test]
async fn a_handler_error_is_the_answer() {
    let (mut peer, server) = serve(server());
    peer.send(&behave(1, "fail")).await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"refused","data":{"why":"test"}}}"#
    );
    // The responder was still alive when the handler failed: the error answers it.
    peer.send(&behave(2, "fail_without_touching_the_responder"))
        .await;
    let answer = peer.recv().await;
    assert_eq!(
        error_of(&answer, json!(2), -32002)["message"],
        "refused again"
    );
    // An error after the answer was given changes nothing on the wire.
    peer.send(&behave(3, "fail_after_answer")).await;
    assert_eq!(result_of(&peer.recv().await, json!(3)), "answered");
    assert!(hang_up(peer, server).await.is_empty(), "answered twice");
}

#[tokio::test]
async fn a_panicking_handler_answers_an_error_and_the_connection_lives_on() {
    let (mut peer, server) = serve(server());
    for round in 0..2 {
        let id = 10 * round;
        peer.send(&behave(id, "panic")).await;
        let answer = peer.recv().await;
        let message = error_of(&answer, json!(id), -32603)["message"]
            .as_str()
            .unwrap();
        assert!(
            message.contains("panicked") && message.contains("boom"),
            "{answer}"
        );

        peer.send(&request(json!(id + 1), "add", json!({"a": 2, "b": round})))
            .await;
        let sum = peer.recv().await;
        assert_eq!(result_of(&sum, json!(id + 1)), &json!({"sum": 2 + round}));
    }
    assert!(hang_up(peer, server).await.is_empty());
}

/// A spawned task that fails or panics answers the request it held with its error, and the
/// connection serves on (a task is one piece of work, not the connection).
#[tokio::test]
async fn a_failing_or_panicking_task_answers_its_request_and_the_connection_lives_on() {
    let (mut peer, server) = serve(server());
    peer.send(&behave(1, "fail_in_task")).await;
    assert_eq!(
        error_of(&peer.recv().await, json!(1), -32005)["message"],
        "the task gave up"
    );
    peer.send(&behave(2, "panic_in_task")).await;
    let answer = peer.recv().await;
    let message = error_of(&answer, json!(2), -32603)["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("panicked: task boom"), "{answer}");
    peer.send(&request(json!(3), "add", json!({"a": 2, "b": 3})))
        .await;
    assert_eq!(result_of(&peer.recv().await, json!(3)), &json!({"sum": 5}));
    assert!(hang_up(peer, server).await.is_empty(), "answered twice");
}

#[tokio::test]
async fn unknown_methods_get_method_not_found() {
    let (mut peer, server) = serve(server());
    peer.send(&request(json!("q"), "no/such/method", json!({})))
        .await;
    let answer = peer.recv().await;
    let error = error_of(&answer, json!("q"), -32601);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no/such/method")
    );
    assert_eq!(error["data"]["method"], "no/such/method");
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn params_that_do_not_fit_get_invalid_params_naming_the_field() {
    let (mut peer, server) = serve(server());
    let cases = [
        ("add", json!({"a": 1, "b": "two"}), "b"),
        ("add", json!({"a": 1}), "b"),
        ("add", json!({}), "a"),
        (
            "configure",
            json!({"name": "x", "limits": {"max": -1}}),
            "limits.max",
        ),
        ("configure", json!({"name": "x"}), "limits"),
        (
            "configure",
            json!({"name": 5, "limits": {"max": 1}}),
            "name",
        ),
    ];
    for (id, (method, params, field)) in cases.iter().enumerate() {
        peer.send(&request(json!(id), method, params.clone())).await;
        let answer = peer.recv().await;
        let error = error_of(&answer, json!(id), -32602);
        assert_eq!(error["data"]["field"], *field, "{answer}");
        let last = field.rsplit('.').next().unwrap();
        assert!(
            error["message"].as_str().unwrap().contains(last),
            "{answer}"
        );
    }
    // Nothing broke: the same methods with fitting params are answered.
    peer.send(&request(
        json!("ok"),
        "configure",
        json!({"name": "x", "limits": {"max": 3}}),
    ))
    .await;
    assert_eq!(
        result_of(&peer.recv().await, json!("ok")),
        &json!({"name": "x", "max": 3})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn notifications_are_never_answered() {
    let (mut peer, server) = serve(server());
    for line in [
        notification("note", json!({"how": "fine"})),
        notification("note", json!({"how": "fail"})),
        notification("note", json!({"how": "panic"})),
        notification("note", json!({"how": 5})),
        notification("note", json!({})),
        notification("no/such/notification", json!({})),
        // A notification naming a request method is still a notification.
        notification("add", json!({"a": 1, "b": 2})),
        notification("behave", json!({"how": "panic"})),
    ] {
        peer.send(&line).await;
    }
    peer.send(&request(json!(1), "add", json!({"a": 40, "b": 2})))
        .await;
    // Messages are handled in order, so anything said about the notifications would come first.
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"result":{"sum":42}}"#
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn every_request_is_answered_exactly_once() {
    let (mut peer, server) = serve(server());
    let hows = [
        "drop",
        "drop_in_task",
        "fail",
        "fail_without_touching_the_responder",
        "fail_after_answer",
        "panic",
        "fine",
    ];
    let mut burst = String::new();
    let mut expected = 0;
    for (id, how) in hows.iter().cycle().take(70).enumerate() {
        burst += &behave(id as i64, how);
        burst.push('\n');
        burst += &notification("note", json!({"how": how}));
        burst.push('\n');
        expected += 1;
    }
    burst += &request(json!(-1), "no/such/method", json!({}));
    burst.push('\n');
    peer.send_bytes(burst.as_bytes()).await;

    let answers = hang_up(peer, server).await;
    let mut per_id: HashMap<i64, usize> = HashMap::new();
    for line in &answers {
        let answer: Value = serde_json::from_str(line).unwrap();
        assert!(
            answer.get("method").is_none(),
            "unexpected message {answer}"
        );
        *per_id.entry(answer["id"].as_i64().unwrap()).or_default() += 1;
    }
    assert_eq!(per_id.len(), expected + 1);
    assert!(per_id.values().all(|count| *count == 1), "{per_id:?}");
}

/// Claims every response and routes its own value instead, counting what it saw.
struct RewriteAnswers(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Handler<UntypedRole> for RewriteAnswers {
    async fn handle(
        &mut self,
        dispatch: switchboard::Dispatch,
        _cx: &switchboard::ConnectionTo<UntypedRole>,
    ) -> Result<switchboard::Handled<switchboard::Dispatch>, Error> {
        match dispatch {
            switchboard::Dispatch::Response(_, router) => {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                router
                    .route(Ok(switchboard::RawJson::from_serialize(
                        &json!({"sum": -1}),
                    )?))
                    .await;
                Ok(switchboard::Handled::Yes)
            }
            message => Ok(switchboard::Handled::pass(message)),
        }
    }
}

/// Answers skip the dispatch only when no handler may claim them: a handler that looks at
/// responses (the trait's default) sees the answer to a request someone is waiting for.
#[tokio::test]
async fn a_handler_that_claims_responses_sees_answers_to_waiting_requests() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (client_end, server_end) = switchboard::Channel::duplex();
    let client = UntypedRole
        .builder()
        .with_handler(RewriteAnswers(seen.clone()))
        .connect_with(client_end, async |cx| {
            cx.send_request(Add { a: 2, b: 3 }).block_task().await
        });
    let (sum, served) = crate::support::guard("a rewritten answer", async {
        futures::join!(client, server().connect_to(server_end))
    })
    .await;
    assert_eq!(sum.unwrap().sum, -1);
    served.unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}
