//! Serving chains over the network: `switchboard-conductor --listen HOST:PORT`.
//!
//! The conductor serves ACP at `http://HOST:PORT/acp`, over both profiles of
//! [`switchboard_http`] (Streamable HTTP and WebSocket), and runs one chain per remote
//! connection: the proxies and an agent of its own, started when the connection opens and
//! ended when it closes. Chains share nothing, so one client's agent never sees another's
//! sessions.
//!
//! Where it listens decides who may run the agent, so the host is never a default: loopback
//! (`127.0.0.1`, `[::1]`) reaches this machine only. Any other address without a token lets
//! whoever reaches it start the agent, with the conductor's rights; [`listen`] says so on
//! stderr.
//!
//! Stopping (the program's SIGTERM or SIGINT) ends every chain as the stdio conductor ends
//! its one: without waiting for answers, every component's stdin is closed, each process gets
//! its grace and is then killed with what it started. [`listen`] returns once every chain
//! has, and the program exits 0: being told to stop is how a server ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard::Error;
use switchboard_http::tls::{TlsListener, certificates_from_pem_file, private_key_from_pem_file};
use switchboard_http::{AcpServer, ENDPOINT, RemoteClient};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{Invocation, ListenOptions};

/// Serves `invocation`'s chain at `options.address` until `stop` resolves, then ends every
/// live chain and returns once they all have. `listening` is told the address bound (the
/// real port, for port 0) once connections are being accepted.
///
/// # Errors
///
/// A proxy command that cannot be split (before anything listens), or an address that
/// cannot be bound, naming it; or the server failing. A chain that ends with an error (its
/// agent could not start, a component died) ends that connection only, logged as a warning.
pub async fn listen(
    invocation: Invocation,
    options: &ListenOptions,
    listening: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // A chain that cannot be put together never will be: say so now, not per connection.
    invocation.chain()?;
    let listener = TcpListener::bind(&options.address).await.map_err(|error| {
        Error::internal_error(format!("cannot listen on {}: {error}", options.address))
    })?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() && options.token.is_none() {
        tracing::warn!(
            "listening on {address}, not a loopback address, without --token: whoever reaches \
             it can run the agent"
        );
    }
    let mut server = AcpServer::new();
    if let Some(token) = &options.token {
        server = server.token(token);
    }
    for origin in &options.allowed_origins {
        server = server.allow_origin(origin);
    }
    if let Some(timeout) = options.idle_timeout {
        server = server.idle_timeout(timeout);
    }

    // The server's shutdown ends each remote connection's input, which a chain would take
    // as an editor hanging up and answer what it was asked first; told to stop, it ends at
    // once instead, as the stdio conductor does on a signal.
    let (stopping, stopped) = watch::channel(false);
    let invocation = Arc::new(invocation);
    let serve_one = move |remote: RemoteClient| {
        let invocation = Arc::clone(&invocation);
        let mut stopped = stopped.clone();
        async move {
            let name = remote.name().to_owned();
            let stop = async move {
                // An error means the sender is gone, which happens only once the server is.
                let _ = stopped.wait_for(|stopping| *stopping).await;
            };
            let ran = match invocation.chain() {
                Ok(chain) => chain.run_until(remote, stop).await,
                Err(error) => Err(error),
            };
            if let Err(error) = &ran {
                tracing::warn!(connection = %name, "its chain ended: {}", error.message());
            }
            ran
        }
    };
    let stop = async move {
        stop.await;
        let _ = stopping.send(true);
    };
    match &options.tls {
        Some((certificate, key)) => {
            let listener = TlsListener::new(
                listener,
                certificates_from_pem_file(certificate)?,
                private_key_from_pem_file(key)?,
            )?;
            listening(address);
            server.serve_tls_until(listener, serve_one, stop).await
        }
        None => {
            listening(address);
            server.serve_until(listener, serve_one, stop).await
        }
    }
}

/// The URL of the endpoint served at `address`, as `listening on` shows it: `https` with
/// `tls`.
pub fn endpoint_url(address: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{address}{ENDPOINT}")
}
