//! A scripted worker, in process: each generation answers by a script that says, per
//! generation and method, whether to answer, crash, hang or write garbage first; and a log
//! of what each generation received.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::transport::Transport;
use switchboard::wire::FrameEvent;
use switchboard::{ConnectionTo, Error, UntypedMessage, UntypedRole};
use switchboard_supervisor::Supervisor;

/// Turns a hang into a failure; nothing is asserted about time.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

pub(crate) async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"))
}

/// What a generation does with a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// Answers (the default): `initialize` with its protocol version, `fail` with an error,
    /// anything else with `{"generation": N, "params": ...}`.
    Answer,
    /// Ends the connection at once, without answering (a crash).
    Crash,
    /// Never answers.
    Hang,
    /// Writes a line of garbage, then answers.
    Garbage,
    /// Answers with an error.
    Refuse,
    /// Crashes on every `n`th call of the method, counted over all generations; answers the
    /// others.
    CrashEvery(u64),
    /// Sends the notification `said` (`{"before": METHOD}`), then answers.
    Tell,
}

/// Which generation does what; by default everything is answered.
#[derive(Clone, Default)]
pub(crate) struct Script {
    acts: Arc<Mutex<HashMap<(u64, String), Act>>>,
    every_generation: Arc<Mutex<HashMap<String, Act>>>,
    /// The protocol version each generation's `initialize` answers (default "1").
    versions: Arc<Mutex<HashMap<u64, String>>>,
    /// (generation, method) of every message received, in order.
    pub(crate) log: Arc<Mutex<Vec<(u64, String)>>>,
    /// Calls counted for [`Act::CrashEvery`].
    counted: Arc<std::sync::atomic::AtomicU64>,
}

impl Script {
    pub(crate) fn on(self, generation: u64, method: &str, act: Act) -> Self {
        self.acts
            .lock()
            .unwrap()
            .insert((generation, method.to_owned()), act);
        self
    }

    pub(crate) fn always(self, method: &str, act: Act) -> Self {
        self.every_generation
            .lock()
            .unwrap()
            .insert(method.to_owned(), act);
        self
    }

    pub(crate) fn version(self, generation: u64, version: &str) -> Self {
        self.versions
            .lock()
            .unwrap()
            .insert(generation, version.to_owned());
        self
    }

    fn act(&self, generation: u64, method: &str) -> Act {
        if let Some(act) = self
            .acts
            .lock()
            .unwrap()
            .get(&(generation, method.to_owned()))
        {
            return *act;
        }
        self.every_generation
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(Act::Answer)
    }

    /// The methods generation `generation` received, in order.
    pub(crate) fn received(&self, generation: u64) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(g, _)| *g == generation)
            .map(|(_, method)| method.clone())
            .collect()
    }

    /// A supervisor of this script's worker.
    pub(crate) fn supervisor(&self) -> Supervisor {
        let script = self.clone();
        Supervisor::spawning(move |generation| Ok(script.start(generation)))
    }

    /// Starts generation `generation`: a task reading frames and answering by the script.
    fn start(&self, generation: u64) -> Transport {
        let (to_worker, mut inbox) = mpsc::channel::<Vec<u8>>(16);
        let (mut outbox, from_worker) = mpsc::channel::<Vec<u8>>(16);
        let script = self.clone();
        tokio::spawn(async move {
            while let Some(frame) = inbox.next().await {
                let message: Value =
                    serde_json::from_slice(&frame).expect("JSON from the supervisor");
                let method = message["method"].as_str().unwrap_or("").to_owned();
                let Some(id) = message.get("id").cloned() else {
                    script.log.lock().unwrap().push((generation, method));
                    continue;
                };
                if method.is_empty() {
                    // An answer to a request of ours: the worker sends none.
                    continue;
                }
                script
                    .log
                    .lock()
                    .unwrap()
                    .push((generation, method.clone()));
                let answer = match method.as_str() {
                    "initialize" => {
                        let version = script
                            .versions
                            .lock()
                            .unwrap()
                            .get(&generation)
                            .cloned()
                            .unwrap_or_else(|| "1".to_owned());
                        json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": version, "generation": generation}})
                    }
                    "fail" => {
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": "no"}})
                    }
                    _ => {
                        json!({"jsonrpc": "2.0", "id": id, "result": {"generation": generation, "params": message["params"]}})
                    }
                };
                match script.act(generation, &method) {
                    Act::Answer => {}
                    Act::Refuse => {
                        let refusal = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32001, "message": "refused"}});
                        if outbox.send(refusal.to_string().into_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Act::Tell => {
                        let said = json!({"jsonrpc": "2.0", "method": "said", "params": {"before": method}});
                        if outbox.send(said.to_string().into_bytes()).await.is_err() {
                            return;
                        }
                    }
                    Act::Crash => return,
                    Act::CrashEvery(n) => {
                        let seen = script
                            .counted
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                            + 1;
                        if seen % n == 0 {
                            return;
                        }
                    }
                    Act::Hang => continue,
                    Act::Garbage => {
                        if outbox.send(b"{this is not json".to_vec()).await.is_err() {
                            return;
                        }
                    }
                }
                if outbox.send(answer.to_string().into_bytes()).await.is_err() {
                    return;
                }
            }
        });
        Transport::new(
            from_worker.map(|frame| Ok(FrameEvent::Frame(frame))),
            to_worker.sink_map_err(Error::transport),
        )
    }
}

/// Connects a caller to `supervisor` and runs `body` with the connection.
pub(crate) async fn with_caller<T, F, Fut>(supervisor: Supervisor, body: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<UntypedRole>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    UntypedRole.builder().connect_with(supervisor, body).await
}

/// Sends `method` with `params` and waits for the answer.
pub(crate) async fn call(
    caller: &ConnectionTo<UntypedRole>,
    method: &str,
    params: Value,
) -> Result<Value, Error> {
    let request = UntypedMessage::new(method, params)?;
    caller.send_request(request).block_task().await
}

/// The handshake of the scripted protocol: `initialize`, then `initialized`.
pub(crate) async fn hello(caller: &ConnectionTo<UntypedRole>) -> Result<Value, Error> {
    let answer = call(caller, "initialize", json!({"client": "test"})).await?;
    caller.send_notification(UntypedMessage::new("initialized", json!({}))?)?;
    Ok(answer)
}
