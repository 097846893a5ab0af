//! The transport's rules, in one place: the endpoint, its headers, its limits, and what a
//! message says about where it goes (its id, its method, its session).

use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The path of the one endpoint.
pub const ENDPOINT: &str = "/acp";

/// The path a load balancer checks: `GET` answers 200 while the server runs, without a
/// token, telling nothing else (a stopping server takes no more connections: the check
/// fails to connect).
pub const HEALTH: &str = "/health";

/// The header that names a connection, from the answer to `initialize` on.
pub const HEADER_CONNECTION_ID: &str = "acp-connection-id";

/// The header that names a session: of a POST scoped to it, of a session's SSE stream.
pub const HEADER_SESSION_ID: &str = "acp-session-id";

/// The media type of a message.
pub(crate) const JSON: &str = "application/json";

/// The media type of a stream of messages.
pub(crate) const EVENT_STREAM: &str = "text/event-stream";

/// The largest message taken, in a POST body or a WebSocket message: 16 MiB, as the official
/// transport takes.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The read and write buffers of each end of a WebSocket. Messages are mostly small, and a
/// larger one grows its buffer as it comes: the library's 128 KiB default would be most of
/// what an idle connection costs.
pub(crate) const WEBSOCKET_BUFFER: usize = 8 * 1024;

/// How often an idle SSE stream gets a `:` comment, so that proxies keep it open.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// How long a Streamable HTTP connection with no open stream and no request lives on.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a message is, as far as routing it goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request, with its id's JSON text and its method.
    Request { id: String, method: String },
    /// A notification, with its method.
    Notification { method: String },
    /// An answer, with its id's JSON text (`null` included).
    Response { id: String },
}

/// A message's routing facts: its kind, and the session it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) kind: Kind,
    /// `params.sessionId`, or for an answer `result.sessionId` (what `session/new` names).
    pub(crate) session: Option<String>,
}

impl Envelope {
    /// Reads `message`'s envelope; `None` for text that is not one JSON-RPC object.
    pub(crate) fn read(message: &[u8]) -> Option<Envelope> {
        #[derive(Deserialize)]
        struct Fields<'a> {
            #[serde(borrow, default)]
            id: Option<&'a RawValue>,
            #[serde(default)]
            method: Option<String>,
            #[serde(borrow, default)]
            params: Option<&'a RawValue>,
            #[serde(borrow, default)]
            result: Option<&'a RawValue>,
        }
        let fields: Fields<'_> = serde_json::from_slice(message).ok()?;
        let kind = match (fields.id, fields.method) {
            (Some(id), Some(method)) => Kind::Request {
                id: id.get().to_owned(),
                method,
            },
            (None, Some(method)) => Kind::Notification { method },
            (Some(id), None) => Kind::Response {
                id: id.get().to_owned(),
            },
            // `"id": null` reads as no id: an answer to a request that could not be read.
            (None, None) => Kind::Response {
                id: "null".to_owned(),
            },
        };
        let scoped = match kind {
            Kind::Response { .. } => fields.result,
            _ => fields.params,
        };
        Some(Envelope {
            kind,
            session: scoped.and_then(session_of),
        })
    }
}

/// The `sessionId` of a JSON object, if it has a string one.
fn session_of(object: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Scoped {
        #[serde(rename = "sessionId")]
        session_id: Option<String>,
    }
    serde_json::from_str::<Scoped>(object.get())
        .ok()
        .and_then(|scoped| scoped.session_id)
}

/// `message` scoped to `session`, as a POST's `Acp-Session-Id` header scopes it: its
/// `params.sessionId` set if it had none. A message for the connection (an answer, a `$/`
/// method) is left as it is. An error says why the header and the message disagree.
pub(crate) fn scope_to_session(message: Vec<u8>, session: &str) -> Result<Vec<u8>, &'static str> {
    let Some(Envelope {
        kind,
        session: named,
    }) = Envelope::read(&message)
    else {
        return Ok(message);
    };
    let method = match &kind {
        Kind::Request { method, .. } | Kind::Notification { method } => method,
        Kind::Response { .. } => return Ok(message),
    };
    if method.starts_with("$/") {
        return Ok(message);
    }
    match named {
        Some(named) if named == session => Ok(message),
        Some(_) => Err("the Acp-Session-Id header names another session than params.sessionId"),
        None => {
            let mut value: serde_json::Value =
                serde_json::from_slice(&message).map_err(|_| "the message is not JSON")?;
            let params = value
                .as_object_mut()
                .ok_or("the message is not a JSON object")?
                .entry("params")
                .or_insert_with(|| serde_json::json!({}));
            params
                .as_object_mut()
                .ok_or("Acp-Session-Id needs params that are an object")?
                .insert("sessionId".to_owned(), session.into());
            serde_json::to_vec(&value).map_err(|_| "the message could not be written back")
        }
    }
}

/// Whether `answer` is an error answer.
pub(crate) fn is_error_answer(answer: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Answer<'a> {
        #[serde(borrow, default)]
        error: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Answer<'_>>(answer).is_ok_and(|answer| answer.error.is_some())
}

/// Whether `message` is an `initialize` request.
pub(crate) fn is_initialize(message: &[u8]) -> bool {
    matches!(
        Envelope::read(message),
        Some(Envelope { kind: Kind::Request { method, .. }, .. }) if method == "initialize"
    )
}

/// Whether `method` opens a session the agent names in its answer.
pub(crate) fn creates_session(method: &str) -> bool {
    matches!(method, "session/new" | "session/fork")
}

/// Whether a message the client sends is a JSON-RPC batch: refused, as the official
/// transport refuses it.
pub(crate) fn is_batch(message: &[u8]) -> bool {
    message
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|first| *first == b'[')
}

/// The JSON-RPC error a refused batch is answered with.
pub(crate) fn batch_refusal() -> String {
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batches are not supported over this transport"}}"#
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<Envelope> {
        Envelope::read(text.as_bytes())
    }

    #[test]
    fn reads_kinds_and_sessions() {
        let prompt = r#"{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"s-1","prompt":[]}}"#;
        assert_eq!(
            read(prompt),
            Some(Envelope {
                kind: Kind::Request {
                    id: "3".into(),
                    method: "session/prompt".into()
                },
                session: Some("s-1".into()),
            })
        );
        let opened = r#"{"jsonrpc":"2.0","id":"a","result":{"sessionId":"s-2"}}"#;
        assert_eq!(
            read(opened),
            Some(Envelope {
                kind: Kind::Response {
                    id: r#""a""#.into()
                },
                session: Some("s-2".into()),
            })
        );
        let cancel = r#"{"jsonrpc":"2.0","method":"$/cancel_request","params":{"requestId":3}}"#;
        assert_eq!(read(cancel).map(|envelope| envelope.session), Some(None));
        assert_eq!(read("not json"), None);
    }

    #[test]
    fn the_session_header_fills_in_params_or_must_agree_with_them() {
        let cancel = br#"{"jsonrpc":"2.0","method":"session/cancel","params":{}}"#.to_vec();
        let scoped = scope_to_session(cancel, "s-1").map(|m| Envelope::read(&m));
        assert_eq!(
            scoped.ok().flatten().and_then(|e| e.session),
            Some("s-1".into())
        );
        let other =
            br#"{"jsonrpc":"2.0","id":1,"method":"session/prompt","params":{"sessionId":"s-2"}}"#;
        assert!(scope_to_session(other.to_vec(), "s-1").is_err());
        let answer = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec();
        assert_eq!(scope_to_session(answer.clone(), "s-1"), Ok(answer));
    }

    #[test]
    fn a_batch_is_an_array() {
        assert!(is_batch(b"  [{}]"));
        assert!(!is_batch(b"{}"));
        assert!(!is_batch(b""));
    }
}
