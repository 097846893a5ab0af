//! [`Supervisor`]: the component that stands for a worker, and its settings.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use switchboard::cancel::Cancellation;
use switchboard::transport::{ChildCommand, Transport, TransportConfig};
use switchboard::{Channel, ConnectTo, ConnectionTo, Dispatch, Error, Role, UntypedRole};

use crate::call::{self, StatusMethods};
use crate::contract::{Contracts, Replay};
use crate::generation::Source;
use crate::handshake::Handshake;
use crate::health::{Health, WorkerState};
use crate::policy::RestartPolicy;
use crate::recovery::Recovery;
use crate::run::{self, Loop};
use crate::state::{Rules, Shared};
use crate::telemetry::{self, TelemetrySnapshot};
use crate::watch::Watch;

/// The method the supervisor answers with its [`Health`], unless told another.
pub const HEALTH_METHOD: &str = "$/supervisor/health";

/// The method the supervisor answers with its [`TelemetrySnapshot`], unless told another.
pub const TELEMETRY_METHOD: &str = "$/supervisor/telemetry";

/// How many times a safe call is sent to a new generation before it fails.
pub const DEFAULT_MAX_REPLAYS: u32 = 3;

/// A component that stands for a worker: connect a builder to it as to the worker itself.
/// Behind it, the worker runs in generations; the caller's connection stays up across them.
///
/// - A generation that crashes, hangs (no answer within the
///   [call timeout](Supervisor::call_timeout)) or fails its handshake is replaced by a new
///   one after the [restart policy](RestartPolicy)'s backoff; past its limit the supervisor
///   gives up and every call fails with a [`Fault`](crate::Fault) that says why.
/// - The caller's [`Handshake`] is captured once and replayed to each new generation.
/// - A call lost with its generation is sent to the next one if its [`Replay`] contract is
///   [`Safe`](Replay::Safe), else failed with a fault naming the method and generation.
/// - It answers [`HEALTH_METHOD`] and [`TELEMETRY_METHOD`] itself, and
///   [`SupervisorStatus`] reads the same from code.
/// - With [`watch_executable`](Supervisor::watch_executable), a changed executable is rolled
///   out: the running generation finishes its calls, new ones wait for the next.
///
/// ```no_run
/// use switchboard::{ChildCommand, UntypedMessage, UntypedRole};
/// use switchboard_supervisor::{Handshake, Replay, Supervisor};
///
/// # async fn run() -> Result<(), switchboard::Error> {
/// let supervisor = Supervisor::command(ChildCommand::new("my-mcp-server"))
///     .handshake(Handshake::default().request("initialize").notification("notifications/initialized"))
///     .contract("tools/list", Replay::Safe);
/// let status = supervisor.status();
/// UntypedRole
///     .builder()
///     .connect_with(supervisor, async move |worker| {
///         let hello = serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "me", "version": "1"}});
///         worker.send_request(UntypedMessage::new("initialize", hello)?).block_task().await?;
///         println!("generation {}", status.health().generation);
///         Ok(())
///     })
///     .await
/// # }
/// ```
pub struct Supervisor {
    source: Source,
    program: Option<PathBuf>,
    policy: RestartPolicy,
    handshake: Handshake,
    contracts: Contracts,
    call_timeout: Option<Duration>,
    max_replays: u32,
    watch_every: Option<Duration>,
    telemetry_log: Option<PathBuf>,
    cancellation: Option<Cancellation>,
    recovery: Option<Arc<dyn Recovery>>,
    methods: StatusMethods,
    status: SupervisorStatus,
}

impl Supervisor {
    /// Supervises `command`: each generation is a new child process, spoken to over stdio.
    pub fn command(command: ChildCommand) -> Self {
        let program = Some(PathBuf::from(command.program()));
        Supervisor::from_source(Source::Command(command), program)
    }

    /// Supervises what `factory` makes: it is called with each new generation's number and
    /// returns the component to speak to it over (an in-process worker, a socket).
    pub fn spawning<C, F>(mut factory: F) -> Self
    where
        C: ConnectTo<UntypedRole>,
        F: FnMut(u64) -> Result<C, Error> + Send + 'static,
    {
        let factory = move |generation| {
            factory(generation).and_then(|component| {
                <C as ConnectTo<UntypedRole>>::into_transport(
                    component,
                    &TransportConfig::default(),
                )
            })
        };
        Supervisor::from_source(Source::Factory(Box::new(factory)), None)
    }

    fn from_source(source: Source, program: Option<PathBuf>) -> Self {
        Supervisor {
            source,
            program,
            policy: RestartPolicy::default(),
            handshake: Handshake::default(),
            contracts: Contracts::default(),
            call_timeout: None,
            max_replays: DEFAULT_MAX_REPLAYS,
            watch_every: None,
            telemetry_log: None,
            cancellation: None,
            recovery: None,
            methods: StatusMethods {
                health: HEALTH_METHOD.to_owned(),
                telemetry: TELEMETRY_METHOD.to_owned(),
            },
            status: SupervisorStatus::default(),
        }
    }

    /// When a crashed generation is replaced, and when the supervisor gives up.
    #[must_use]
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The protocol's handshake, captured and replayed.
    #[must_use]
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        self.handshake = handshake;
        self
    }

    /// All the replay contracts at once.
    #[must_use]
    pub fn contracts(mut self, contracts: Contracts) -> Self {
        self.contracts = contracts;
        self
    }

    /// The replay contract of one operation (see [`Contracts`]).
    #[must_use]
    pub fn contract(mut self, operation: impl Into<String>, replay: Replay) -> Self {
        self.contracts = self.contracts.contract(operation, replay);
        self
    }

    /// A call not answered within `timeout` finds its generation hung: the generation is
    /// replaced, and the call replayed or failed by its contract. None by default.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// How many times a safe call is sent to a new generation before it fails
    /// ([`DEFAULT_MAX_REPLAYS`] unless told).
    #[must_use]
    pub fn max_replays(mut self, replays: u32) -> Self {
        self.max_replays = replays;
        self
    }

    /// Looks at the command's executable `every` so often; once it has changed (and then
    /// stayed the same for one more look), rolls out a new generation. Only for
    /// [`command`](Supervisor::command).
    #[must_use]
    pub fn watch_executable(mut self, every: Duration) -> Self {
        self.watch_every = Some(every);
        self
    }

    /// Appends one JSON line per finished call to the file at `path`.
    #[must_use]
    pub fn telemetry_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.telemetry_log = Some(path.into());
        self
    }

    /// The protocol's cancel convention, on both sides: a call the caller cancels is
    /// cancelled at the worker.
    #[must_use]
    pub fn cancellation(mut self, convention: Cancellation) -> Self {
        self.cancellation = Some(convention);
        self
    }

    /// The protocol's state to restore into each new generation (see [`Recovery`]).
    #[must_use]
    pub fn recovery(mut self, recovery: impl Recovery) -> Self {
        self.recovery = Some(Arc::new(recovery));
        self
    }

    /// The methods the supervisor answers with its health and its telemetry, instead of
    /// [`HEALTH_METHOD`] and [`TELEMETRY_METHOD`].
    #[must_use]
    pub fn status_methods(
        mut self,
        health: impl Into<String>,
        telemetry: impl Into<String>,
    ) -> Self {
        self.methods = StatusMethods {
            health: health.into(),
            telemetry: telemetry.into(),
        };
        self
    }

    /// A handle that reads this supervisor's health and telemetry once it runs.
    pub fn status(&self) -> SupervisorStatus {
        self.status.clone()
    }

    /// The supervisor's side of the caller's connection, until the caller has gone.
    async fn run(self, end: Channel) -> Result<(), Error> {
        let log = self.telemetry_log.map(telemetry::start_log);
        let rules = Rules {
            handshake: self.handshake,
            contracts: self.contracts,
            call_timeout: self.call_timeout,
            max_replays: self.max_replays,
            recovery: self.recovery,
        };
        let shared = Arc::new(Shared::new(rules, log));
        let _ = self.status.shared.set(Arc::clone(&shared));
        let watch = match (self.watch_every, &self.program) {
            (Some(every), Some(program)) => Some(Watch::new(program, every)),
            _ => None,
        };
        let setup = Loop {
            source: self.source,
            policy: self.policy,
            watch,
            cancellation: self.cancellation,
        };
        let methods = self.methods;
        let dispatching = Arc::clone(&shared);
        let mut builder = UntypedRole.builder().name("supervisor");
        if let Some(cancellation) = self.cancellation {
            builder = builder.cancellation(cancellation);
        }
        builder
            .on_receive_dispatch(
                move |message: Dispatch, caller: ConnectionTo<UntypedRole>| {
                    call::dispatch(&dispatching, &methods, message, &caller)
                },
            )
            .connect_with(end, async move |caller| {
                run::supervise(shared, setup, caller).await;
                Ok(())
            })
            .await
    }
}

impl<R: Role> ConnectTo<R> for Supervisor {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let (caller_end, supervisor_end) = Channel::duplex();
        let transport = <Channel as ConnectTo<R>>::into_transport(caller_end, config)?;
        Ok(transport.with_driver(self.run(supervisor_end)))
    }
}

/// Reads a [`Supervisor`]'s health and telemetry, from anywhere, while it runs.
#[derive(Clone, Default)]
pub struct SupervisorStatus {
    shared: Arc<OnceLock<Arc<Shared>>>,
}

impl SupervisorStatus {
    /// The health now (generation 0, starting, before the supervisor runs).
    pub fn health(&self) -> Health {
        match self.shared.get() {
            Some(shared) => shared.health(),
            None => Health {
                generation: 0,
                restarts: 0,
                rollouts: 0,
                state: WorkerState::Starting,
                last_fault: None,
                in_flight: 0,
            },
        }
    }

    /// The telemetry now (empty before the supervisor runs).
    pub fn telemetry(&self) -> TelemetrySnapshot {
        self.shared
            .get()
            .map(|shared| shared.telemetry())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for SupervisorStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorStatus")
            .field("health", &self.health())
            .finish()
    }
}
