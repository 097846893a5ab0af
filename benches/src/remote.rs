//! Workload 8, Switchboard only: what the network transport costs (`switchboard-http`).
//!
//! The agent is the chain workload's (one `session/update` and `end_turn` per prompt: three
//! messages). Each of `C` client connections opens a session and sends its share of the
//! prompts one at a time, all connections at once, over one of four transports:
//!
//! - `Channel`: in process, whole frames, no bytes: the floor;
//! - `ByteStreams`: newline-delimited bytes over an in-memory pipe, what an agent on stdio
//!   costs without the kernel;
//! - stdio: the same agent in a child process of its own (this program, `--agent-child`),
//!   one per connection, over its stdin and stdout;
//! - `WebSocket` and `Streamable HTTP`: `AcpServer` and `RemoteAgent` over loopback TCP.
//!
//! Everything, client and server, runs in this one process; the CPU figure is both sides'.
//! Memory: `IDLE` connections are opened (initialized, a session each) and held; the growth
//! of resident memory divided by their number is what one idle connection costs, both ends.

use std::sync::Arc;

use futures::future::try_join_all;
use switchboard::transport::ChildStdio;
use switchboard::transport::{Transport as SwitchboardTransport, TransportConfig};
use switchboard::{ByteStreams, Channel, ChildCommand, ChildProcess, ConnectTo, Error};
use switchboard_acp::Client;
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::io::DuplexStream;
use tokio::net::TcpListener;
use tokio::sync::{Barrier, oneshot};
use tokio_util::compat::Compat;

use crate::Options;
use crate::chain::{agent_builder, ended, open_session, prompt};
use crate::common::pipes;
use crate::measure::{self, Measured, Memory, Span};

/// The argument that makes this program the stdio agent of a child process.
pub const AGENT_CHILD: &str = "--agent-child";

/// Serves the agent on this process's stdio until its input ends: the child of the stdio
/// case.
pub fn agent_child() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let served = runtime.map_err(Error::from).and_then(|runtime| {
        runtime.block_on(agent_builder().connect_to(switchboard::Stdio::new()))
    });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agent child: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prompts in one run, shared among the connections (a tenth with `--quick`).
const PROMPTS: u64 = 40_000;

/// The numbers of connections prompting at once.
const CONNECTIONS: [usize; 2] = [1, 100];

/// Connections held open for the memory figure (a quarter with `--quick`).
const IDLE: usize = 400;

/// The transports compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Channel,
    ByteStreams,
    Stdio,
    WebSocket,
    StreamableHttp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Channel => "Channel",
            Transport::ByteStreams => "ByteStreams (pipe)",
            Transport::Stdio => "stdio (child process)",
            Transport::WebSocket => "WebSocket (loopback)",
            Transport::StreamableHttp => "Streamable HTTP (loopback)",
        }
    }
}

const TRANSPORTS: [Transport; 5] = [
    Transport::Channel,
    Transport::ByteStreams,
    Transport::Stdio,
    Transport::WebSocket,
    Transport::StreamableHttp,
];

/// One case: prompts/s and CPU over `connections` connections.
pub struct RemoteRow {
    pub transport: Transport,
    pub connections: usize,
    pub measured: Measured,
}

/// Resident memory per idle connection, both ends.
pub struct IdleRow {
    pub transport: Transport,
    pub connections: usize,
    pub bytes_each: f64,
}

/// Every transport with every number of connections, then the idle memory of each.
pub fn run_all(options: &Options) -> Result<(Vec<RemoteRow>, Vec<IdleRow>), String> {
    let prompts = if options.quick { PROMPTS / 10 } else { PROMPTS };
    let mut rows = Vec::new();
    for connections in CONNECTIONS {
        for transport in TRANSPORTS {
            let mut runs = Vec::with_capacity(options.runs);
            for _ in 0..options.runs {
                let run = options
                    .runtime()
                    .block_on(prompting(transport, connections, prompts))
                    .map_err(|error| format!("{} x{connections}: {error}", transport.name()))?;
                runs.push(run);
            }
            let row = RemoteRow {
                transport,
                connections,
                measured: measure::median(runs),
            };
            eprintln!(
                "  remote         {:<28} x{:<4} {:>9.0} prompts/s",
                transport.name(),
                connections,
                row.measured.per_second()
            );
            rows.push(row);
        }
    }
    let idle = if options.quick { IDLE / 4 } else { IDLE };
    let mut idle_rows = Vec::new();
    // A child process's memory is not this process's: stdio has no figure here.
    for transport in TRANSPORTS.into_iter().filter(|t| *t != Transport::Stdio) {
        let bytes_each = options
            .runtime()
            .block_on(holding(transport, idle))
            .map_err(|error| format!("idle {}: {error}", transport.name()))?;
        idle_rows.push(IdleRow {
            transport,
            connections: idle,
            bytes_each,
        });
    }
    Ok((rows, idle_rows))
}

/// What the clients connect to: an agent per connection, reached over `transport`.
enum Agents {
    /// Made anew for each client, in process.
    InProcess(Transport),
    /// Served over loopback: the URL, and what stops the server.
    Served {
        url: String,
        websocket: bool,
        stop: oneshot::Sender<()>,
        server: tokio::task::JoinHandle<Result<(), Error>>,
    },
}

impl Agents {
    async fn start(transport: Transport) -> Result<Agents, Error> {
        match transport {
            Transport::Channel | Transport::ByteStreams | Transport::Stdio => {
                Ok(Agents::InProcess(transport))
            }
            Transport::WebSocket | Transport::StreamableHttp => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}/acp", listener.local_addr()?);
                let (stop, stopped) = oneshot::channel::<()>();
                let server = tokio::spawn(AcpServer::new().serve_until(
                    listener,
                    |remote| agent_builder().connect_to(remote),
                    async {
                        let _ = stopped.await;
                    },
                ));
                let websocket = transport == Transport::WebSocket;
                Ok(Agents::Served {
                    url,
                    websocket,
                    stop,
                    server,
                })
            }
        }
    }

    /// The component one client connects to; an agent is started for it, in process or (for
    /// stdio) as a child process, kept in `children` until the run is over.
    fn component(&self, children: &mut Vec<ChildProcess>) -> Result<Component, Error> {
        Ok(match self {
            Agents::InProcess(Transport::Stdio) => {
                let program = std::env::current_exe()?;
                let mut child = ChildProcess::spawn(ChildCommand::new(program).arg(AGENT_CHILD))?;
                let stdio = child.stdio()?;
                children.push(child);
                Component::Stdio(stdio)
            }
            Agents::InProcess(Transport::Channel) => {
                let (client, server) = Channel::duplex();
                tokio::spawn(agent_builder().connect_to(server));
                Component::Channel(client)
            }
            Agents::InProcess(_) => {
                let (client, server) = pipes();
                let server = ByteStreams::tokio(server.write, server.read);
                tokio::spawn(agent_builder().connect_to(server));
                Component::Bytes(ByteStreams::tokio(client.write, client.read))
            }
            Agents::Served { url, websocket, .. } => {
                let remote = RemoteAgent::new(url.clone());
                Component::Remote(if *websocket {
                    remote.websocket()
                } else {
                    remote
                })
            }
        })
    }

    async fn stop(self) -> Result<(), Error> {
        if let Agents::Served { stop, server, .. } = self {
            let _ = stop.send(());
            server
                .await
                .map_err(|panic| Error::internal_error(panic.to_string()))??;
        }
        Ok(())
    }
}

/// What a client connects to, whichever the transport.
enum Component {
    Channel(Channel),
    Bytes(ByteStreams<Compat<DuplexStream>, Compat<DuplexStream>>),
    Stdio(ChildStdio),
    Remote(RemoteAgent),
}

impl ConnectTo<Client> for Component {
    fn into_transport(self, config: &TransportConfig) -> Result<SwitchboardTransport, Error> {
        match self {
            Component::Channel(channel) => ConnectTo::<Client>::into_transport(channel, config),
            Component::Bytes(bytes) => ConnectTo::<Client>::into_transport(bytes, config),
            Component::Stdio(stdio) => ConnectTo::<Client>::into_transport(stdio, config),
            Component::Remote(remote) => remote.into_transport(config),
        }
    }
}

/// `connections` clients at once, each opening a session and sending its share of `prompts`
/// one at a time; measured from when every session is open to the last answer.
async fn prompting(
    transport: Transport,
    connections: usize,
    prompts: u64,
) -> Result<Measured, Error> {
    let agents = Agents::start(transport).await?;
    let each = prompts / connections as u64;
    // Every client waits here with its session open, and so does the measurement.
    let ready = Arc::new(Barrier::new(connections + 1));
    let mut children = Vec::new();
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let ready = Arc::clone(&ready);
        let component = agents.component(&mut children)?;
        clients.push(tokio::spawn(Client.builder().connect_with(
            component,
            async move |cx| {
                let session = open_session(&cx).await?;
                ready.wait().await;
                for _ in 0..each {
                    ended(prompt(&cx, &session).await?)?;
                }
                Ok::<_, Error>(())
            },
        )));
    }
    ready.wait().await;
    let span = Span::start();
    let mut results = Vec::with_capacity(clients.len());
    for client in clients {
        results.push(
            client
                .await
                .map_err(|panic| Error::internal_error(panic.to_string()))?,
        );
    }
    let measured = span.finish(each * connections as u64);
    results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    agents.stop().await?;
    for mut child in children {
        child.end().await?;
    }
    Ok(measured)
}

/// Opens `count` connections over `transport` (initialized, a session each), holds them,
/// and returns the growth of resident memory per connection.
async fn holding(transport: Transport, count: usize) -> Result<f64, Error> {
    let agents = Agents::start(transport).await?;
    let before = Memory::now().rss;
    let opened = Arc::new(Barrier::new(count + 1));
    let (release, released) = tokio::sync::watch::channel(false);
    let mut children = Vec::new();
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let opened = Arc::clone(&opened);
        let mut released = released.clone();
        let component = agents.component(&mut children)?;
        clients.push(tokio::spawn(Client.builder().connect_with(
            component,
            async move |cx| {
                open_session(&cx).await?;
                opened.wait().await;
                let _ = released.wait_for(|released| *released).await;
                Ok::<_, Error>(())
            },
        )));
    }
    opened.wait().await;
    let after = Memory::now().rss;
    let _ = release.send(true);
    try_join_all(clients)
        .await
        .map_err(|panic| Error::internal_error(panic.to_string()))?
        .into_iter()
        .collect::<Result<Vec<()>, Error>>()?;
    agents.stop().await?;
    Ok(after.saturating_sub(before) as f64 / count as f64)
}
