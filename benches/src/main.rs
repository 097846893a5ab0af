//! `switchboard-bench`: every workload, every implementation, one process, one table.
//!
//! ```text
//! cargo run --release -- [--quick] [--runtime multi|current] [--runs N] [--only WORKLOAD]
//!                        [--impl NAME] [--tracing LEVEL]
//! ```
//!
//! See the README beside `Cargo.toml` for what each figure means.

mod chain;
mod chain_processes;
mod common;
mod flood;
mod measure;
mod official_chain;
mod raw;
mod remote;
mod report;
mod sdk;
mod soak;
mod stream;
mod supervise;
mod switchboard;
mod throughput;

use std::process::ExitCode;
use std::sync::Arc;

use common::{Countdown, Over};
use report::{Impl, SessionsRow};
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
    /// Set in the child process that serves the echo worker on its stdio (see
    /// `supervise.rs`).
    echo_child: bool,
    /// Set in the child process that runs the official conductor, with its own arguments
    /// (see `chain_processes.rs`).
    official_child: Option<Vec<String>>,
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
            echo_child: false,
            official_child: None,
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
                supervise::ECHO_CHILD => options.echo_child = true,
                chain_processes::OFFICIAL_CHILD => {
                    options.official_child = Some(args.by_ref().collect());
                }
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
        self.measures_named(&implementation.name())
    }

    /// Whether `--impl` (if given) is part of `name`, or all of it after a leading `=`, in
    /// any case.
    fn measures_named(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.implementation.as_deref().is_none_or(|wanted| {
            let wanted = wanted.to_lowercase();
            match wanted.strip_prefix('=') {
                Some(whole) => name == whole,
                None => name.contains(&wanted),
            }
        })
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

/// What `--quick` prints first: its rows last tens of milliseconds, one round each.
pub const SMOKE_TEST: &str = "SMOKE TEST (--quick): a tenth of the messages, one round, \
    rows of tens of milliseconds. It shows that every workload runs, not how fast: \
    do not quote these figures.";

const USAGE: &str = "usage: switchboard-bench [--quick] [--runtime multi|current] [--runs N]
                         [--only WORKLOAD] [--impl NAME] [--tracing LEVEL]
workloads: sequential, pipelined, notifications, flood, sessions, chain, chain-processes,
           remote, soak, supervisor, stream
NAME: any part of an implementation's name (raw, switchboard, sdk, channel, bytestreams)
      or of a chain's (\"conductor, 1\", official, direct); all of it after a leading =
      (\"=conductor, 1 proxy\")";

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if let Some(args) = options.official_child {
        return chain_processes::official_child(args);
    }
    if options.echo_child {
        return supervise::echo_child();
    }
    if options.quick && options.flood_child.is_none() && !options.agent_child {
        // On stdout too, so a table pasted from the output carries it.
        println!("{SMOKE_TEST}");
        eprintln!("{SMOKE_TEST}");
    }
    eprintln!(
        "runtime: {}; {} round(s) per row, median shown",
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
    } else {
        // The official conductor's crates turn on `tracing`'s `log` feature for this whole
        // benchmark (feature unification; Switchboard's own workspace does not have it). With
        // it and no subscriber set, every span entered asks the `log` crate for a logger:
        // about 1 % of a message's instructions. Setting the subscriber that listens to
        // nothing, which is what an unset one is, makes the rows measure what a Switchboard
        // build without the feature runs.
        let _ = tracing::dispatcher::set_global_default(tracing::Dispatch::none());
    }
    let mut failed = false;
    // Whether anything matched `--only` and `--impl`: a filter that matches nothing must say
    // so, not print an empty run that looks like a measurement.
    let mut ran = false;

    if options.agent_child {
        return remote::agent_child();
    }
    if let Some(case) = options.flood_child {
        return flood::child(&options, case);
    }
    if options.wants("flood") {
        match flood::run_all(&options) {
            Ok(rows) if rows.is_empty() => {}
            Ok(rows) => {
                ran = true;
                report::print_flood(&rows, options.quick);
            }
            Err(error) => {
                ran = true;
                eprintln!("flood: {error}");
                failed = true;
            }
        }
    }

    let (rows, throughput_failed) = throughput::run_all(&options);
    failed |= throughput_failed;
    if !rows.is_empty() {
        ran = true;
        report::print_throughput(&rows, options.quick);
    }
    if options.wants("notifications") && options.measures(Impl::Raw) {
        ran = true;
        match raw::serde_floor(options.count(1_000_000, Impl::Raw)) {
            Ok(floor) => println!(
                "serde_json alone, one notification encoded and parsed on one thread: \
                 {:.3} µs CPU ({:.0} per second)",
                floor.cpu_micros_per_message(),
                floor.per_second()
            ),
            Err(error) => {
                eprintln!("serde floor: {error}");
                failed = true;
            }
        }
    }

    if options.wants("sessions") && options.measures(Impl::Switchboard(Over::ByteStreams)) {
        ran = true;
        match sessions(&options) {
            Ok(rows) => report::print_sessions(&rows, options.quick),
            Err(error) => {
                eprintln!("sessions: {error}");
                failed = true;
            }
        }
    }
    if options.wants("chain") && chain::measures_any(&options) {
        ran = true;
        match chain::run_all(&options) {
            Ok(rows) => report::print_chain(&rows, options.quick),
            Err(error) => {
                eprintln!("chain: {error}");
                failed = true;
            }
        }
    }
    if options.wants("chain-processes") && options.measures(Impl::Switchboard(Over::Channel)) {
        ran = true;
        match chain_processes::run_all(&options) {
            Ok(rows) => report::print_chain_processes(&rows, options.quick),
            Err(error) => {
                eprintln!("chain as processes: {error}");
                failed = true;
            }
        }
    }
    if options.wants("remote") && options.measures(Impl::Switchboard(Over::Channel)) {
        ran = true;
        match remote::run_all(&options) {
            Ok((rows, idle)) => report::print_remote(&rows, &idle, options.quick),
            Err(error) => {
                eprintln!("remote: {error}");
                failed = true;
            }
        }
    }
    if options.wants("supervisor") && options.measures(Impl::Switchboard(Over::Channel)) {
        ran = true;
        match supervise::run_all(&options) {
            Ok(rows) => report::print_supervisor(&rows, options.quick),
            Err(error) => {
                eprintln!("supervisor: {error}");
                failed = true;
            }
        }
    }
    if options.wants("soak") && options.measures(Impl::Switchboard(Over::Channel)) {
        ran = true;
        match soak::run(&options) {
            Ok(soak) => report::print_soak(&soak, options.quick),
            Err(error) => {
                eprintln!("soak: {error}");
                failed = true;
            }
        }
    }
    if options.wants("stream") && options.measures(Impl::Switchboard(Over::ByteStreams)) {
        ran = true;
        match stream::run_all(&options) {
            Ok(rows) => report::print_stream(&rows, options.quick),
            Err(error) => {
                eprintln!("stream: {error}");
                failed = true;
            }
        }
    }
    if !ran && !failed {
        let filters: Vec<String> = [
            ("--only", &options.only),
            ("--impl", &options.implementation),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.as_deref().map(|value| format!("{flag} {value:?}")))
        .collect();
        eprintln!(
            "nothing measured: no row matches {} (see --help for the names)",
            filters.join(" with ")
        );
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `client` and `server` as two tasks on `runtime` and returns the client's result,
/// once the server has finished too.
fn run_pair<T, E>(
    runtime: &Runtime,
    server: impl Future<Output = Result<(), E>> + Send + 'static,
    client: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, String>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
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

/// Workload 5: Switchboard over ByteStreams, one live session versus 10 000.
fn sessions(options: &Options) -> Result<Vec<SessionsRow>, String> {
    let n = options.count(200_000, Impl::Switchboard(Over::ByteStreams));
    let runtime = options.runtime();
    const SESSIONS: [u64; 2] = [1, 10_000];
    let mut runs: [Vec<measure::Measured>; 2] = Default::default();
    // Interleaved rounds, as the throughput rows: each round runs both cases, in turn.
    for round in 0..options.runs {
        for case in [round % 2, (round + 1) % 2] {
            let sessions = SESSIONS[case];
            // Untimed first, every session reached alike: at least the throughput rows'
            // warm-up, a whole number of rounds over the sessions.
            let warmup = common::WARMUP.div_ceil(sessions) * sessions;
            let ticks = Countdown::new(warmup + n);
            let routed = switchboard::Routed::new(sessions);
            let (client, server) = switchboard::ends(Over::ByteStreams);
            runs[case].push(run_pair(
                &runtime,
                switchboard::serve_sessions(server, Arc::clone(&ticks), Arc::clone(&routed)),
                switchboard::sessions(client, sessions, warmup, n, ticks),
            )?);
            // In every build, release included: each session got exactly its share.
            routed.check(warmup + n)?;
        }
    }
    let mut rows = Vec::new();
    for (sessions, runs) in SESSIONS.into_iter().zip(runs) {
        let row = SessionsRow {
            sessions,
            measured: measure::median(runs),
        };
        eprintln!("  {}", report::sessions_progress(&row));
        rows.push(row);
    }
    Ok(rows)
}
