//! A server that opens and closes "sessions" as keyed dynamic handlers, and a raw line peer to
//! drive it; shared by `dynamic.rs` and `parking.rs`.
//!
//! - request `open {sessionId, keep?}` adds a handler keyed on `sessionId` (kept for the
//!   connection when `keep` is true, else held until `close`), and answers `{}`;
//! - request `close {sessionId}` drops that registration and answers `{}`;
//! - the session handler answers request `work` with `{session, seen}`, where `seen` lists
//!   every message it handled so far, and records notifications `update {text}` the same way;
//!   it passes everything else on;
//! - request `probe` answers `{log}`: every message any session handler handled, in order.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::dynamic::{DynamicHandlerRegistration, RoutingKey};
use switchboard::{
    ConnectionTo, Dispatch, Error, Handled, Handler, Lines, Responder, UntypedMessage, UntypedRole,
};

/// What the session handlers of one server saw, shared with the test.
#[derive(Clone, Default)]
pub(crate) struct Observed {
    /// `"<session>:<method>[:<text>]"` for each message a session handler took, in order.
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    /// How many times any session handler was offered a message (taken or not).
    pub(crate) offers: Arc<AtomicUsize>,
}

impl Observed {
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn offers(&self) -> usize {
        self.offers.load(Ordering::SeqCst)
    }
}

/// Everything for one session.
pub(crate) struct SessionHandler {
    session: String,
    observed: Observed,
}

impl SessionHandler {
    pub(crate) fn new(session: &str, observed: &Observed) -> Self {
        SessionHandler {
            session: session.to_owned(),
            observed: observed.clone(),
        }
    }

    fn record(&self, method: &str, message: &UntypedMessage) -> Vec<String> {
        let text = message.params_value().ok().and_then(|params| {
            params
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let entry = match text {
            Some(text) => format!("{}:{method}:{text}", self.session),
            None => format!("{}:{method}", self.session),
        };
        let mut log = self.observed.log.lock().unwrap();
        log.push(entry);
        log.clone()
    }
}

impl Handler<UntypedRole> for SessionHandler {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        self.observed.offers.fetch_add(1, Ordering::SeqCst);
        match dispatch {
            Dispatch::Request(message, responder) if message.method() == "work" => {
                let seen = self.record("work", &message);
                responder.respond(json!({ "session": self.session, "seen": seen }))?;
                Ok(Handled::Yes)
            }
            Dispatch::Notification(message) if message.method() == "update" => {
                self.record("update", &message);
                Ok(Handled::Yes)
            }
            other => Ok(Handled::pass(other)),
        }
    }
}

type Registrations = Arc<Mutex<HashMap<String, DynamicHandlerRegistration>>>;

fn session_id(message: &UntypedMessage) -> Result<String, Error> {
    let params = message.params_value()?;
    params
        .get("sessionId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid_params("missing field `sessionId`"))
}

/// The session host's static handler: `open`, `close` and `probe`.
pub(crate) struct Host {
    observed: Observed,
    registrations: Registrations,
}

impl Host {
    pub(crate) fn new(observed: &Observed) -> Self {
        Host {
            observed: observed.clone(),
            registrations: Registrations::default(),
        }
    }

    fn answer(
        &self,
        message: &UntypedMessage,
        responder: Responder<Value>,
        cx: &ConnectionTo<UntypedRole>,
    ) -> Result<(), Error> {
        match message.method() {
            "open" => {
                let session = session_id(message)?;
                let keep = message.params_value()?.get("keep") == Some(&json!(true));
                let registration = cx.add_keyed_handler(
                    RoutingKey::new("sessionId", session.clone()),
                    SessionHandler::new(&session, &self.observed),
                );
                if keep {
                    registration.keep();
                } else {
                    self.registrations
                        .lock()
                        .unwrap()
                        .insert(session, registration);
                }
                responder.respond(json!({}))
            }
            "close" => {
                let session = session_id(message)?;
                let removed = self.registrations.lock().unwrap().remove(&session);
                responder.respond(json!({ "closed": removed.is_some() }))
            }
            _ => responder.respond(json!({ "log": self.observed.log() })),
        }
    }
}

impl Handler<UntypedRole> for Host {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Request(message, responder)
                if matches!(message.method(), "open" | "close" | "probe") =>
            {
                self.answer(&message, responder, cx)?;
                Ok(Handled::Yes)
            }
            other => Ok(Handled::pass(other)),
        }
    }
}

/// The test's end of a [`Lines`] transport: it writes and reads JSON lines itself.
pub(crate) struct RawPeer {
    to_connection: mpsc::UnboundedSender<io::Result<String>>,
    from_connection: mpsc::UnboundedReceiver<String>,
}

/// The connection's end of a [`RawPeer`].
pub(crate) type RawLines =
    Lines<mpsc::UnboundedSender<String>, mpsc::UnboundedReceiver<io::Result<String>>>;

/// A raw peer and the transport for the connection it talks to.
pub(crate) fn raw_peer() -> (RawPeer, RawLines) {
    let (to_connection, connection_reads) = mpsc::unbounded();
    let (connection_writes, from_connection) = mpsc::unbounded();
    (
        RawPeer {
            to_connection,
            from_connection,
        },
        Lines::new(connection_writes, connection_reads),
    )
}

impl RawPeer {
    /// Queues `message` as one line; lines sent back to back arrive back to back.
    pub(crate) async fn send(&mut self, message: Value) {
        self.to_connection
            .send(Ok(message.to_string()))
            .await
            .expect("the connection stopped reading");
    }

    /// The next line the connection wrote, parsed.
    pub(crate) async fn receive(&mut self) -> Value {
        let line = crate::support::guard("a line from the connection", self.from_connection.next())
            .await
            .expect("the connection closed its output");
        serde_json::from_str(&line).expect("the connection wrote invalid JSON")
    }

    /// Ends the connection's input.
    pub(crate) fn hang_up(&mut self) {
        self.to_connection.close_channel();
    }

    /// Everything the connection still writes until it closes its output.
    pub(crate) async fn rest(&mut self) -> Vec<Value> {
        let mut rest = Vec::new();
        while let Some(line) =
            crate::support::guard("the connection's output", self.from_connection.next()).await
        {
            rest.push(serde_json::from_str(&line).expect("the connection wrote invalid JSON"));
        }
        rest
    }
}

/// A JSON-RPC request line.
pub(crate) fn request(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// A JSON-RPC notification line.
pub(crate) fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}
