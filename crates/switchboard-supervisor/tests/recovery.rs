//! A protocol's state restored into each new generation, through [`Recovery`]: learnt from
//! the answers, restored before the generation takes calls (its replayed history held back),
//! and the calls naming what could not be restored refused.

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard::{ConnectionTo, RawJson, UntypedMessage, UntypedRole};
use switchboard_supervisor::{Fault, Handshake, Recovery, Replay, RestartPolicy, Stage};

use support::{Act, Script, call, guard, hello};

/// Rooms opened with `open {"room": R}` are reopened with `reopen` in each new generation;
/// one that cannot be is lost, and `use` of it is refused.
#[derive(Clone, Default)]
struct Rooms {
    open: Arc<Mutex<BTreeSet<String>>>,
    lost: Arc<Mutex<BTreeSet<String>>>,
}

fn room_of(params: Option<&RawJson>) -> Option<String> {
    let params: Value = params?.parse().ok()?;
    params["room"].as_str().map(str::to_owned)
}

impl Recovery for Rooms {
    fn answered(&self, method: &str, params: Option<&RawJson>, _result: &RawJson) {
        if method == "open"
            && let Some(room) = room_of(params)
        {
            self.open.lock().unwrap().insert(room);
        }
    }

    fn restore(
        &self,
        worker: ConnectionTo<UntypedRole>,
        _generation: u64,
    ) -> BoxFuture<'static, Result<(), Fault>> {
        let rooms = self.clone();
        async move {
            let open: Vec<String> = rooms.open.lock().unwrap().iter().cloned().collect();
            for room in open {
                let reopen = UntypedMessage::new("reopen", json!({"room": room})).unwrap();
                if worker.send_request(reopen).block_task().await.is_err() {
                    rooms.open.lock().unwrap().remove(&room);
                    rooms.lost.lock().unwrap().insert(room);
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn refuse(&self, method: &str, params: Option<&RawJson>) -> Option<Fault> {
        let room = room_of(params)?;
        if method == "use" && self.lost.lock().unwrap().contains(&room) {
            return Some(Fault::new(
                Stage::Process,
                format!("room {room} was lost when the worker restarted"),
            ));
        }
        None
    }
}

#[tokio::test]
async fn state_is_restored_before_calls_its_replay_unheard_and_what_was_lost_refused() {
    let script = Script::default()
        .on(1, "work", Act::Crash)
        .on(2, "boom", Act::Crash)
        .always("reopen", Act::Tell)
        .always("work", Act::Tell)
        .on(3, "reopen", Act::Refuse);
    let rooms = Rooms::default();
    let supervisor = script
        .supervisor()
        .handshake(
            Handshake::default()
                .request("initialize")
                .notification("initialized"),
        )
        .restart_policy(
            RestartPolicy::default()
                .max_restarts(5, Duration::from_secs(60))
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .contract("work", Replay::Safe)
        .contract("boom", Replay::Safe)
        .recovery(rooms.clone());
    let heard = Arc::new(Mutex::new(Vec::new()));
    let told = Arc::clone(&heard);
    let (first, second, used) = guard(
        "the calls",
        UntypedRole
            .builder()
            .on_receive_notification(move |said: UntypedMessage, _cx| {
                let told = Arc::clone(&told);
                async move {
                    told.lock().unwrap().push(said.params_value()?);
                    Ok(())
                }
            })
            .connect_with(supervisor, async |caller| {
                hello(&caller).await?;
                call(&caller, "open", json!({"room": "a"})).await?;
                // Generation 1 crashes; 2 gets the room back, then the call.
                let first = call(&caller, "work", json!({})).await?;
                // 2 crashes on this one; 3 cannot reopen the room, and answers it.
                let second = call(&caller, "boom", json!({})).await?;
                let used = call(&caller, "use", json!({"room": "a"})).await;
                Ok((first, second, used))
            }),
    )
    .await
    .expect("the caller's connection");
    assert_eq!(first["generation"], 2);
    assert_eq!(
        script.received(2),
        ["initialize", "initialized", "reopen", "work", "boom"]
    );
    assert_eq!(second["generation"], 3);
    let fault = Fault::from_error(&used.expect_err("refused")).expect("a fault");
    assert!(
        fault.message.contains("room a was lost"),
        "{}",
        fault.message
    );
    assert!(
        !script.received(3).contains(&"use".to_owned()),
        "the refused call never reached the worker"
    );
    // The caller heard `work`'s notification, and none of the replayed history.
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard, [json!({"before": "work"})], "{heard:?}");
}
