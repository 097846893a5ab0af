//! The client at the other end of a remote connection, as a component.

use std::future::Future;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use switchboard::transport::{Transport, TransportConfig};
use switchboard::wire::FrameEvent;
use switchboard::{ConnectTo, Error};
use switchboard_acp::Agent;

use super::connection::{HttpConnection, STREAM_QUEUE};

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

    pub(crate) fn websocket(socket: WebSocket, max_message: usize, name: String) -> Self {
        RemoteClient {
            profile: Profile::WebSocket {
                socket: Box::new(socket),
                max_message,
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
            } => {
                let (writer, reader) = (*socket).split();
                let incoming = reader.filter_map(move |message| {
                    std::future::ready(match message {
                        Ok(Message::Text(text)) => {
                            let bytes = text.as_str().as_bytes().to_vec();
                            FrameEvent::from_whole_message(bytes, max_message).map(Ok)
                        }
                        // One message per text frame; binary frames carry none.
                        Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_)) => None,
                        Ok(Message::Close(_)) => None,
                        Err(error) => Some(Err(Error::connection_closed(format!(
                            "the WebSocket failed: {error}"
                        )))),
                    })
                });
                let stop = self
                    .stop
                    .unwrap_or_else(|| Box::pin(std::future::pending()));
                let incoming = incoming.take_until(stop);
                let outgoing = writer
                    .sink_map_err(|error| {
                        Error::connection_closed(format!("the WebSocket failed: {error}"))
                    })
                    .with(|message: Vec<u8>| {
                        std::future::ready(
                            String::from_utf8(message)
                                .map(|text| Message::Text(text.into()))
                                .map_err(|_| Error::internal_error("a message that is not UTF-8")),
                        )
                    });
                Ok(Transport::new(incoming, outgoing))
            }
        }
    }
}
