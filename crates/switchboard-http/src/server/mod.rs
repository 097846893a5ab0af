//! The server: ACP at `http://HOST:PORT/acp`, over Streamable HTTP and WebSocket.
//!
//! Each remote connection becomes a [`RemoteClient`], handed to the connection handler
//! given to [`AcpServer::serve`]: connect an agent's builder to it, or run a conductor's
//! chain with it. The handler's future is the connection's life: when it ends, the remote
//! connection ends; when the remote client goes (a WebSocket closed or reset, a `DELETE`, a
//! Streamable HTTP connection idle past its timeout), the handler's connection reads the
//! end of its input.

mod access;
mod connection;
mod http;
mod remote;
mod websocket;

pub use remote::RemoteClient;

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, State, WebSocketUpgrade};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{Listener, ListenerExt};
use futures::FutureExt;
use futures::future::BoxFuture;
use switchboard::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::access::Access;
use self::connection::HttpConnection;
use crate::protocol::{
    DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, ENDPOINT, HEADER_CONNECTION_ID, HEALTH, KEEPALIVE,
    WEBSOCKET_BUFFER,
};

/// What runs one remote connection.
type ConnectionHandler =
    Box<dyn Fn(RemoteClient) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// An ACP server over HTTP: its access rules and limits. [`serve`](AcpServer::serve) runs it.
///
/// ```no_run
/// use switchboard_acp::schema::InitializeRequest;
/// use switchboard_acp::{Agent, initialize};
/// use switchboard_http::AcpServer;
///
/// # async fn run() -> Result<(), switchboard::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// AcpServer::new()
///     .token("s3cret")
///     .serve(listener, |remote| async move {
///         // One agent per remote connection.
///         Agent
///             .builder()
///             .on_receive_request(async |request: InitializeRequest, responder, _cx| {
///                 responder.respond(initialize::agent_response(&request))
///             })
///             .connect_to(remote)
///             .await
///     })
///     .await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AcpServer {
    access: Access,
    idle_timeout: Duration,
    body_limit: usize,
    keepalive: Duration,
}

impl Default for AcpServer {
    fn default() -> Self {
        AcpServer {
            access: Access::default(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            keepalive: KEEPALIVE,
        }
    }
}

impl AcpServer {
    /// A server with no token, no browser origin allowed, the default idle timeout
    /// ([`DEFAULT_IDLE_TIMEOUT`]) and body limit ([`DEFAULT_BODY_LIMIT`]).
    pub fn new() -> Self {
        AcpServer::default()
    }

    /// Requires `Authorization: Bearer TOKEN` on every request, the WebSocket upgrade
    /// included (401 otherwise, and for a request that repeats the header).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.access.token = Some(token.into());
        self
    }

    /// Allows requests with `Origin: ORIGIN` (a browser's, from that page). Requests with any
    /// other `Origin` are refused 403; requests without one are not a browser's, and pass.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.access.allowed_origins.push(origin.into());
        self
    }

    /// How long a Streamable HTTP connection with no open stream and no request lives on.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How often an SSE stream gets a `:` comment and a WebSocket a ping ([`KEEPALIVE`] by
    /// default). A WebSocket peer from which nothing has come for two of these (a live one
    /// answers each ping) is taken to be gone, and its connection ends.
    pub fn keepalive(mut self, every: Duration) -> Self {
        self.keepalive = every;
        self
    }

    /// The largest message taken, in a POST body (413 above) or a WebSocket message.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Serves ACP at [`ENDPOINT`] on `listener`, running `on_connection` for each remote
    /// connection, until the listener fails.
    pub async fn serve<F, Fut>(self, listener: TcpListener, on_connection: F) -> Result<(), Error>
    where
        F: Fn(RemoteClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.serve_until(listener, on_connection, std::future::pending())
            .await
    }

    /// Like [`serve`](AcpServer::serve), until `shutdown` resolves: then it takes no more
    /// requests, ends every remote connection (each handler's connection reads the end of
    /// its input), and returns once every handler has returned.
    pub async fn serve_until<F, Fut>(
        self,
        listener: TcpListener,
        on_connection: F,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error>
    where
        F: Fn(RemoteClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        // Small messages go out at once: Nagle's wait for an acknowledgement would hold each
        // answer for the peer's delayed ACK.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY could not be set");
            }
        });
        self.run(listener, on_connection, shutdown).await
    }

    /// Like [`serve_until`](AcpServer::serve_until), over TLS (`https://`, `wss://`; feature
    /// `rustls`).
    #[cfg(feature = "rustls")]
    pub async fn serve_tls_until<F, Fut>(
        self,
        listener: crate::tls::TlsListener,
        on_connection: F,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error>
    where
        F: Fn(RemoteClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.run(listener, on_connection, shutdown).await
    }

    async fn run<L, F, Fut>(
        self,
        listener: L,
        on_connection: F,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error>
    where
        L: Listener,
        L::Addr: std::fmt::Debug,
        F: Fn(RemoteClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let (stopping, stop) = watch::channel(false);
        let shared = Arc::new(Shared {
            access: self.access,
            idle_timeout: self.idle_timeout,
            body_limit: self.body_limit,
            keepalive: self.keepalive,
            handler: Box::new(move |remote| on_connection(remote).boxed()),
            connections: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
            stop,
            ids: IdSource::default(),
        });
        let router = Router::new()
            .route(ENDPOINT, get(on_get).post(on_post).delete(on_delete))
            .route(HEALTH, get(on_health))
            .with_state(Arc::clone(&shared));
        let stopped = Arc::clone(&shared);
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Before the server waits for its responses to finish: a connection's
                // streams finish when the connection ends.
                let _ = stopping.send(true);
                stopped.end_connections();
            })
            .await;
        shared.end_connections();
        shared.handlers_returned().await;
        served.map_err(|error| Error::internal_error(format!("the HTTP server failed: {error}")))
    }
}

async fn on_post(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(refusal) = shared.access.refusal(&parts.headers) {
        return refusal;
    }
    http::post(shared, parts.headers, body).await
}

async fn on_get(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (mut parts, _) = request.into_parts();
    if let Some(refusal) = shared.access.refusal(&parts.headers) {
        return refusal;
    }
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return http::stream(&shared, &parts.headers);
    }
    match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => {
            let limit = shared.body_limit;
            // The connection is named in the 101, as the draft and the official server name it.
            let name = shared.ids.next_websocket();
            let header = HeaderValue::from_str(&name).ok();
            let mut response = upgrade
                .read_buffer_size(WEBSOCKET_BUFFER)
                .write_buffer_size(WEBSOCKET_BUFFER)
                .max_message_size(limit)
                .max_frame_size(limit)
                .on_upgrade(move |socket| async move {
                    let keepalive = shared.keepalive;
                    shared.start(RemoteClient::websocket(socket, limit, keepalive, name));
                });
            if let Some(header) = header {
                response.headers_mut().insert(HEADER_CONNECTION_ID, header);
            }
            response
        }
        Err(rejection) => rejection.into_response(),
    }
}

async fn on_health() -> StatusCode {
    StatusCode::OK
}

async fn on_delete(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(refusal) = shared.access.refusal(&parts.headers) {
        return refusal;
    }
    http::delete(&shared, &parts.headers)
}

/// What the requests of one server share.
pub(crate) struct Shared {
    access: Access,
    idle_timeout: Duration,
    pub(crate) body_limit: usize,
    pub(crate) keepalive: Duration,
    handler: ConnectionHandler,
    connections: Mutex<HashMap<String, Arc<HttpConnection>>>,
    /// The connection handlers and idle timers running.
    tasks: Mutex<JoinSet<()>>,
    /// True once the server stops: every WebSocket's input ends.
    stop: watch::Receiver<bool>,
    ids: IdSource,
}

impl Shared {
    pub(crate) fn connection(&self, id: &str) -> Option<Arc<HttpConnection>> {
        lock(&self.connections).get(id).cloned()
    }

    pub(crate) fn new_connection_id(&self) -> String {
        self.ids.next_connection()
    }

    /// Runs the handler for `remote`, a WebSocket: its input ends when the server stops.
    fn start(&self, remote: RemoteClient) {
        let mut stop = self.stop.clone();
        let remote = remote.until(async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        });
        let running = (self.handler)(remote);
        lock(&self.tasks).spawn(async move {
            if let Err(error) = running.await {
                tracing::debug!(%error, "a remote connection's handler ended with an error");
            }
        });
    }

    /// Registers `connection` and runs the handler for `remote`, its client, and its idle
    /// timer; the connection ends (and is forgotten) when the handler returns.
    pub(crate) fn start_http(
        self: &Arc<Self>,
        connection: &Arc<HttpConnection>,
        remote: RemoteClient,
    ) {
        let id = connection.id().to_owned();
        lock(&self.connections).insert(id.clone(), Arc::clone(connection));
        let running = (self.handler)(remote);
        let (shared, ended) = (Arc::clone(self), Arc::clone(connection));
        let mut tasks = lock(&self.tasks);
        tasks.spawn(async move {
            match running.await {
                Ok(()) => ended.end(),
                Err(error) => {
                    tracing::debug!(%error, connection = %id, "a remote connection's handler ended with an error");
                    ended.fail(error.to_string());
                }
            }
            lock(&shared.connections).remove(&id);
        });
        tasks.spawn(idle_timer(Arc::clone(connection), self.idle_timeout));
    }

    /// Ends every Streamable HTTP connection (WebSockets end with [`Shared::stop`]).
    fn end_connections(&self) {
        let connections: Vec<_> = lock(&self.connections).values().cloned().collect();
        for connection in connections {
            connection.end();
        }
    }

    /// Waits for every connection handler (and idle timer) to return.
    async fn handlers_returned(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        while tasks.join_next().await.is_some() {}
    }
}

/// Ends `connection` once it has had no open stream and no request for `idle_timeout`.
async fn idle_timer(connection: Arc<HttpConnection>, idle_timeout: Duration) {
    let ended = connection.ended();
    let watch = async {
        loop {
            let deadline = connection.idle_deadline(idle_timeout);
            match deadline {
                Some(deadline) if deadline <= Instant::now() => {
                    tracing::debug!(connection = connection.id(), "idle past its timeout: ended");
                    connection.end();
                    return;
                }
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                None => tokio::time::sleep(idle_timeout).await,
            }
        }
    };
    futures::future::select(Box::pin(ended), Box::pin(watch)).await;
}

/// Names connections: a random part drawn once per server, and a count.
struct IdSource {
    random: u64,
    count: AtomicU64,
}

impl Default for IdSource {
    fn default() -> Self {
        IdSource {
            random: RandomState::new().hash_one(Instant::now()),
            count: AtomicU64::new(1),
        }
    }
}

impl IdSource {
    fn next_connection(&self) -> String {
        let count = self.count.fetch_add(1, Ordering::Relaxed);
        let unguessable = RandomState::new().hash_one((self.random, count));
        format!("{:016x}{unguessable:016x}-{count}", self.random)
    }

    fn next_websocket(&self) -> String {
        format!("websocket-{}", self.count.fetch_add(1, Ordering::Relaxed))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
