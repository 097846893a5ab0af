//! Switchboard: typed, actor-based JSON-RPC 2.0 connections.
//!
//! A connection is built for a [`Role`] with a [`Builder`]: typed handlers chained in order,
//! then a component to talk over ([`Channel`], [`Lines`], [`ByteStreams`], [`Stdio`], a
//! [`ChildProcess`]'s stdio, or another builder). Handlers receive a [`ConnectionTo`] for
//! sending; requests sent come back as a [`SentRequest`], whose API keeps a handler from
//! blocking the dispatch loop.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use switchboard::{Channel, Error, JsonRpcRequest, JsonRpcResponse, UntypedRole};
//!
//! #[derive(Serialize, Deserialize, JsonRpcRequest)]
//! #[request(method = "echo", response = Echoed)]
//! struct Echo { text: String }
//!
//! #[derive(Serialize, Deserialize, JsonRpcResponse)]
//! struct Echoed { text: String }
//!
//! # futures::executor::block_on(async {
//! let (client_end, server_end) = Channel::duplex();
//! let server = UntypedRole
//!     .builder()
//!     .on_receive_request(async |echo: Echo, responder, _cx| responder.respond(Echoed { text: echo.text }))
//!     .connect_to(server_end);
//! let client = UntypedRole.builder().connect_with(client_end, async |cx| {
//!     let echoed = cx.send_request(Echo { text: "hello".into() }).block_task().await?;
//!     Ok::<_, Error>(echoed.text)
//! });
//! let (text, served) = futures::join!(client, server);
//! assert_eq!(text.unwrap(), "hello");
//! served.unwrap();
//! # });
//! ```
//!
//! Where things live: [`wire`] cuts frames with a [`Framing`](wire::Framing) and parses and
//! writes them; the actors (transport, incoming, outgoing, task) run inside the one future `connect_to` / `connect_with` returns; [`Responder`]
//! answers incoming requests; [`SentRequest`] waits for answers to ours; [`stream`] answers a
//! request with a stream of items under a credit window. No runtime is needed:
//! the core depends on `futures` only, and the `tokio` feature adds [`Stdio`], child processes
//! ([`ChildCommand`], [`ChildProcess`]) and [`ByteStreams::tokio`].

#![forbid(unsafe_code)]
// Nothing a peer sends may make the library panic; tests may unwrap freely.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate self as switchboard;

mod actor;
pub mod builder;
pub mod cancel;
mod census;
pub mod connection;
pub mod dynamic;
pub mod error;
mod forward;
pub mod handler;
mod id_map;
mod latch;
pub mod message;
mod observe;
pub mod peer;
mod pending;
mod responder;
pub mod role;
pub mod router;
mod sent_request;
mod shared;
pub mod stream;
pub mod timer;
pub mod transport;
pub mod wire;

// The names almost every user needs; everything else is reached through its module.
pub use builder::Builder;
pub use connection::ConnectionTo;
pub use error::{Error, Result};
pub use handler::{Handled, Handler};
pub use message::{
    Dispatch, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RawJson,
    RequestId, UntypedMessage,
};
pub use responder::Responder;
pub use role::{Role, UntypedRole};
pub use sent_request::SentRequest;
pub use transport::{ByteStreams, Channel, ConnectTo, Lines};
#[cfg(feature = "tokio")]
pub use transport::{ChildCommand, ChildProcess, Stdio};

pub use switchboard_macros::{JsonRpcNotification, JsonRpcRequest, JsonRpcResponse};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
