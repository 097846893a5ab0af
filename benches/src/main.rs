//! `switchboard-bench`: every workload, every implementation, one process, one table.
//!
//! ```text
//! cargo run --release -- [--quick] [--runtime multi|current] [--runs N] [--only WORKLOAD]
//!                        [--impl NAME] [--tracing LEVEL]
//! ```
//!
//! See the README beside `Cargo.toml` for what each figure means.

mod chain;
mod common;
mod flood;
mod measure;
mod raw;
mod remote;
mod report;
mod sdk;
mod soak;
mod supervise;
mod switchboard;

use std::process::ExitCode;
use std::sync::Arc;

use common::{Countdown, Over};
use measure::Measured;
use report::{Impl, Row, SessionsRow};
use tokio::runtime::Runtime;

/// How the runtime is built for every case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RuntimeKind {
    /// Multi-thread, 2 workers (this machine has 2 cores).
    Multi,
    /// Current-thread: client and server share one thread.
    Current,
}

struct Options {
    quick: bool,
    runtime: RuntimeKind,
    runs: usize,
    only: Option<String>,
    implementation: Option<String>,
    /// Set in the child process that measures one flood case (see `flood.rs`).
    flood_child: Option<usize>,
    /// Set in the child process that serves the agent on its stdio (see `remote.rs`).
    agent_child: bool,
    /// A `tracing` subscriber listening at this level (output discarded), to measure what
    /// listening costs; none by default.
    tracing: Option<tracing::Level>,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            runtime: RuntimeKind::Multi,
            runs: 0,
            only: None,
            implementation: None,
            flood_child: None,
            agent_child: false,
            tracing: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--runtime" => {
                    options.runtime = match args.next().as_deref() {
                        Some("multi") => RuntimeKind::Multi,
                        Some("current") => RuntimeKind::Current,
                        other => return Err(format!("--runtime multi|current, not {other:?}")),
                    }
                }
                "--runs" => {
                    options.runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or("--runs takes a positive number")?
                }
                "--only" => options.only = Some(args.next().ok_or("--only takes a workload")?),
                "--impl" => {
                    options.implementation =
                        Some(args.next().ok_or("--impl takes a part of a name")?)
                }
                "--flood-child" => {
                    options.flood_child = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .ok_or("--flood-child takes a case number")?,
                    )
                }
                "--tracing" => {
                    options.tracing = Some(
                        args.next()
                            .and_then(|level| level.parse().ok())
                            .ok_or("--tracing takes a level: error, warn, info, debug, trace")?,
                    )
                }
                remote::AGENT_CHILD => options.agent_child = true,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        if options.runs == 0 {
            options.runs = if options.quick { 1 } else { 5 };
        }
        Ok(options)
    }

    fn wants(&self, workload: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| workload.contains(only))
    }

    fn measures(&self, implementation: Impl) -> bool {
        let name = implementation.name().to_lowercase();
        self.implementation
            .as_deref()
            .is_none_or(|wanted| name.contains(&wanted.to_lowercase()))
    }

    /// Messages for a workload: the full count, a tenth with `--quick`, and a tenth again for
    /// the SDK, which is an order of magnitude slower (the table shows the count).
    fn count(&self, full: u64, implementation: Impl) -> u64 {
        let quick = if self.quick { full / 10 } else { full };
        match implementation {
            Impl::Sdk(_) => quick / 10,
            _ => quick,
        }
    }

    fn runtime(&self) -> Runtime {
        let mut builder = match self.runtime {
            RuntimeKind::Multi => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            RuntimeKind::Current => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build().expect("a tokio runtime")
    }
}

const USAGE: &str = "usage: switchboard-bench [--quick] [--runtime multi|current] [--runs N]
                         [--only WORKLOAD] [--impl NAME] [--tracing LEVEL]
workloads: sequential, pipelined, notifications, flood, sessions, chain, remote, soak,
           supervisor
NAME: any part of an implementation's name (raw, switchboard, sdk, channel, bytestreams)";

const IMPLEMENTATIONS: [Impl; 5] = [
    Impl::Raw,
    Impl::Switchboard(Over::ByteStreams),
    Impl::Switchboard(Over::Channel),
    Impl::Sdk(Over::ByteStreams),
    Impl::Sdk(Over::Channel),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    Sequential,
    Pipelined,
    Notifications,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Sequential => "sequential",
            Workload::Pipelined => "pipelined",
            Workload::Notifications => "notifications",
        }
    }

    fn full_count(self) -> u64 {
        match self {
            Workload::Sequential => 200_000,
            Workload::Pipelined => 500_000,
            Workload::Notifications => 1_000_000,
        }
    }
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "runtime: {}; {} run(s) per case, median shown",
        match options.runtime {
            RuntimeKind::Multi => "tokio multi-thread, 2 workers",
            RuntimeKind::Current => "tokio current-thread",
        },
        options.runs
    );
    if let Some(level) = options.tracing {
        // Formats every event it takes, as a logging subscriber does, into nothing.
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::sink)
            .init();
        eprintln!("tracing: a fmt subscriber at {level}, output discarded");
    }
    let mut failed = false;

    if options.agent_child {
        return remote::agent_child();
    }
    if let Some(case) = options.flood_child {
        return flood::child(&options, case);
    }
    if options.wants("flood") {
        match flood::run_all(&options) {
            Ok(rows) => report::print_flood(&rows),
            Err(error) => {
                eprintln!("flood: {error}");
                failed = true;
            }
        }
    }

    let mut rows = Vec::new();
    for workload in [
        Workload::Sequential,
        Workload::Pipelined,
        Workload::Notifications,
    ] {
        if !options.wants(workload.name()) {
            continue;
        }
        for implementation in IMPLEMENTATIONS {
            if !options.measures(implementation) {
                continue;
            }
            let n = options.count(workload.full_count(), implementation);
            let mut runs = Vec::new();
            for _ in 0..options.runs {
                match run_once(&options, workload, implementation, n) {
                    Ok(measured) => runs.push(measured),
                    Err(error) => {
                        eprintln!("{} {}: {error}", workload.name(), implementation.name());
                        failed = true;
                        break;
                    }
                }
            }
            if !runs.is_empty() {
                let row = Row {
                    workload: workload.name(),
                    implementation,
                    measured: measure::median(runs),
                };
                eprintln!("  {}", report::progress(&row));
                rows.push(row);
            }
        }
    }
    if !rows.is_empty() {
        report::print_throughput(&rows);
    }

    if options.wants("sessions") && options.measures(Impl::Switchboard(Over::ByteStreams)) {
        match sessions(&options) {
            Ok(rows) => report::print_sessions(&rows),
            Err(error) => {
                eprintln!("sessions: {error}");
                failed = true;
            }
        }
    }
    if options.wants("chain") && options.measures(Impl::Switchboard(Over::Channel)) {
        match chain::run_all(&options) {
            Ok(rows) => report::print_chain(&rows),
            Err(error) => {
                eprintln!("chain: {error}");
                failed = true;
            }
        }
    }
    if options.wants("remote") && options.measures(Impl::Switchboard(Over::Channel)) {
        match remote::run_all(&options) {
            Ok((rows, idle)) => report::print_remote(&rows, &idle),
            Err(error) => {
                eprintln!("remote: {error}");
                failed = true;
            }
        }
    }
    if options.wants("supervisor") && options.measures(Impl::Switchboard(Over::Channel)) {
        match supervise::run_all(&options) {
            Ok(rows) => report::print_supervisor(&rows),
            Err(error) => {
                eprintln!("supervisor: {error}");
                failed = true;
            }
        }
    }
    if options.wants("soak") && options.measures(Impl::Switchboard(Over::Channel)) {
        match soak::run(&options) {
            Ok(soak) => report::print_soak(&soak),
            Err(error) => {
                eprintln!("soak: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `client` and `server` as two tasks on a fresh runtime and returns the client's result.
fn run_pair<T, E>(
    options: &Options,
    server: impl Future<Output = Result<(), E>> + Send + 'static,
    client: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, String>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let runtime = options.runtime();
    runtime.block_on(async {
        let server = tokio::spawn(server);
        let client = tokio::spawn(client);
        let output = client.await.map_err(|e| e.to_string())?;
        let output = output.map_err(|e| e.to_string())?;
        // The client's end is closed; the server finishes at end of input.
        match server.await {
            Ok(Ok(())) => Ok(output),
            Ok(Err(error)) => Err(format!("server: {error}")),
            Err(panic) => Err(format!("server: {panic}")),
        }
    })
}

fn run_once(
    options: &Options,
    workload: Workload,
    implementation: Impl,
    n: u64,
) -> Result<Measured, String> {
    let ticks = Countdown::new(n);
    let served = Arc::clone(&ticks);
    match implementation {
        Impl::Raw => {
            let (client, server) = common::pipes();
            let server = raw::serve(server, served);
            match workload {
                Workload::Sequential => run_pair(options, server, raw::sequential(client, n)),
                Workload::Pipelined => run_pair(options, server, raw::pipelined(client, n)),
                Workload::Notifications => {
                    run_pair(options, server, raw::notifications(client, n, ticks))
                }
            }
        }
        Impl::Switchboard(over) => {
            let (client, server) = switchboard::ends(over);
            let server = switchboard::serve(server, served, None);
            match workload {
                Workload::Sequential => {
                    run_pair(options, server, switchboard::sequential(client, n))
                }
                Workload::Pipelined => run_pair(options, server, switchboard::pipelined(client, n)),
                Workload::Notifications => run_pair(
                    options,
                    server,
                    switchboard::notifications(client, n, ticks),
                ),
            }
        }
        Impl::Sdk(over) => {
            let (client, server) = sdk::ends(over);
            let server = sdk::serve(server, served, None);
            match workload {
                Workload::Sequential => run_pair(options, server, sdk::sequential(client, n)),
                Workload::Pipelined => run_pair(options, server, sdk::pipelined(client, n)),
                Workload::Notifications => {
                    run_pair(options, server, sdk::notifications(client, n, ticks))
                }
            }
        }
    }
}

/// Workload 5: Switchboard over ByteStreams, one live session versus 10 000.
fn sessions(options: &Options) -> Result<Vec<SessionsRow>, String> {
    let n = options.count(200_000, Impl::Switchboard(Over::ByteStreams));
    let mut rows = Vec::new();
    for sessions in [1, 10_000] {
        let mut runs = Vec::new();
        for _ in 0..options.runs {
            let ticks = Countdown::new(n);
            let (client, server) = switchboard::ends(Over::ByteStreams);
            runs.push(run_pair(
                options,
                switchboard::serve_sessions(server, Arc::clone(&ticks)),
                switchboard::sessions(client, sessions, n, ticks),
            )?);
        }
        let row = SessionsRow {
            sessions,
            measured: measure::median(runs),
        };
        eprintln!("  {}", report::sessions_progress(&row));
        rows.push(row);
    }
    Ok(rows)
}
