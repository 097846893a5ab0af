//! The client at the other end of a remote connection, as a component.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use switchboard::transport::{Transport, TransportConfig};
use switchboard::wire::FrameEvent;
use switchboard::{ConnectTo, Error};
use switchboard_acp::Agent;

use super::connection::{HttpConnection, STREAM_QUEUE};
use super::websocket;

/// A remote client, as the component an [`Agent`]-role connection (an agent, or a
/// conductor's chain) connects to: what the client sends is its input, what the connection
/// sends reaches the client. Given to the server's connection handler, one per remote
/// connection (see [`AcpServer::serve`](crate::AcpServer::serve)).
pub struct RemoteClient {
    profile: Profile,
    /// The connection's name on the server (`Acp-Connection-Id`), or the WebSocket's.
    name: String,
    /// Ends the input early (the server stops), if set.
    stop: Option<BoxFuture<'static, ()>>,
}

enum Profile {
    Http {
        connection: Arc<HttpConnection>,
        incoming: mpsc::Receiver<Result<FrameEvent, Error>>,
    },
    WebSocket {
        // Boxed: a socket is much larger than the other profile's handles.
        socket: Box<WebSocket>,
        max_message: usize,
        keepalive: Duration,
    },
}

impl RemoteClient {
    pub(crate) fn http(
        connection: Arc<HttpConnection>,
        incoming: mpsc::Receiver<Result<FrameEvent, Error>>,
    ) -> Self {
        let name = format!("http connection {}", connection.id());
        RemoteClient {
            profile: Profile::Http {
                connection,
                incoming,
            },
            name,
            stop: None,
        }
    }

    pub(crate) fn websocket(
        socket: WebSocket,
        max_message: usize,
        keepalive: Duration,
        name: String,
    ) -> Self {
        RemoteClient {
            profile: Profile::WebSocket {
                socket: Box::new(socket),
                max_message,
                keepalive,
            },
            name,
            stop: None,
        }
    }

    /// Ends the client's input when `stop` resolves, as if it had hung up.
    pub(crate) fn until(mut self, stop: impl Future<Output = ()> + Send + 'static) -> Self {
        self.stop = Some(Box::pin(stop));
        self
    }

    /// What the connection is: its profile and its id or peer, for logs.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteClient")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ConnectTo<Agent> for RemoteClient {
    fn into_transport(self, _config: &TransportConfig) -> Result<Transport, Error> {
        match self.profile {
            Profile::Http {
                connection,
                incoming,
            } => {
                // The connection's messages go to the router, which puts each on its stream.
                let (sender, mut routed) = mpsc::channel::<Vec<u8>>(STREAM_QUEUE);
                let outgoing = sender
                    .sink_map_err(|_| Error::connection_closed("the remote connection has ended"));
                let router = async move {
                    while let Some(message) = routed.next().await {
                        connection.route(message).await;
                    }
                    connection.end();
                    Ok(())
                };
                Ok(Transport::new(incoming, outgoing).with_driver(router))
            }
            Profile::WebSocket {
                socket,
                max_message,
                keepalive,
            } => {
                let stop = self
                    .stop
                    .unwrap_or_else(|| Box::pin(std::future::pending()));
                websocket::transport(*socket, max_message, keepalive, stop)
            }
        }
    }
}
