//! The Streamable HTTP profile, client side.
//!
//! `initialize` is POSTed first, and answered in its response with the connection's id.
//! Then the connection's SSE stream is opened, and a session's stream before the first
//! message that names the session (or as soon as an answer names a new one). Every message
//! is POSTed in turn, the next once the last is accepted (202), so they arrive in order.
//! Streams are read by tasks of their own, so a POST waiting on a busy agent never stops
//! the agent's messages from being read. The end of any stream ends the connection; when
//! the connection is done, a `DELETE` ends it on the server too.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchboard::Error;
use switchboard::wire::FrameEvent;
use tokio::task::JoinSet;

use super::sse::EventReader;
use super::{CONNECT_TIMEOUT, RemoteAgent, unreachable};
use crate::protocol::{
    EVENT_STREAM, Envelope, HEADER_CONNECTION_ID, HEADER_SESSION_ID, JSON, Kind, is_initialize,
};

/// How many sessions named in answers wait for their stream to be opened.
const OPENING_QUEUE: usize = 16;

/// How the client reaches the server: plain TCP, and TLS for `https://` with `rustls`.
#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// What the requests of one connection share.
struct Endpoint {
    pool: Pool<Connector, Full<Bytes>>,
    uri: Uri,
    url: String,
    token: Option<String>,
    limit: usize,
}

/// Runs the connection to `agent` until the connection is done or a stream ends.
pub(super) async fn run(
    agent: &RemoteAgent,
    mut incoming: mpsc::Sender<Result<FrameEvent, Error>>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
) -> Result<(), Error> {
    let uri: Uri = agent
        .url
        .parse()
        .map_err(|error| Error::invalid_params(format!("`{}` is not a URL: {error}", agent.url)))?;
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    let connector = secured(connector, agent)?;
    let endpoint = Arc::new(Endpoint {
        pool: Pool::builder(TokioExecutor::new()).build(connector),
        uri,
        url: agent.url.clone(),
        token: agent.token.clone(),
        limit: agent.body_limit,
    });
    let Some(first) = outgoing.next().await else {
        return Ok(());
    };
    if !is_initialize(&first) {
        return Err(Error::invalid_request(
            "the first message to an agent over HTTP must be `initialize`",
        ));
    }
    let response = endpoint.post(None, None, first).await?;
    let connection = response
        .headers()
        .get(HEADER_CONNECTION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let answer = endpoint.body_of(response).await?;
    let delivered = FrameEvent::from_whole_message(answer.to_vec(), endpoint.limit);
    if let Some(event) = delivered
        && incoming.send(Ok(event)).await.is_err()
    {
        return Ok(());
    }
    // Without an id the agent refused `initialize`: there is no connection to go on with.
    let Some(connection) = connection else {
        return Ok(());
    };
    let (opening, mut to_open) = mpsc::channel::<String>(OPENING_QUEUE);
    let mut streams = JoinSet::new();
    let mut opened = HashSet::new();
    let open = |streams: &mut JoinSet<Result<(), Error>>, session: Option<String>| {
        streams.spawn(read_stream(
            Arc::clone(&endpoint),
            connection.clone(),
            session,
            incoming.clone(),
            opening.clone(),
        ));
    };
    open(&mut streams, None);
    let ended = loop {
        tokio::select! {
            message = outgoing.next() => {
                let Some(message) = message else { break Ok(()) };
                let session = session_of(&message);
                if let Some(session) = &session
                    && opened.insert(session.clone())
                {
                    open(&mut streams, Some(session.clone()));
                }
                let response = endpoint.post(Some(&connection), session.as_deref(), message).await?;
                if !response.status().is_success() {
                    break Err(endpoint.refused(response).await);
                }
            }
            Some(session) = to_open.next() => {
                if opened.insert(session.clone()) {
                    open(&mut streams, Some(session));
                }
            }
            Some(stream) = streams.join_next() => {
                // Any stream's end is the connection's: the server ended it.
                break stream.unwrap_or_else(|error| {
                    Err(Error::internal_error(format!("a stream reader failed: {error}")))
                });
            }
        }
    };
    streams.abort_all();
    // Done either way: the server may forget the connection now.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, endpoint.delete(&connection)).await;
    ended
}

/// `connector`, able to speak TLS for `https://` URLs.
#[cfg(feature = "rustls")]
fn secured(mut connector: HttpConnector, agent: &RemoteAgent) -> Result<Connector, Error> {
    connector.enforce_http(false);
    let config = crate::tls::client_config(&agent.roots)?;
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(Arc::unwrap_or_clone(config))
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}

/// `connector` as it is: without the feature `rustls`, `https://` cannot be reached.
#[cfg(not(feature = "rustls"))]
fn secured(connector: HttpConnector, agent: &RemoteAgent) -> Result<Connector, Error> {
    if agent.url.starts_with("https://") {
        return Err(Error::invalid_params(format!(
            "{} needs TLS: build switchboard-http with the feature `rustls`",
            agent.url
        )));
    }
    Ok(connector)
}

/// The session a message the client sends is scoped to: its `params.sessionId`, unless it
/// is an answer or a `$/` method (those are the connection's).
fn session_of(message: &[u8]) -> Option<String> {
    let envelope = Envelope::read(message)?;
    match envelope.kind {
        Kind::Request { method, .. } | Kind::Notification { method }
            if !method.starts_with("$/") =>
        {
            envelope.session
        }
        _ => None,
    }
}

/// Reads one stream (the connection's, or `session`'s) into `incoming` until it ends; asks
/// for the stream of each session an answer names.
async fn read_stream(
    endpoint: Arc<Endpoint>,
    connection: String,
    session: Option<String>,
    mut incoming: mpsc::Sender<Result<FrameEvent, Error>>,
    mut opening: mpsc::Sender<String>,
) -> Result<(), Error> {
    let request = endpoint
        .request(Method::GET, Some(&connection), session.as_deref())
        .header(ACCEPT, EVENT_STREAM)
        .body(Full::new(Bytes::new()))
        .map_err(|error| Error::invalid_params(format!("a bad request: {error}")))?;
    let response = endpoint
        .pool
        .request(request)
        .await
        .map_err(|error| unreachable(&endpoint.url, &error))?;
    if response.status() != StatusCode::OK {
        return Err(endpoint.refused(response).await);
    }
    let mut body = response.into_body();
    let mut reader = EventReader::new(endpoint.limit);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| unreachable(&endpoint.url, &error))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let events = reader.feed(&data).map_err(|_| {
            Error::invalid_request(format!(
                "the agent at {} sent an event over {} bytes",
                endpoint.url, endpoint.limit
            ))
        })?;
        for event in events {
            if let Some(Envelope {
                kind: Kind::Response { .. },
                session: Some(named),
            }) = Envelope::read(&event)
            {
                let _ = opening.send(named).await;
            }
            let Some(event) = FrameEvent::from_whole_message(event, endpoint.limit) else {
                continue;
            };
            if incoming.send(Ok(event)).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

impl Endpoint {
    fn request(
        &self,
        method: Method,
        connection: Option<&str>,
        session: Option<&str>,
    ) -> hyper::http::request::Builder {
        let mut request = Request::builder().method(method).uri(self.uri.clone());
        if let Some(connection) = connection {
            request = request.header(HEADER_CONNECTION_ID, connection);
        }
        if let Some(session) = session {
            request = request.header(HEADER_SESSION_ID, session);
        }
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request
    }

    async fn post(
        &self,
        connection: Option<&str>,
        session: Option<&str>,
        message: Vec<u8>,
    ) -> Result<Response<Incoming>, Error> {
        let request = self
            .request(Method::POST, connection, session)
            .header(CONTENT_TYPE, JSON)
            .header(ACCEPT, format!("{JSON}, {EVENT_STREAM}"))
            .body(Full::new(Bytes::from(message)))
            .map_err(|error| Error::invalid_params(format!("a bad request: {error}")))?;
        self.pool
            .request(request)
            .await
            .map_err(|error| unreachable(&self.url, &error))
    }

    async fn delete(&self, connection: &str) -> Result<(), Error> {
        let request = self
            .request(Method::DELETE, Some(connection), None)
            .body(Full::new(Bytes::new()))
            .map_err(|error| Error::invalid_params(format!("a bad request: {error}")))?;
        self.pool
            .request(request)
            .await
            .map(drop)
            .map_err(|error| unreachable(&self.url, &error))
    }

    /// The body of `response`, at most the limit.
    async fn body_of(&self, response: Response<Incoming>) -> Result<Bytes, Error> {
        if !response.status().is_success() {
            return Err(self.refused(response).await);
        }
        Limited::new(response.into_body(), self.limit)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|error| {
                Error::connection_closed(format!("the agent at {}: {error}", self.url))
            })
    }

    /// The error for a response the agent's server refused a request with: its status and
    /// what it said.
    async fn refused(&self, response: Response<Incoming>) -> Error {
        let status = response.status();
        let said = Limited::new(response.into_body(), 1024)
            .collect()
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        Error::connection_closed(format!(
            "the agent at {} refused a request: {status} {said}",
            self.url
        ))
    }
}
