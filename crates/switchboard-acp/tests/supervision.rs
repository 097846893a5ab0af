//! An agent under a supervisor, in process: after a crash, the new agent gets `initialize`
//! and the open sessions back (resumed or loaded, as it advertises), the prompt in flight
//! fails with a fault, and a session that could not be restored is refused with one.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{Channel, ConnectionTo, Dispatch, Error, UntypedMessage, UntypedRole};
use switchboard_acp::schema::{InitializeRequest, NewSessionRequest, ProtocolVersion, StopReason};
use switchboard_acp::supervision::{AcpSessions, configure};
use switchboard_acp::{AcpClient, Client};
use switchboard_supervisor::{Fault, RestartPolicy, Stage, Supervisor};
use tokio::task::AbortHandle;

const HANG_GUARD: Duration = Duration::from_secs(20);

async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {what} did not finish within {HANG_GUARD:?}"))
}

/// What the test agents can do to reopen a session.
#[derive(Clone, Copy)]
enum Reopens {
    Resume,
    Load,
    Neither,
}

/// A small agent speaking raw ACP: sessions it was told of live in `known` (as a real agent
/// keeps them on disk), so a new generation can take them back; a prompt says "said: TEXT"
/// as an update, then ends its turn; a prompt of `crash` ends the agent.
#[derive(Clone)]
struct Agents {
    reopens: Reopens,
    known: Arc<Mutex<BTreeSet<String>>>,
    /// (generation, method) of every request, in order.
    log: Arc<Mutex<Vec<(u64, String)>>>,
    /// Each generation's task, for a crash to end.
    tasks: Arc<Mutex<BTreeMap<u64, AbortHandle>>>,
}

impl Agents {
    fn new(reopens: Reopens) -> Self {
        Agents {
            reopens,
            known: Arc::default(),
            log: Arc::default(),
            tasks: Arc::default(),
        }
    }

    fn supervisor(&self) -> Supervisor {
        let agents = self.clone();
        let supervisor = Supervisor::spawning(move |generation| {
            let (ours, theirs) = Channel::duplex();
            let task = tokio::spawn(agents.clone().run(generation, theirs));
            agents
                .tasks
                .lock()
                .unwrap()
                .insert(generation, task.abort_handle());
            Ok(ours)
        })
        .restart_policy(
            RestartPolicy::default()
                .max_restarts(3, Duration::from_secs(60))
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        );
        configure(supervisor)
    }

    async fn run(self, generation: u64, end: Channel) {
        let agents = self.clone();
        let _ = UntypedRole
            .builder()
            .on_receive_dispatch(move |dispatch: Dispatch, cx: ConnectionTo<UntypedRole>| {
                let agents = agents.clone();
                async move {
                    let Dispatch::Request(request, responder) = dispatch else {
                        return Ok(());
                    };
                    let method = request.method().to_owned();
                    agents
                        .log
                        .lock()
                        .unwrap()
                        .push((generation, method.clone()));
                    let params: Value = request.params_value()?;
                    let session = params["sessionId"].as_str().unwrap_or("").to_owned();
                    match method.as_str() {
                        "initialize" => {
                            let capabilities = match agents.reopens {
                                Reopens::Resume => json!({"sessionCapabilities": {"resume": {}}}),
                                Reopens::Load => json!({"loadSession": true}),
                                Reopens::Neither => json!({}),
                            };
                            responder.respond(
                                json!({"protocolVersion": 1, "agentCapabilities": capabilities}),
                            )
                        }
                        "session/new" => {
                            let id =
                                format!("s-{generation}-{}", agents.known.lock().unwrap().len());
                            agents.known.lock().unwrap().insert(id.clone());
                            responder.respond(json!({"sessionId": id}))
                        }
                        "session/resume" | "session/load" => {
                            if !agents.known.lock().unwrap().contains(&session) {
                                return responder
                                    .respond_with_error(Error::invalid_params("no such session"));
                            }
                            if method == "session/load" {
                                // The history a load replays: the client has seen it.
                                say(&cx, &session, "history")?;
                            }
                            responder.respond(json!({}))
                        }
                        "session/prompt" => {
                            let text = params["prompt"][0]["text"]
                                .as_str()
                                .unwrap_or("")
                                .to_owned();
                            if text == "crash" {
                                // Gone at once, the prompt unanswered, as a process killed.
                                if let Some(task) = agents.tasks.lock().unwrap().get(&generation) {
                                    task.abort();
                                }
                                return std::future::pending().await;
                            }
                            say(&cx, &session, &format!("said: {text}"))?;
                            responder.respond(json!({"stopReason": "end_turn"}))
                        }
                        _ => responder.respond_with_error(Error::method_not_found(&method)),
                    }
                }
            })
            .connect_to(end)
            .await;
    }

    fn received(&self, generation: u64) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(g, _)| *g == generation)
            .map(|(_, method)| method.clone())
            .collect()
    }
}

fn say(cx: &ConnectionTo<UntypedRole>, session: &str, text: &str) -> Result<(), Error> {
    let update = json!({
        "sessionId": session,
        "update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}},
    });
    cx.send_notification(UntypedMessage::new("session/update", update)?)
}

/// Opens a session, prompts `hello`, `crash` and `again`; returns what each prompt said
/// (or its error) and the session's id.
async fn converse(supervisor: Supervisor) -> (Vec<Result<(String, StopReason), Error>>, String) {
    Client
        .builder()
        .connect_with(supervisor, async |cx| {
            cx.initialize(InitializeRequest::new(ProtocolVersion::V1))
                .block_task()
                .await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/work")).await?;
            let id = session.id().to_string();
            let mut answers = Vec::new();
            for text in ["hello", "crash", "again"] {
                let mut said = String::new();
                let answer = session
                    .prompt(text, |update| {
                        said.push_str(&format!("{:?}|", update.update))
                    })
                    .await
                    .map(|answer| (said, answer.stop_reason));
                answers.push(answer);
            }
            Ok((answers, id))
        })
        .await
        .expect("the client's connection")
}

#[tokio::test]
async fn a_crashed_agent_gets_its_sessions_back_by_resume_and_the_prompt_in_flight_fails() {
    let agents = Agents::new(Reopens::Resume);
    let (answers, session) = guard("the conversation", converse(agents.supervisor())).await;
    let [hello, crash, again] = &answers[..] else {
        panic!("three answers: {answers:?}")
    };
    assert!(
        hello
            .as_ref()
            .is_ok_and(|(said, _)| said.contains("said: hello")),
        "{hello:?}"
    );
    let error = crash.as_ref().expect_err("the prompt in flight fails");
    let fault = Fault::from_error(error).unwrap_or_else(|| panic!("a fault: {error:?}"));
    assert_eq!(fault.stage, Stage::Process);
    assert_eq!(fault.method.as_deref(), Some("session/prompt"));
    assert!(!fault.retried);
    let (said, reason) = again.as_ref().expect("the session goes on");
    assert!(said.contains("said: again"), "{said}");
    assert_eq!(*reason, StopReason::EndTurn);
    assert_eq!(
        agents.received(2),
        ["initialize", "session/resume", "session/prompt"],
        "generation 2 got the handshake and the session back first"
    );
    assert!(agents.known.lock().unwrap().contains(&session));
}

#[tokio::test]
async fn a_session_brought_back_by_load_replays_nothing_to_the_client() {
    let agents = Agents::new(Reopens::Load);
    let (answers, _) = guard("the conversation", converse(agents.supervisor())).await;
    let (said, _) = answers[2].as_ref().expect("the session goes on");
    assert!(said.contains("said: again"), "{said}");
    assert!(
        !said.contains("history"),
        "the replayed history reached the client: {said}"
    );
    assert_eq!(agents.received(2)[..2], ["initialize", "session/load"]);
}

#[tokio::test]
async fn a_session_the_new_agent_cannot_take_back_is_refused_with_a_fault() {
    let agents = Agents::new(Reopens::Neither);
    let sessions = AcpSessions::default();
    let supervisor = agents.supervisor().recovery(sessions.clone());
    let (answers, session) = guard("the conversation", converse(supervisor)).await;
    let error = answers[2]
        .as_ref()
        .expect_err("the lost session is refused");
    let fault = Fault::from_error(error).expect("a fault");
    assert!(
        fault
            .message
            .contains(&format!("session {session} was lost")),
        "{}",
        fault.message
    );
    assert!(!fault.retryable);
    assert!(
        !agents.received(2).contains(&"session/prompt".to_owned()),
        "the refused prompt never reached the new agent"
    );
    assert_eq!(sessions.lost(), BTreeSet::from([session]));
}
