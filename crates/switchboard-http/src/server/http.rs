//! The endpoint's three methods for the Streamable HTTP profile: `POST` a message, `GET` a
//! stream (or upgrade to a WebSocket, see `mod.rs`), `DELETE` the connection.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::channel::oneshot;

use super::Shared;
use super::connection::{HttpConnection, Unavailable};
use super::remote::RemoteClient;
use crate::protocol::{
    EVENT_STREAM, Envelope, HEADER_CONNECTION_ID, HEADER_SESSION_ID, JSON, Kind, batch_refusal,
    is_batch, is_error_answer, is_initialize, scope_to_session,
};

/// `POST`: one message from the client. `initialize` opens a connection and is answered in
/// the response (200, with `Acp-Connection-Id`); any other message is queued for its
/// connection and accepted at once (202), its answer coming on a stream.
pub(crate) async fn post(shared: Arc<Shared>, headers: HeaderMap, body: Body) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(JSON));
    if !is_json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        )
            .into_response();
    }
    let message = match read_body(body, &headers, shared.body_limit).await {
        Ok(message) => message,
        Err(refusal) => return refusal,
    };
    if is_batch(&message) {
        return (
            StatusCode::BAD_REQUEST,
            json_body(batch_refusal().into_bytes()),
        )
            .into_response();
    }
    let Some(connection_id) = text_of(&headers, HEADER_CONNECTION_ID) else {
        if is_initialize(&message) {
            return open(shared, message).await;
        }
        return (
            StatusCode::BAD_REQUEST,
            "an Acp-Connection-Id header is required after initialize",
        )
            .into_response();
    };
    let Some(connection) = shared.connection(&connection_id) else {
        return (StatusCode::NOT_FOUND, "no such connection").into_response();
    };
    let session = text_of(&headers, HEADER_SESSION_ID);
    let message = match &session {
        Some(session) => match scope_to_session(message, session) {
            Ok(message) => message,
            Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
        },
        None => message,
    };
    match connection.deliver(message, session, None).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "the connection has ended").into_response(),
    }
}

/// Opens a connection with its `initialize`: starts the connection handler with a
/// [`RemoteClient`], and answers the POST with the agent's answer.
async fn open(shared: Arc<Shared>, initialize: Vec<u8>) -> Response {
    let id = shared.new_connection_id();
    let (connection, incoming) = HttpConnection::new(id.clone(), shared.body_limit);
    shared.start_http(
        &connection,
        RemoteClient::http(Arc::clone(&connection), incoming),
    );
    let request_id = request_id_of(&initialize);
    let (reply, answer) = oneshot::channel();
    let answer = match connection.deliver(initialize, None, Some(reply)).await {
        Ok(()) => answer.await.ok(),
        Err(_) => None,
    };
    let Some(answer) = answer else {
        // The agent ended (or could not start): the client learns why, as the answer to its
        // `initialize`, once the handler has returned and said it.
        connection.ended().await;
        let why = connection
            .failure()
            .unwrap_or_else(|| "it ended without a word".to_owned());
        let error = serde_json::json!({
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {
                "code": -32603,
                "message": format!("the agent ended before it answered initialize: {why}"),
            },
        });
        return json_body(error.to_string().into_bytes()).into_response();
    };
    if is_error_answer(&answer) {
        // Refused: nothing to keep.
        connection.end();
        return json_body(answer).into_response();
    }
    let mut response = json_body(answer).into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER_CONNECTION_ID, value);
    }
    response
}

/// `GET` (without an upgrade): the connection's stream, or with `Acp-Session-Id` a
/// session's, as server-sent events, one message each, with a `:` comment every keepalive
/// ([`AcpServer::keepalive`](crate::AcpServer::keepalive)). A stream another GET reads is
/// taken over: that GET ends.
pub(crate) fn stream(shared: &Shared, headers: &HeaderMap) -> Response {
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains(EVENT_STREAM));
    if !accepts {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "Accept must include text/event-stream",
        )
            .into_response();
    }
    let Some(id) = text_of(headers, HEADER_CONNECTION_ID) else {
        return (
            StatusCode::BAD_REQUEST,
            "an Acp-Connection-Id header is required",
        )
            .into_response();
    };
    let Some(connection) = shared.connection(&id) else {
        return (StatusCode::NOT_FOUND, "no such connection").into_response();
    };
    let session = text_of(headers, HEADER_SESSION_ID);
    let lease = match connection.subscribe(session.as_deref()) {
        Ok(lease) => lease,
        Err(Unavailable::Unknown) => {
            return (StatusCode::NOT_FOUND, "no such session").into_response();
        }
    };
    let events = lease.map(|message| {
        Ok::<_, Infallible>(Event::default().data(String::from_utf8_lossy(&message)))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(shared.keepalive))
        .into_response()
}

/// `DELETE`: the client is done; the connection ends at once.
pub(crate) fn delete(shared: &Shared, headers: &HeaderMap) -> Response {
    let Some(id) = text_of(headers, HEADER_CONNECTION_ID) else {
        return (
            StatusCode::BAD_REQUEST,
            "an Acp-Connection-Id header is required",
        )
            .into_response();
    };
    match shared.connection(&id) {
        Some(connection) => {
            connection.end();
            StatusCode::ACCEPTED.into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such connection").into_response(),
    }
}

/// The body, if it is no larger than `limit` (413 otherwise, without reading more of it).
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, Response> {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "the message is too large").into_response();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(error) => {
            let over = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over {
                Err(too_large())
            } else {
                Err((StatusCode::BAD_REQUEST, "the body could not be read").into_response())
            }
        }
    }
}

/// The id of the request `message`, as JSON (`null` if it has none that can be read).
fn request_id_of(message: &[u8]) -> serde_json::Value {
    match Envelope::read(message) {
        Some(Envelope {
            kind: Kind::Request { id, .. },
            ..
        }) => serde_json::from_str(&id).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    }
}

fn json_body(body: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, JSON)], body)
}

fn text_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
