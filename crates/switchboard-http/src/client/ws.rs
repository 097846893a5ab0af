//! The WebSocket profile, client side: one message per text frame, both ways.

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use switchboard::Error;
use switchboard::wire::FrameEvent;
#[cfg(feature = "rustls")]
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{CONNECT_TIMEOUT, RemoteAgent, unreachable};
use crate::protocol::WEBSOCKET_BUFFER;

/// Connects to `agent` and carries messages both ways until either side ends.
pub(super) async fn run(
    agent: &RemoteAgent,
    mut incoming: mpsc::Sender<Result<FrameEvent, Error>>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
) -> Result<(), Error> {
    let url = websocket_url(&agent.url);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| unreachable(&agent.url, &error))?;
    if let Some(token) = &agent.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::invalid_params("the token cannot go in a header"))?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(WEBSOCKET_BUFFER)
        .write_buffer_size(WEBSOCKET_BUFFER)
        .max_message_size(Some(agent.body_limit))
        .max_frame_size(Some(agent.body_limit));
    #[cfg(feature = "rustls")]
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        connector(agent, &url)?,
    );
    #[cfg(not(feature = "rustls"))]
    let connecting = {
        refuse_tls(agent, &url)?;
        tokio_tungstenite::connect_async_with_config(request, Some(config), true)
    };
    let (socket, _) = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(connected) => connected.map_err(|error| unreachable(&agent.url, &error))?,
        Err(_) => {
            return Err(Error::connection_closed(format!(
                "the agent at {}: no answer within {CONNECT_TIMEOUT:?}",
                agent.url
            )));
        }
    };
    let (mut writer, mut reader) = socket.split();
    let limit = agent.body_limit;
    let url = agent.url.clone();
    // The agent's messages are read by a task of their own: a connection that is done
    // reading never holds up the close below.
    let mut reading = tokio::spawn(async move {
        while let Some(message) = reader.next().await {
            match message.map_err(|error| unreachable(&url, &error))? {
                Message::Text(text) => {
                    let frame = text.as_str().as_bytes().to_vec();
                    if let Some(event) = FrameEvent::from_whole_message(frame, limit)
                        && incoming.send(Ok(event)).await.is_err()
                    {
                        break;
                    }
                }
                Message::Close(_) => break,
                // One message per text frame; binary frames carry none.
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
        Ok::<(), Error>(())
    });
    let ended = loop {
        tokio::select! {
            message = outgoing.next() => {
                let Some(message) = message else { break Ok(()) };
                let Ok(text) = String::from_utf8(message) else {
                    break Err(Error::internal_error("a message that is not UTF-8"));
                };
                if let Err(error) = writer.send(Message::text(text)).await {
                    break Err(unreachable(&agent.url, &error));
                }
            }
            read = &mut reading => {
                break read.unwrap_or_else(|error| {
                    Err(Error::internal_error(format!("the WebSocket reader failed: {error}")))
                });
            }
        }
    };
    reading.abort();
    // However it ended, the close handshake is done.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, writer.close()).await;
    ended
}

/// The TLS to speak for `wss://` (with the feature `rustls`).
#[cfg(feature = "rustls")]
fn connector(agent: &RemoteAgent, url: &str) -> Result<Option<Connector>, Error> {
    if !url.starts_with("wss://") {
        return Ok(None);
    }
    Ok(Some(Connector::Rustls(crate::tls::client_config(
        &agent.roots,
    )?)))
}

/// Without the feature `rustls`, `wss://` cannot be reached.
#[cfg(not(feature = "rustls"))]
fn refuse_tls(agent: &RemoteAgent, url: &str) -> Result<(), Error> {
    if url.starts_with("wss://") {
        return Err(Error::invalid_params(format!(
            "{} needs TLS: build switchboard-http with the feature `rustls`",
            agent.url
        )));
    }
    Ok(())
}

/// `url` with a WebSocket scheme: `http` becomes `ws`, `https` becomes `wss`.
fn websocket_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        url.to_owned()
    }
}
