//! The chain's components before and after they start: in process, or programs to spawn.

use std::marker::PhantomData;
use std::path::Path;

use switchboard::transport::Transport;
use switchboard::transport::TransportConfig;
use switchboard::{ChildCommand, ConnectTo, Error, Role};
use switchboard_acp::process::AgentProcess;

/// Turns into a transport when the connection starts.
type Connect = Box<dyn FnOnce(&TransportConfig) -> Result<Transport, Error> + Send>;

/// A component as given to the chain.
pub(crate) enum Component<R> {
    /// Anything a connection of role `R` can connect to (an in-process builder, a channel).
    Connect(Erased<R>),
    /// A program, started when the chain runs.
    Process(ChildCommand),
}

impl<R: Role> Component<R> {
    pub(crate) fn connect(component: impl ConnectTo<R>) -> Self {
        Component::Connect(Erased::new(move |config| component.into_transport(config)))
    }

    /// The program's file name, for a process.
    pub(crate) fn program(&self) -> Option<String> {
        match self {
            Component::Connect(_) => None,
            Component::Process(command) => {
                let program = Path::new(command.program());
                let name = program.file_name().unwrap_or(program.as_os_str());
                Some(name.to_string_lossy().into_owned())
            }
        }
    }

    /// Starts the component: spawns its process, if it is one, described as `name` in
    /// what goes wrong.
    pub(crate) fn start(self, name: &str) -> Result<(Erased<R>, Option<AgentProcess>), Error> {
        match self {
            Component::Connect(connect) => Ok((connect, None)),
            Component::Process(command) => {
                // Which component could not start, as well as which program.
                let named =
                    |error: Error| Error::new(error.code(), format!("{name}: {}", error.message()));
                let mut process = AgentProcess::spawn(command)
                    .map_err(named)?
                    .described_as(name);
                let stdio = process.stdio().map_err(named)?;
                let connect =
                    Erased::new(move |config| <_ as ConnectTo<R>>::into_transport(stdio, config));
                Ok((connect, Some(process)))
            }
        }
    }
}

/// A component of any type, for role `R`.
pub(crate) struct Erased<R> {
    connect: Connect,
    role: PhantomData<fn() -> R>,
}

impl<R> Erased<R> {
    pub(crate) fn new(
        connect: impl FnOnce(&TransportConfig) -> Result<Transport, Error> + Send + 'static,
    ) -> Self {
        Erased {
            connect: Box::new(connect),
            role: PhantomData,
        }
    }

    /// The same component, with `wrap` applied to its transport once it is made.
    pub(crate) fn map(self, wrap: impl FnOnce(Transport) -> Transport + Send + 'static) -> Self {
        let connect = self.connect;
        Erased::new(move |config| connect(config).map(wrap))
    }
}

impl<R: Role> ConnectTo<R> for Erased<R> {
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        (self.connect)(config)
    }
}
