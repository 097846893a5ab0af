//! [`Chain`]: what a conductor runs, and how it is put together.

use std::future::Future;

use switchboard::transport::Transport;
use switchboard::transport::TransportConfig;
use switchboard::{Channel, ChildCommand, ConnectTo, Error};
use switchboard_acp::{Agent, Client, Conductor};

use crate::component::Component;
use crate::mcp_bridge::McpBridgeRelay;
use crate::trace::Trace;

/// A chain of proxies in front of an agent, shown to the editor as one agent.
///
/// Components are given in order from the editor's side: [`proxy`](Chain::proxy) (in
/// process, or any component) and [`proxy_process`](Chain::proxy_process) (a program) add
/// one each, after those already added. The agent comes first, in [`Chain::new`] or
/// [`Chain::spawn`]. Nothing starts until the chain runs: [`run`](Chain::run) serves an
/// editor on a component of its choice (stdio, for the `switchboard-conductor` program),
/// and a chain is itself a component a client can connect to.
///
/// See the crate's docs for what running it does, and an example.
pub struct Chain {
    pub(crate) proxies: Vec<Component<Conductor>>,
    pub(crate) agent: Component<Client>,
    pub(crate) trace: Option<Trace>,
    pub(crate) max_outgoing_bytes: Option<usize>,
    pub(crate) mcp_bridge: Option<McpBridgeRelay>,
}

impl Chain {
    /// A chain ending at `agent`, a component the conductor connects to as a client: an
    /// in-process `Agent.builder()`, a channel, the stdio of a process you started.
    pub fn new(agent: impl ConnectTo<Client>) -> Chain {
        Chain {
            proxies: Vec::new(),
            agent: Component::connect(agent),
            trace: None,
            max_outgoing_bytes: None,
            mcp_bridge: None,
        }
    }

    /// A chain ending at the agent `command` starts. It is spawned when the chain runs, and
    /// killed (with everything it started) when the chain ends.
    pub fn spawn(agent: ChildCommand) -> Chain {
        Chain {
            proxies: Vec::new(),
            agent: Component::Process(agent),
            trace: None,
            max_outgoing_bytes: None,
            mcp_bridge: None,
        }
    }

    /// Adds a proxy after those already added: a component the conductor connects to as its
    /// conductor (an in-process `Proxy.builder()`, say).
    #[must_use]
    pub fn proxy(mut self, proxy: impl ConnectTo<Conductor>) -> Chain {
        self.proxies.push(Component::connect(proxy));
        self
    }

    /// Adds a proxy that `command` starts when the chain runs, after those already added.
    #[must_use]
    pub fn proxy_process(mut self, command: ChildCommand) -> Chain {
        self.proxies.push(Component::Process(command));
        self
    }

    /// Writes every message crossing every hop to `trace` (see [`Trace`]).
    #[must_use]
    pub fn trace(mut self, trace: Trace) -> Chain {
        self.trace = Some(trace);
        self
    }

    /// Sets the queue size of every hop, toward the editor and toward each component, to
    /// `bytes` (the default is the core's
    /// [`DEFAULT_MAX_OUTGOING_BYTES`](switchboard::builder::DEFAULT_MAX_OUTGOING_BYTES)).
    ///
    /// The conductor takes a message from the editor in only while every hop below it holds
    /// less than half of `bytes`, and one from the agent while every hop above it does: a
    /// slow reader slows the end that sends, and nothing is dropped. It never stops reading a
    /// proxy (that could close a circle of waits, since a proxy writes back what it reads), so
    /// a hop may hold more than `bytes` while proxies pass on what they hold; no hop holds
    /// more than `bytes × (proxies + 2)`, and a proxy that sends past that ends the chain,
    /// named in the error.
    #[must_use]
    pub fn max_outgoing_bytes(mut self, bytes: usize) -> Chain {
        self.max_outgoing_bytes = Some(bytes);
        self
    }

    /// Lets an agent without `mcpCapabilities.acp` use the MCP servers the editor and the
    /// proxies offer over ACP: the conductor claims the capability for it, and gives it each
    /// such server as a stdio server that runs `relay` (see [`crate::mcp_bridge`]).
    ///
    /// Without it (the default for a chain made in a library), the conductor passes
    /// `initialize` and the sessions' `mcpServers` through unchanged. The
    /// `switchboard-conductor` program sets it to
    /// [`McpBridgeRelay::this_program`]; a library user gives a path to
    /// `switchboard-conductor` or calls
    /// [`relay_if_asked`](crate::mcp_bridge::relay_if_asked) in their own `main`.
    #[must_use]
    pub fn mcp_bridge(mut self, relay: McpBridgeRelay) -> Chain {
        self.mcp_bridge = Some(relay);
        self
    }

    /// How many proxies there are.
    pub fn proxy_count(&self) -> usize {
        self.proxies.len()
    }

    /// Starts every component and serves the editor at the other end of `editor` until it
    /// hangs up, or until a component ends.
    ///
    /// # Errors
    ///
    /// If a component cannot be started, that error, before anything is read. If a
    /// component ends while the editor is still there, a connection-closed error that names
    /// it and says what became of it (exit status, the end of its stderr); every request
    /// the editor was waiting on got the same error first. `Ok` when the editor hung up.
    pub fn run(
        self,
        editor: impl ConnectTo<Agent>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        crate::run::run(self, editor, std::future::pending())
    }

    /// Like [`run`](Chain::run), and when `stop` resolves the chain ends as if the editor had
    /// hung up, without waiting for answers: every component's stdin is closed, each process
    /// gets its grace to exit and is then killed with its process group, and this returns
    /// `Ok`. The `switchboard-conductor` program stops this way on SIGTERM, SIGINT and SIGHUP.
    ///
    /// ```
    /// use switchboard::Channel;
    /// use switchboard_acp::{Agent, Client};
    /// use switchboard_conductor::Chain;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (editor, chain_end) = Channel::duplex();
    /// let chain = Chain::new(Agent.builder());
    /// // The editor stays connected; the chain is told to stop.
    /// let editor = Client.builder().connect_with(editor, async |cx| {
    ///     cx.input_ended().await;
    ///     Ok(())
    /// });
    /// let (ran, _) = futures::join!(chain.run_until(chain_end, async {}), editor);
    /// ran.unwrap();
    /// # }
    /// ```
    pub fn run_until(
        self,
        editor: impl ConnectTo<Agent>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        crate::run::run(self, editor, stop)
    }
}

/// A chain is an agent to whoever connects to it: the chain runs, in process, for as long as
/// that connection does.
impl ConnectTo<Client> for Chain {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let (client_end, editor_end) = Channel::duplex();
        let transport = <Channel as ConnectTo<Client>>::into_transport(client_end, config)?;
        Ok(transport.with_driver(self.run(editor_end)))
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            // The program the chain starts as its agent, if it starts one itself.
            .field("agent_program", &self.agent.program())
            .field("proxies", &self.proxies.len())
            .field("traced", &self.trace.is_some())
            .field("mcp_bridge", &self.mcp_bridge)
            .finish_non_exhaustive()
    }
}
