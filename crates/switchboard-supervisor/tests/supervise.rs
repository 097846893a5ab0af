//! The supervisor against a scripted worker in process: crashes, hangs, a worker that dies
//! in its handshake or writes garbage, the restart limit, the figures.

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::Error;
use switchboard_supervisor::{
    Contracts, Fault, HEALTH_METHOD, Handshake, Replay, RestartPolicy, Stage, Supervisor,
    TELEMETRY_METHOD, WorkerState,
};

use support::{Act, Script, call, guard, hello, with_caller};

fn handshake() -> Handshake {
    Handshake::default()
        .request("initialize")
        .notification("initialized")
        .check("protocolVersion")
}

/// Restarts at once (the backoff is not what these tests are about), at most `limit` a minute.
fn quick(limit: u32) -> RestartPolicy {
    RestartPolicy::default()
        .max_restarts(limit, Duration::from_secs(60))
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A supervisor of `script`'s worker whose `work` is safe to replay.
fn safe_work(script: &Script) -> Supervisor {
    script
        .supervisor()
        .handshake(handshake())
        .restart_policy(quick(5))
        .contract("work", Replay::Safe)
}

/// The handshake, then one `work`.
async fn work_after_hello(supervisor: Supervisor) -> Result<Value, Error> {
    with_caller(supervisor, async |caller| {
        hello(&caller).await?;
        call(&caller, "work", json!({})).await
    })
    .await
}

#[tokio::test]
async fn a_safe_call_survives_a_crash_and_an_unsafe_one_fails_with_its_fault() {
    let script = Script::default()
        .on(1, "work", Act::Crash)
        .on(2, "work", Act::Crash)
        .on(3, "transfer", Act::Crash);
    let supervisor = script
        .supervisor()
        .handshake(handshake())
        .restart_policy(quick(5))
        .contracts(
            Contracts::default()
                .named_by("work", "name")
                .contract("work:idempotent", Replay::Safe),
        );
    let status = supervisor.status();
    let (safe, unsafe_) = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let safe = call(&caller, "work", json!({"name": "idempotent"})).await;
            let unsafe_ = call(&caller, "transfer", json!({})).await;
            let after = call(&caller, "echo", json!({})).await?;
            assert_eq!(after["generation"], 4, "a new generation took over");
            Ok((safe, unsafe_))
        }),
    )
    .await
    .expect("the caller's connection");
    // Generation 1 crashed on it, so did 2; 3 answered, and crashed on the transfer.
    let safe = safe.expect("the safe call is answered");
    assert_eq!(safe["generation"], 3);
    let error = unsafe_.expect_err("the unsafe call fails");
    assert_eq!(error.code(), Stage::Process.code());
    let fault = Fault::from_error(&error).expect("the fault in the error's data");
    assert_eq!(fault.stage, Stage::Process);
    assert_eq!(fault.generation, 3);
    assert_eq!(fault.method.as_deref(), Some("transfer"));
    assert!(!fault.retried);
    assert!(fault.retryable);
    assert!(fault.message.contains("not retried"), "{}", fault.message);
    // Every generation got the handshake again before any call.
    for generation in 2..=4 {
        let received = script.received(generation);
        assert_eq!(
            received.get(..2),
            Some(&["initialize".to_owned(), "initialized".to_owned()][..]),
            "generation {generation}: {received:?}"
        );
    }
    let health = status.health();
    assert_eq!(health.restarts, 3);
    let telemetry = status.telemetry();
    let safe = &telemetry.operations["work:idempotent"];
    assert_eq!((safe.count, safe.retried), (1, 2));
    assert!(safe.errors.is_empty());
    let transfer = &telemetry.operations["transfer"];
    assert_eq!(transfer.errors.get(&Stage::Process), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_repeated_crashes_every_call_is_answered_once_safe_ones_with_their_result() {
    // Every 25th call crashes its generation, with calls of both kinds in flight at once: each
    // crash loses every call the generation had, so a safe call may be sent several times.
    const CALLS: usize = 120;
    let script = Script::default()
        .always("work", Act::CrashEvery(25))
        .always("transfer", Act::CrashEvery(25));
    let supervisor = script
        .supervisor()
        .handshake(handshake())
        .restart_policy(
            RestartPolicy::default()
                .max_restarts(1_000, Duration::from_secs(60))
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .max_replays(10)
        .contract("work", Replay::Safe);
    let status = supervisor.status();
    let answers = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let calls = (0..CALLS).map(|n| {
                let method = if n % 2 == 0 { "work" } else { "transfer" };
                let caller = caller.clone();
                async move { (n, call(&caller, method, json!({"n": n})).await) }
            });
            Ok(futures::future::join_all(calls).await)
        }),
    )
    .await
    .expect("the caller's connection");
    assert_eq!(answers.len(), CALLS);
    let mut faults = 0;
    for (n, answer) in answers {
        match answer {
            Ok(value) => assert_eq!(value["params"]["n"], n, "the answer to call {n}"),
            Err(error) => {
                assert_eq!(n % 2, 1, "a safe call failed: {error}");
                let fault = Fault::from_error(&error).expect("a fault");
                assert_eq!((fault.stage, fault.retried), (Stage::Process, false));
                faults += 1;
            }
        }
    }
    let telemetry = status.telemetry();
    let work = &telemetry.operations["work"];
    assert_eq!((work.count, work.in_flight), (CALLS as u64 / 2, 0));
    assert!(work.errors.is_empty(), "{work:?}");
    let transfer = &telemetry.operations["transfer"];
    assert_eq!(transfer.count, CALLS as u64 / 2);
    assert_eq!(
        transfer.errors.get(&Stage::Process).copied().unwrap_or(0),
        faults
    );
    assert!(
        status.health().restarts > 0,
        "the worker crashed along the way"
    );
}

#[tokio::test]
async fn the_restart_limit_holds_and_then_every_call_fails_saying_why() {
    let script = Script::default().always("work", Act::Crash);
    let supervisor = script
        .supervisor()
        .handshake(handshake())
        .restart_policy(quick(2))
        .max_replays(10)
        .contract("work", Replay::Safe);
    let status = supervisor.status();
    let (first, later) = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let first = call(&caller, "work", json!({})).await;
            let later = call(&caller, "echo", json!({})).await;
            Ok((first, later))
        }),
    )
    .await
    .expect("the caller's connection");
    for error in [
        first.expect_err("work fails"),
        later.expect_err("so does echo"),
    ] {
        let fault = Fault::from_error(&error).expect("a fault");
        assert_eq!(fault.stage, Stage::Process);
        assert!(!fault.retryable);
        assert!(fault.message.contains("gave up"), "{}", fault.message);
    }
    let health = status.health();
    assert_eq!(health.restarts, 2);
    assert_eq!(health.generation, 3);
    assert_eq!(health.state, WorkerState::Failed);
    assert!(health.last_fault.is_some());
}

#[tokio::test]
async fn a_worker_that_exits_during_its_handshake_counts_as_a_crash() {
    // Generation 2 dies as it gets the replayed initialize; 3 takes over.
    let script = Script::default()
        .on(1, "work", Act::Crash)
        .on(2, "initialize", Act::Crash);
    let supervisor = safe_work(&script);
    let status = supervisor.status();
    let answer = guard("the call", work_after_hello(supervisor))
        .await
        .expect("the safe call is answered");
    assert_eq!(answer["generation"], 3);
    assert_eq!(status.health().restarts, 2);
    assert_eq!(script.received(2), ["initialize"]);
}

#[tokio::test]
async fn a_generation_whose_handshake_answer_differs_is_not_used() {
    let script = Script::default()
        .on(1, "work", Act::Crash)
        .version(2, "2")
        .version(3, "1");
    let supervisor = safe_work(&script);
    let status = supervisor.status();
    let answer = guard("the call", work_after_hello(supervisor))
        .await
        .expect("answered by generation 3");
    assert_eq!(answer["generation"], 3);
    let fault = status.health().last_fault.expect("generation 2's fault");
    assert_eq!(fault.generation, 2);
    assert!(
        fault.message.contains("protocolVersion"),
        "{}",
        fault.message
    );
}

#[tokio::test]
async fn a_hung_generation_is_replaced_and_its_calls_replayed_or_failed() {
    let script = Script::default()
        .on(1, "work", Act::Hang)
        .on(2, "transfer", Act::Hang);
    let supervisor = script
        .supervisor()
        .handshake(handshake())
        .restart_policy(quick(5))
        .call_timeout(Duration::from_millis(300))
        .contract("work", Replay::Safe);
    let status = supervisor.status();
    let (work, transfer, after) = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let work = call(&caller, "work", json!({})).await;
            let transfer = call(&caller, "transfer", json!({})).await;
            let after = call(&caller, "echo", json!({})).await;
            Ok((work, transfer, after))
        }),
    )
    .await
    .expect("the caller's connection");
    assert_eq!(work.expect("replayed")["generation"], 2);
    let fault = Fault::from_error(&transfer.expect_err("not replayed")).expect("a fault");
    assert!(fault.message.contains("hung"), "{}", fault.message);
    assert_eq!(fault.generation, 2);
    assert_eq!(after.expect("a new generation")["generation"], 3);
    assert_eq!(status.health().restarts, 2);
}

#[tokio::test]
async fn garbage_from_the_worker_neither_loses_a_call_nor_restarts_it() {
    let script = Script::default().always("echo", Act::Garbage);
    let supervisor = script.supervisor().handshake(handshake());
    let status = supervisor.status();
    let answers = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let mut answers = Vec::new();
            for n in 0..5 {
                answers.push(call(&caller, "echo", json!({"n": n})).await?);
            }
            Ok(answers)
        }),
    )
    .await
    .expect("every call answered");
    for (n, answer) in answers.iter().enumerate() {
        assert_eq!(answer["params"]["n"], n);
        assert_eq!(answer["generation"], 1);
    }
    assert_eq!(status.health().restarts, 0);
}

#[tokio::test]
async fn calls_before_the_handshake_fail_not_initialized() {
    let script = Script::default();
    let supervisor = script.supervisor().handshake(handshake());
    let error = guard(
        "the call",
        with_caller(supervisor, async |caller| {
            Ok(call(&caller, "echo", json!({})).await)
        }),
    )
    .await
    .expect("the caller's connection")
    .expect_err("refused");
    assert_eq!(error.code(), -32002);
    assert_eq!(
        Fault::from_error(&error).map(|fault| fault.stage),
        Some(Stage::NotInitialized)
    );
    assert!(script.received(1).is_empty(), "nothing reached the worker");
    // A method the protocol allows before its handshake passes.
    let supervisor = script
        .supervisor()
        .handshake(handshake().allow_before("ping"));
    let pong = guard(
        "the ping",
        with_caller(supervisor, async |caller| {
            call(&caller, "ping", json!({})).await
        }),
    )
    .await
    .expect("a ping before the handshake is answered");
    assert_eq!(pong["generation"], 1);
}

#[tokio::test]
async fn a_call_whose_operation_cannot_be_named_is_refused_invalid_input() {
    let script = Script::default();
    let supervisor = script
        .supervisor()
        .handshake(handshake())
        .contracts(Contracts::default().named_by("run", "tool"));
    let (unnamed, named) = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            let unnamed = call(&caller, "run", json!({"tool": 7})).await;
            let named = call(&caller, "run", json!({"tool": "seven"})).await;
            Ok((unnamed, named))
        }),
    )
    .await
    .expect("the caller's connection");
    let error = unnamed.expect_err("refused");
    assert_eq!(error.code(), -32602);
    let fault = Fault::from_error(&error).expect("a fault");
    assert_eq!(fault.stage, Stage::InvalidInput);
    assert!(!fault.retryable);
    assert!(fault.message.contains("`tool`"), "{}", fault.message);
    assert_eq!(named.expect("sent")["params"]["tool"], "seven");
    assert_eq!(
        script.received(1),
        ["initialize", "initialized", "run"],
        "only the named call reached the worker"
    );
}

#[tokio::test]
async fn health_and_telemetry_are_answered_by_the_supervisor_and_count_every_call() {
    let script = Script::default().on(1, "work", Act::Crash);
    let supervisor = safe_work(&script);
    let (health, telemetry) = guard(
        "the calls",
        with_caller(supervisor, async |caller| {
            hello(&caller).await?;
            for _ in 0..7 {
                call(&caller, "echo", json!({})).await?;
            }
            let _ = call(&caller, "fail", json!({})).await;
            let _ = call(&caller, "fail", json!({})).await;
            call(&caller, "work", json!({})).await?;
            let health = call(&caller, HEALTH_METHOD, json!({})).await?;
            let telemetry = call(&caller, TELEMETRY_METHOD, json!({})).await?;
            Ok((health, telemetry))
        }),
    )
    .await
    .expect("the caller's connection");
    assert_eq!(health["generation"], 2);
    assert_eq!(health["restarts"], 1);
    assert_eq!(health["state"], "ready");
    assert_eq!(health["lastFault"]["stage"], "process");
    let operations = &telemetry["operations"];
    assert_eq!(operations["echo"]["count"], 7);
    assert_eq!(operations["echo"]["inFlight"], 0);
    assert_eq!(operations["fail"]["count"], 2);
    assert_eq!(operations["fail"]["errors"]["downstream"], 2);
    assert_eq!(operations["work"]["count"], 1);
    assert_eq!(operations["work"]["retried"], 1);
    assert_eq!(operations["initialize"]["count"], 1);
    assert!(operations["echo"]["p99Us"].as_u64().is_some());
}

#[tokio::test]
async fn a_call_the_caller_cancels_is_cancelled_at_the_worker_and_counted_once() {
    use switchboard::cancel::Cancellation;
    use switchboard::{Channel, ConnectionTo, Responder, UntypedMessage, UntypedRole};
    use tokio::sync::mpsc;

    const CANCEL: Cancellation = Cancellation::notification("$/cancel_request");
    // The worker says when a call has reached it and when its cancellation has.
    let (seen, mut seen_rx) = mpsc::channel::<&'static str>(8);
    let supervisor = Supervisor::spawning(move |_generation| {
        let (ours, theirs) = Channel::duplex();
        let seen = seen.clone();
        let worker = UntypedRole
            .builder()
            .cancellation(CANCEL)
            .on_receive_request(
                move |request: UntypedMessage,
                      responder: Responder<Value>,
                      cx: ConnectionTo<UntypedRole>| {
                    let seen = seen.clone();
                    async move {
                        if request.method() != "hold" {
                            return responder.respond(json!("done"));
                        }
                        cx.spawn(async move {
                            let _ = seen.send("received").await;
                            responder.cancelled().await;
                            let _ = seen.send("cancelled").await;
                            responder.respond_with_error(Error::request_cancelled())
                        });
                        Ok(())
                    }
                },
            )
            .connect_to(theirs);
        tokio::spawn(worker);
        Ok(ours)
    })
    .cancellation(CANCEL);
    let status = supervisor.status();
    let caller =
        UntypedRole
            .builder()
            .cancellation(CANCEL)
            .connect_with(supervisor, async move |cx| {
                let held = cx.send_request(UntypedMessage::new("hold", json!({}))?);
                assert_eq!(seen_rx.recv().await, Some("received"));
                // Dropping the caller's request cancels it.
                held.cancel();
                assert_eq!(seen_rx.recv().await, Some("cancelled"));
                // The connection goes on serving calls.
                cx.send_request(UntypedMessage::new("other", json!({}))?)
                    .block_task()
                    .await
            });
    let answer = guard("the calls", caller)
        .await
        .expect("the caller's connection");
    assert_eq!(answer, json!("done"));
    let telemetry = status.telemetry();
    let hold = &telemetry.operations["hold"];
    assert_eq!((hold.count, hold.in_flight), (1, 0));
    assert_eq!(status.health().in_flight, 0);
}
