//! This process's stdin and stdout as a transport (feature `tokio`).

use super::{ByteStreams, ConnectTo, Framing, Transport, TransportConfig};
use crate::{Error, Role};

/// This process's standard input and output: how a peer started as a subprocess (an ACP
/// agent, an LSP server) talks to its parent. Framed by newlines unless [`Stdio::framing`]
/// or [`Builder::framing`](crate::Builder::framing) says otherwise (an LSP server:
/// [`Framing::ContentLength`]). Needs a tokio runtime with IO enabled (`#[tokio::main]`,
/// `enable_all`).
///
/// On unix, a stdin or stdout that is a pipe (as a parent that spawned this process gives
/// it) is read and written through the runtime's reactor, in non-blocking mode; anything
/// else (a terminal, a file) through tokio's own stdin and stdout, which hand each read and
/// write to a blocking thread. The pipe saves those threads' wake-ups: a few per message,
/// which were most of what a hop between processes cost.
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

/// Read by the reactor when it is a pipe, by a blocking thread otherwise.
type Input = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// Written by the reactor when it is a pipe, by a blocking thread otherwise.
type Output = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

fn stdin() -> Input {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        // A duplicate of fd 0: the connection closes it when done, fd 0 stays open.
        let pipe = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(tokio::net::unix::pipe::Receiver::from_owned_fd);
        if let Ok(pipe) = pipe {
            return Box::new(pipe);
        }
    }
    Box::new(tokio::io::stdin())
}

fn stdout() -> Output {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let pipe = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(tokio::net::unix::pipe::Sender::from_owned_fd);
        if let Ok(pipe) = pipe {
            return Box::new(pipe);
        }
    }
    Box::new(tokio::io::stdout())
}

impl<R: Role> ConnectTo<R> for Stdio {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let mut streams = ByteStreams::tokio(stdout(), stdin());
        if let Some(framing) = self.framing {
            streams = streams.framing(framing);
        }
        <ByteStreams<_, _> as ConnectTo<R>>::into_transport(streams, config)
    }
}
