//! Guarantee 2, no silent deadlock: `SentRequest::block_task()` awaited inside a handler (the
//! dispatch loop) fails at once, with an error that names `on_receiving_result` and `spawn`,
//! and the connection goes on serving. Outside the dispatch loop (the `connect_with` closure,
//! spawned tasks, `with_spawned` tasks) the same `block_task()` waits for the answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use futures::channel::oneshot;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::handler::Handler;
use switchboard::{Builder, Channel, Error, JsonRpcRequest, UntypedRole};

use crate::support::guard;

/// Asks the server to send `inner` back to the client and wait for it in the way `how` names.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "outer", response = Value)]
struct Outer {
    how: String,
}

/// What the server asks the client.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "inner", response = String)]
struct Inner {
    text: String,
}

fn outer(how: &str) -> Outer {
    Outer { how: how.into() }
}

/// The server: answers `outer` by asking the client `inner`, waiting as `how` says.
fn server() -> Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .on_receive_request(async |outer: Outer, responder, cx| {
            let sent = cx.send_request(Inner {
                text: outer.how.clone(),
            });
            match outer.how.as_str() {
                // Misuse, observed: poll block_task() exactly once, inside the handler.
                "poll_once" => match sent.block_task().now_or_never() {
                    Some(Err(error)) => responder.respond(json!({
                        "code": error.code(),
                        "message": error.message(),
                    })),
                    Some(Ok(text)) => responder.respond(json!({ "unexpected answer": text })),
                    None => Err(Error::new(1, "block_task() did not fail at once")),
                },
                // Misuse, as written in the wild: the error becomes the handler's error.
                "await" => {
                    let text = sent.block_task().await?;
                    responder.respond(json!(text))
                }
                // The two correct ways.
                "callback" => {
                    sent.on_receiving_ok_result(responder, async |text, responder| {
                        responder.respond(json!(text))
                    });
                    Ok(())
                }
                "spawn" => {
                    cx.spawn(async move {
                        let text = sent.block_task().await?;
                        responder.respond(json!(text))
                    });
                    Ok(())
                }
                other => Err(Error::invalid_params(format_args!("unknown how {other}"))),
            }
        })
}

/// The client: answers `inner`, counting how many arrived.
fn client(
    inner_calls: &Arc<AtomicUsize>,
) -> Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    let calls = Arc::clone(inner_calls);
    UntypedRole
        .builder()
        .on_receive_request(move |inner: Inner, responder, _cx| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { responder.respond(format!("client saw {}", inner.text)) }
        })
}

#[track_caller]
fn assert_explains_the_fix(message: &str) {
    assert!(message.contains("on_receiving_result"), "{message}");
    assert!(message.contains("spawn"), "{message}");
}

#[tokio::test]
async fn block_task_inside_a_handler_fails_at_once_and_says_what_to_do() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (a, b) = Channel::duplex();
    let served = tokio::spawn(server().connect_to(b));
    let (misuse, after) = guard(
        "the client",
        client(&calls).connect_with(a, async |cx| {
            let misuse = cx.send_request(outer("poll_once")).block_task().await?;
            let after = cx.send_request(outer("callback")).block_task().await?;
            Ok::<_, Error>((misuse, after))
        }),
    )
    .await
    .unwrap();
    assert_eq!(misuse["code"], codes::BLOCKED_DISPATCH_LOOP);
    assert_explains_the_fix(misuse["message"].as_str().unwrap());
    // The connection kept serving, and the request the handler sent did go out.
    assert_eq!(after, json!("client saw callback"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    guard("the server", served).await.unwrap().unwrap();
}

#[tokio::test]
async fn the_misuse_error_answers_the_request_and_the_connection_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (a, b) = Channel::duplex();
    let served = tokio::spawn(server().connect_to(b));
    let answers = guard(
        "the client",
        client(&calls).connect_with(a, async |cx| {
            let mut answers = Vec::new();
            for how in ["await", "spawn", "await", "callback"] {
                answers.push(cx.send_request(outer(how)).block_task().await);
            }
            Ok::<_, Error>(answers)
        }),
    )
    .await
    .unwrap();
    for misuse in [&answers[0], &answers[2]] {
        let error = misuse.as_ref().unwrap_err();
        assert_eq!(error.code(), codes::BLOCKED_DISPATCH_LOOP);
        assert_explains_the_fix(error.message());
    }
    assert_eq!(answers[1].as_ref().unwrap(), &json!("client saw spawn"));
    assert_eq!(answers[3].as_ref().unwrap(), &json!("client saw callback"));
    guard("the server", served).await.unwrap().unwrap();
}

#[tokio::test]
async fn block_task_waits_in_connect_with_spawned_and_with_spawned_tasks() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (from_start_task, start_task_saw) = oneshot::channel::<String>();
    let server = server().with_spawned(async move |cx| {
        let text = cx
            .send_request(Inner {
                text: "with_spawned".into(),
            })
            .block_task()
            .await?;
        from_start_task
            .send(text)
            .map_err(|_| Error::internal_error("the test stopped listening"))
    });
    let (a, b) = Channel::duplex();
    let served = tokio::spawn(server.connect_to(b));
    let (in_closure, in_task) = guard(
        "the client",
        client(&calls).connect_with(a, async |cx| {
            // The connect_with closure waits for its own answer...
            let in_closure = cx.send_request(outer("callback")).block_task().await?;
            // ...and a task it spawns does too.
            let (done, in_task) = oneshot::channel();
            let task_cx = cx.clone();
            cx.spawn(async move {
                let answer = task_cx.send_request(outer("spawn")).block_task().await?;
                done.send(answer)
                    .map_err(|_| Error::internal_error("the closure stopped listening"))
            });
            let in_task = in_task
                .await
                .map_err(|_| Error::internal_error("the task ended without answering"))?;
            Ok::<_, Error>((in_closure, in_task))
        }),
    )
    .await
    .unwrap();
    assert_eq!(in_closure, json!("client saw callback"));
    // The server's spawned task waited with block_task() for the client's answer.
    assert_eq!(in_task, json!("client saw spawn"));
    assert_eq!(
        guard("the with_spawned task", start_task_saw)
            .await
            .unwrap(),
        "client saw with_spawned"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    guard("the server", served).await.unwrap().unwrap();
}

/// `ensure_outside_dispatch`, the check that helpers which wait in their own way (ACP's
/// `new_session`) rely on: an error inside a handler, fine in the `connect_with` closure.
#[tokio::test]
async fn ensure_outside_dispatch_tells_a_handler_from_a_task() {
    #[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
    #[request(method = "where", response = i64)]
    struct Where {}

    let (client_end, server_end) = Channel::duplex();
    let server = UntypedRole
        .builder()
        .on_receive_request(async |_: Where, responder, cx| {
            let code = cx
                .ensure_outside_dispatch()
                .err()
                .map_or(0, |error| error.code());
            responder.respond(i64::from(code))
        })
        .connect_to(server_end);
    let client = UntypedRole.builder().connect_with(client_end, async |cx| {
        cx.ensure_outside_dispatch()?;
        cx.send_request(Where {}).block_task().await
    });
    let (inside, served) = guard("the where request", futures::future::join(client, server)).await;
    assert_eq!(inside.unwrap(), i64::from(codes::BLOCKED_DISPATCH_LOOP));
    served.unwrap();
}
