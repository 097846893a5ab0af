//! Serving the relays: the in-process connection their `mcp/message`s travel on, the
//! accepting loop, and each admitted connection.
//!
//! The `mcp/message` requests a bridge sends must enter the chain at the agent's end, as if
//! the agent had sent them. So the bridges share one in-process connection, a *hub*: on its
//! far end an `Agent`-role connection (the [`ConnectionTo<Client>`] that
//! [`serve_bridge`] sends on), on the conductor's end a `Client`-role connection whose
//! handler is the agent node's own [`Route`]. What a bridge sends is routed up exactly like
//! the agent's messages (the same waits for room, the same proxies in the same order), and
//! the answers come back through the same responders. `mcp/message` notifications for a
//! bridged server are sent down the hub (see `intercept`), where the bridge's keyed handler
//! takes them.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use switchboard::{Builder, ByteStreams, Channel, ConnectionTo};
use switchboard_acp::mcp_over_acp::serve_bridge;
use switchboard_acp::{Agent, Client};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::MAX_BRIDGE_CONNECTIONS;
use super::relay::{HELLO_TIMEOUT, Hello, HelloAnswer, read_line_as};
use crate::route::Route;
use crate::state::ChainState;

/// How long accepting pauses after it fails (out of file descriptors, say), so that a
/// failing listener is not polled in a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves the hub, and every relay connection once the listener is bound, until the chain
/// ends; dropping them then closes every connection, and each relay exits.
pub(crate) async fn serve_bridges(state: Arc<ChainState>) {
    let (conductor_end, bridges_end) = Channel::duplex();
    let agent_node = state.agent_node();
    let hub = Builder::new(Client)
        .name("the MCP bridges")
        .with_handler(Route::new(agent_node, Arc::clone(&state)))
        .connect_with(conductor_end, {
            let state = Arc::clone(&state);
            async move |hub: ConnectionTo<Agent>| {
                state.bridges.set_hub(hub);
                state.ended().await;
                Ok(())
            }
        });
    let bridges = Builder::new(Agent)
        .name("MCP bridge")
        .connect_with(bridges_end, {
            let state = Arc::clone(&state);
            async move |acp: ConnectionTo<Client>| {
                accept(&state, &acp).await;
                Ok(())
            }
        });
    let (hub, bridges) = futures::join!(hub, bridges);
    for served in [hub, bridges] {
        if let Err(error) = served {
            tracing::debug!(%error, "the MCP bridges' connection ended");
        }
    }
}

/// Accepts relay connections, at most [`MAX_BRIDGE_CONNECTIONS`] at a time, until the chain
/// ends. Waits, doing nothing, until a rewrite binds the listener.
async fn accept(state: &Arc<ChainState>, acp: &ConnectionTo<Client>) {
    let socket = tokio::select! {
        socket = state.bridges.listener() => socket,
        () = state.ended() => return,
    };
    let listener = match socket.map(TcpListener::from_std) {
        Some(Ok(listener)) => listener,
        Some(Err(error)) => {
            tracing::warn!(%error, "the MCP bridge's listener cannot be used");
            return;
        }
        None => return,
    };
    let mut connections = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() >= MAX_BRIDGE_CONNECTIONS => {
                    refuse_at_once(&stream);
                }
                Ok((stream, _)) => {
                    connections.push(serve_connection(stream, Arc::clone(state), acp.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "the MCP bridge could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(()) = connections.next(), if !connections.is_empty() => {}
            () = state.ended() => return,
        }
    }
}

/// Tells a connection past the cap why it is closed, without waiting for it: the line fits
/// in a fresh socket's buffer, and if it does not, the connection closes all the same.
fn refuse_at_once(stream: &TcpStream) {
    tracing::warn!(
        "refused a connection to the MCP bridge: {MAX_BRIDGE_CONNECTIONS} are open already"
    );
    let answer = HelloAnswer::Refused {
        error: format!("the conductor serves {MAX_BRIDGE_CONNECTIONS} bridges at most"),
    };
    let _ = stream.try_write(answer.line().as_bytes());
}

/// One relay's connection: the handshake, then its MCP connection until the relay hangs up,
/// its session closes, or the chain ends.
async fn serve_connection(stream: TcpStream, state: Arc<ChainState>, acp: ConnectionTo<Client>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let admitted = match tokio::time::timeout(HELLO_TIMEOUT, read_line_as::<Hello>(&mut read)).await
    {
        Ok(Ok(hello)) => state
            .bridges
            .admit(&hello.token, &hello.server_id)
            .map(|closed| (hello.server_id, closed)),
        Ok(Err(problem)) => Err(problem),
        Err(_) => Err(format!("no handshake within {HELLO_TIMEOUT:?}")),
    };
    let (answer, admitted) = match admitted {
        Ok(admitted) => (HelloAnswer::Admitted { ok: true }, Some(admitted)),
        Err(problem) => {
            tracing::warn!(%problem, "refused a connection to the MCP bridge");
            (HelloAnswer::Refused { error: problem }, None)
        }
    };
    let line = answer.line();
    let answered = tokio::time::timeout(HELLO_TIMEOUT, write.write_all(line.as_bytes())).await;
    let (Ok(Ok(())), Some((server_id, closed))) = (answered, admitted) else {
        return;
    };
    // What the relay sent after its line is still in `read`'s buffer, and is read first.
    let bridge = serve_bridge(&acp, server_id.clone(), ByteStreams::tokio(write, read));
    tokio::select! {
        served = bridge => {
            if let Err(error) = served {
                tracing::debug!(server = %server_id, %error, "an MCP bridge connection failed");
            }
        }
        () = closed.raised() => {
            tracing::debug!(server = %server_id, "its session closed: the bridge ends");
        }
    }
}
