//! This process's stdin and stdout as a transport (feature `tokio`).

use super::{ByteStreams, ConnectTo, Transport, TransportConfig};
use crate::{Error, Role};

/// This process's standard input and output, newline framed: how a peer started as a
/// subprocess (an ACP agent, an LSP server) talks to its parent. Needs a tokio runtime.
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
pub struct Stdio(());

impl Stdio {
    /// Stdin and stdout of this process.
    pub fn new() -> Self {
        Stdio(())
    }
}

impl<R: Role> ConnectTo<R> for Stdio {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let streams = ByteStreams::tokio(tokio::io::stdout(), tokio::io::stdin());
        <ByteStreams<_, _> as ConnectTo<R>>::into_transport(streams, config)
    }
}
