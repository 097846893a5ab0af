//! This process's stdin and stdout as a transport (feature `tokio`).

use super::{ByteStreams, ConnectTo, Framing, Transport, TransportConfig};
use crate::{Error, Role};

/// This process's standard input and output: how a peer started as a subprocess (an ACP
/// agent, an LSP server) talks to its parent. Framed by newlines unless [`Stdio::framing`]
/// or [`Builder::framing`](crate::Builder::framing) says otherwise (an LSP server:
/// [`Framing::ContentLength`]). Needs a tokio runtime.
///
/// ```no_run
/// use switchboard::{Stdio, UntypedMessage, UntypedRole};
///
/// #[tokio::main]
/// async fn main() -> Result<(), switchboard::Error> {
///     UntypedRole
///         .builder()
///         .on_receive_request(async |request: UntypedMessage, responder, _cx| {
///             responder.respond(serde_json::json!(request.method()))
///         })
///         .connect_to(Stdio::new())
///         .await
/// }
/// ```
#[derive(Debug, Default)]
pub struct Stdio {
    /// `None`: the connection's framing.
    framing: Option<Framing>,
}

impl Stdio {
    /// Stdin and stdout of this process.
    pub fn new() -> Self {
        Stdio { framing: None }
    }

    /// Reads and writes with `framing`, whatever the connection's (see
    /// [`ByteStreams::framing`]).
    #[must_use]
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = Some(framing);
        self
    }
}

impl<R: Role> ConnectTo<R> for Stdio {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let mut streams = ByteStreams::tokio(tokio::io::stdout(), tokio::io::stdin());
        if let Some(framing) = self.framing {
            streams = streams.framing(framing);
        }
        <ByteStreams<_, _> as ConnectTo<R>>::into_transport(streams, config)
    }
}
