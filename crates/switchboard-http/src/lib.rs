//! ACP over the network: the Streamable HTTP and WebSocket transport of ACP's draft
//! proposal, as the official `agent-client-protocol-http` crate speaks it, server and client.
//!
//! One endpoint, `/acp`, takes both profiles:
//!
//! - **Streamable HTTP**: the client POSTs each message. `initialize` is answered in its
//!   response (200) with an `Acp-Connection-Id` header; every other POST is accepted (202)
//!   and answered later, on server-sent events: one stream for the connection, and one per
//!   session (`Acp-Session-Id`), each opened with a `GET`. `DELETE` ends the connection.
//! - **WebSocket**: a `GET` upgraded to a WebSocket carries one message per text frame,
//!   both ways.
//!
//! [`AcpServer`] serves the endpoint, handing each remote connection to your code as a
//! [`RemoteClient`], a component an [`Agent`](switchboard_acp::Agent)-role connection (an
//! agent, a conductor's chain) connects to. [`RemoteAgent`] is the other side: a component a
//! [`Client`](switchboard_acp::Client)-role connection connects to.
//!
//! With the feature `rustls`, the client also reaches `https://` and `wss://` URLs, and the
//! server serves TLS with a [`tls::TlsListener`].
//!
//! Everything is bounded: a message larger than the body limit is refused (413, or the end
//! of a WebSocket), and every queue between the network and the connection has a fixed
//! length, so a slow reader slows the agent down instead of growing a buffer.
//!
//! `GET /health` answers 200 while the server runs, for a load balancer's check.

mod client;
mod protocol;
mod server;
#[cfg(feature = "rustls")]
pub mod tls;

pub use client::{CONNECT_TIMEOUT, RemoteAgent};
pub use protocol::{
    DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, ENDPOINT, HEADER_CONNECTION_ID, HEADER_SESSION_ID,
    HEALTH, KEEPALIVE,
};
pub use server::{AcpServer, RemoteClient};
