//! The client: a component that connects a [`Client`]-role connection to an agent served
//! over the network, over either profile.

mod http;
mod sse;
mod ws;

use std::time::Duration;

use std::future::Future;

use futures::channel::mpsc;
use futures::{FutureExt, SinkExt};
use switchboard::transport::{Transport, TransportConfig};
use switchboard::wire::FrameEvent;
use switchboard::{ConnectTo, Error};
use switchboard_acp::Client;
use tokio::sync::watch;

use crate::protocol::DEFAULT_BODY_LIMIT;

/// How long reaching the agent may take before the connection fails, naming the URL.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many messages from the agent wait for the connection to read them.
const INCOMING_QUEUE: usize = 32;

/// How many messages wait to be sent to the agent.
const OUTGOING_QUEUE: usize = 32;

/// An agent served over the network, as the component a [`Client`]-role connection connects
/// to: `ws://` and `wss://` URLs are reached over WebSocket, `http://` ones over Streamable
/// HTTP unless [`websocket`](RemoteAgent::websocket) says otherwise.
///
/// ```no_run
/// use switchboard_acp::schema::{InitializeRequest, ProtocolVersion};
/// use switchboard_acp::{AcpClient, Client};
/// use switchboard_http::RemoteAgent;
///
/// # async fn run() -> Result<(), switchboard::Error> {
/// let agent = RemoteAgent::new("http://127.0.0.1:8080/acp").token("s3cret");
/// Client
///     .builder()
///     .connect_with(agent, async |cx| {
///         cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST)).block_task().await?;
///         Ok(())
///     })
///     .await
/// # }
/// ```
#[derive(Debug)]
pub struct RemoteAgent {
    url: String,
    over_websocket: bool,
    token: Option<String>,
    body_limit: usize,
    /// Root certificates trusted beside the system's (feature `rustls`).
    #[cfg(feature = "rustls")]
    roots: Vec<crate::tls::pki_types::CertificateDer<'static>>,
    /// Dropped when the connection made with this has said goodbye (or never was): what
    /// [`finished`](RemoteAgent::finished) waits for.
    farewell: watch::Sender<()>,
}

/// A copy for another connection, with a [`finished`](RemoteAgent::finished) of its own.
impl Clone for RemoteAgent {
    fn clone(&self) -> Self {
        RemoteAgent {
            url: self.url.clone(),
            over_websocket: self.over_websocket,
            token: self.token.clone(),
            body_limit: self.body_limit,
            #[cfg(feature = "rustls")]
            roots: self.roots.clone(),
            farewell: watch::Sender::new(()),
        }
    }
}

impl RemoteAgent {
    /// The agent at `url` (the endpoint itself, `…/acp`).
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let over_websocket = url.starts_with("ws://") || url.starts_with("wss://");
        RemoteAgent {
            url,
            over_websocket,
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            #[cfg(feature = "rustls")]
            roots: Vec::new(),
            farewell: watch::Sender::new(()),
        }
    }

    /// Reaches the agent over WebSocket, whatever the URL's scheme.
    pub fn websocket(mut self) -> Self {
        self.over_websocket = true;
        self
    }

    /// Sends `Authorization: Bearer TOKEN` with every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The largest message taken from the agent.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Trusts `root` (a DER certificate) beside the system's roots, for `https://` and
    /// `wss://` (feature `rustls`): a server's own certificate authority, or its self-signed
    /// certificate.
    #[cfg(feature = "rustls")]
    pub fn root_certificate(
        mut self,
        root: crate::tls::pki_types::CertificateDer<'static>,
    ) -> Self {
        self.roots.push(root);
        self
    }

    /// The URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Resolves once the connection made with this has said goodbye to the agent (sent its
    /// `DELETE`, or closed the WebSocket) or given up trying, which is within
    /// [`CONNECT_TIMEOUT`] of the connection's end; at once if it is dropped unused.
    ///
    /// The goodbye is sent by a task of its own after the connection is done: a program
    /// about to return from `main`, which ends the runtime and its tasks, waits for this.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let agent = switchboard_http::RemoteAgent::new("http://127.0.0.1:8080/acp");
    /// let finished = agent.finished();
    /// switchboard_acp::Client.builder().connect_with(agent, async |_cx| Ok(())).await?;
    /// finished.await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn finished(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut farewell = self.farewell.subscribe();
        async move {
            // Only the sender's drop changes anything: an error is the end.
            while farewell.changed().await.is_ok() {}
        }
    }
}

impl ConnectTo<Client> for RemoteAgent {
    fn into_transport(self, _config: &TransportConfig) -> Result<Transport, Error> {
        let (incoming, incoming_rx) = mpsc::channel::<Result<FrameEvent, Error>>(INCOMING_QUEUE);
        let (outgoing, outgoing_rx) = mpsc::channel::<Vec<u8>>(OUTGOING_QUEUE);
        let mut failed = incoming.clone();
        let run = async move {
            let run = if self.over_websocket {
                ws::run(&self, incoming, outgoing_rx).boxed()
            } else {
                http::run(&self, incoming, outgoing_rx).boxed()
            };
            // A failure ends the connection with it; the end of the run ends its input.
            if let Err(error) = run.await {
                let _ = failed.send(Err(error)).await;
            }
        };
        // A task of its own, so that when the connection is done with it (and drops its
        // driver) it still says goodbye: it ends once it has seen the outgoing queue close
        // and has closed the WebSocket or sent the `DELETE`, each within CONNECT_TIMEOUT.
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal_error("a RemoteAgent needs a tokio runtime"))?;
        let running = runtime.spawn(run);
        let driver = async move {
            let _ = running.await;
            Ok(())
        };
        let outgoing =
            outgoing.sink_map_err(|_| Error::connection_closed("the remote agent is gone"));
        Ok(Transport::new(incoming_rx, outgoing).with_driver(driver))
    }
}

/// The error for `url` unreachable or failing: the URL, and the cause with its causes.
fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> Error {
    let mut cause = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    Error::connection_closed(format!("the agent at {url}: {cause}"))
}
