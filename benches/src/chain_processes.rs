//! Workload 6 as processes: ours and the official conductor, each a child process running
//! the same proxy and agent programs (`acp_prefix_proxy`, `acp_echo_agent` from `examples/`),
//! driven by the same client (ours) over the conductor's stdio, one prompt at a time.
//!
//! The CPU figure is the whole tree's: the conductor and every process under it (proxies,
//! agent, any launcher in between), read from `/proc/<pid>/stat` at the start and the end of
//! the timed part, while all of them still run. The client's own CPU is left out: it is the
//! same program against both conductors.
//!
//! The official conductor is its own binary's code: `agent-client-protocol-conductor`'s
//! `ConductorArgs::main`, which its `main.rs` calls, run by this benchmark in a child mode
//! ([`OFFICIAL_CHILD`]) on a default multi-thread runtime as its `#[tokio::main]` does. That
//! saves building the crate a second time with `cargo install`; the code is the same.
//!
//! The programs are the main workspace's release builds in its `target/release`. The workload
//! builds them first, with the cargo that built this benchmark (a no-op when they are fresh):
//! a program left over from older code would be measured without a word. Where that cargo is
//! gone (the binary copied elsewhere), the programs found are used, and the benchmark says so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard::{ChildCommand, ChildProcess, ConnectionTo, Error};
use switchboard_acp::schema::{ContentBlock, PromptRequest, SessionNotification};
use switchboard_acp::{Agent, Client};
use tokio::runtime::Runtime;

use crate::Options;
use crate::chain::{ended, open_session};

/// The argument that makes this benchmark the official conductor, the rest of the command
/// line being the conductor's own (`agent PROXY... AGENT`).
pub const OFFICIAL_CHILD: &str = "--official-conductor-child";

/// Prompts per timed run (a tenth with `--quick`), and before it on the same chain.
const PROMPTS: u64 = 5_000;
const WARMUP_PROMPTS: u64 = 500;

/// The proxy counts measured, for each conductor.
const PROXIES: [usize; 3] = [0, 1, 3];

/// Which conductor runs the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conductor {
    Ours,
    Official,
}

impl Conductor {
    pub fn name(self) -> &'static str {
        match self {
            Conductor::Ours => "switchboard-conductor",
            Conductor::Official => "official conductor",
        }
    }
}

/// One conductor with one number of proxies: the median round, every round, and the
/// updates the agent sent per prompt (the echo agent says one per word, and each prefix
/// proxy adds words).
pub struct ProcessRow {
    pub conductor: Conductor,
    pub proxies: usize,
    pub wall: Duration,
    pub prompts: u64,
    /// Whole-tree CPU per prompt, µs, median over the rounds.
    pub tree_cpu_micros: f64,
    pub rounds: Vec<Run>,
    pub updates_per_prompt: f64,
}

impl ProcessRow {
    pub fn per_second(&self) -> f64 {
        self.prompts as f64 / self.wall.as_secs_f64()
    }
}

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub wall: Duration,
    pub tree_cpu: Duration,
    pub updates: u64,
}

impl Run {
    pub fn per_second(&self, prompts: u64) -> f64 {
        prompts as f64 / self.wall.as_secs_f64()
    }
}

/// Runs the official conductor on this process's stdio (the [`OFFICIAL_CHILD`] mode).
pub fn official_child(args: Vec<String>) -> std::process::ExitCode {
    use agent_client_protocol_conductor::ConductorArgs;
    use clap::Parser;
    let args = match ConductorArgs::try_parse_from(
        std::iter::once("agent-client-protocol-conductor".to_owned()).chain(args),
    ) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(args.main()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("official conductor: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The main workspace's root.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the main workspace's release programs are.
fn release_dir() -> PathBuf {
    workspace().join("target/release")
}

/// The cargo commands that build the programs this workload runs.
const BUILDS: [&[&str]; 2] = [
    &[
        "build",
        "--release",
        "-p",
        "switchboard-examples",
        "--example",
        "acp_prefix_proxy",
        "--example",
        "acp_echo_agent",
    ],
    &[
        "build",
        "--release",
        "-p",
        "switchboard-conductor",
        "--bin",
        "switchboard-conductor",
    ],
];

/// Builds the programs from the current code, so that none is measured stale.
fn build_programs() -> Result<(), String> {
    let cargo = env!("CARGO");
    if !std::path::Path::new(cargo).exists() {
        eprintln!(
            "  {cargo} is gone: the programs in {} are used as they are",
            release_dir().display()
        );
        return Ok(());
    }
    for args in BUILDS {
        eprintln!("  cargo {}", args.join(" "));
        let status = std::process::Command::new(cargo)
            .args(args)
            .current_dir(workspace())
            .status()
            .map_err(|error| format!("running cargo: {error}"))?;
        if !status.success() {
            return Err(format!("cargo {} failed ({status})", args.join(" ")));
        }
    }
    Ok(())
}

/// The conductor's command line with `k` proxies in front of the echo agent.
fn command(conductor: Conductor, k: usize) -> Result<ChildCommand, String> {
    let dir = release_dir();
    let programs = [
        dir.join("switchboard-conductor"),
        dir.join("examples/acp_prefix_proxy"),
        dir.join("examples/acp_echo_agent"),
    ];
    if let Some(missing) = programs.iter().find(|program| !program.exists()) {
        let builds: Vec<String> = BUILDS
            .iter()
            .map(|args| format!("cargo {}", args.join(" ")))
            .collect();
        return Err(format!(
            "{} is missing: {}",
            missing.display(),
            builds.join("; ")
        ));
    }
    let [ours, proxy, agent] = programs.map(|p| p.to_string_lossy().into_owned());
    Ok(match conductor {
        Conductor::Ours => {
            let mut command = ChildCommand::new(ours);
            for _ in 0..k {
                command = command.arg("--proxy").arg(&proxy);
            }
            command.arg("--").arg(agent)
        }
        Conductor::Official => {
            let program = std::env::current_exe().map_err(|error| error.to_string())?;
            let mut command = ChildCommand::new(program).arg(OFFICIAL_CHILD).arg("agent");
            for _ in 0..k {
                command = command.arg(&proxy);
            }
            command.arg(agent)
        }
    })
}

/// Every (conductor, proxies) case in interleaved rounds, as `throughput.rs` does.
pub fn run_all(options: &Options) -> Result<Vec<ProcessRow>, String> {
    build_programs()?;
    let runtime = options.runtime();
    let prompts = if options.quick { PROMPTS / 10 } else { PROMPTS };
    let cases: Vec<(Conductor, usize)> = [Conductor::Ours, Conductor::Official]
        .into_iter()
        .flat_map(|c| PROXIES.map(|k| (c, k)))
        .collect();
    let mut rounds: Vec<Vec<Run>> = vec![Vec::new(); cases.len()];
    for round in 0..options.runs {
        for turn in 0..cases.len() {
            let index = (round + turn) % cases.len();
            let (conductor, k) = cases[index];
            let run = run_once(&runtime, conductor, k, prompts)
                .map_err(|error| format!("{} with {k} proxies: {error}", conductor.name()))?;
            rounds[index].push(run);
        }
        eprintln!(
            "  chain as processes round {} of {} done",
            round + 1,
            options.runs
        );
    }
    Ok(cases
        .into_iter()
        .zip(rounds)
        .map(|((conductor, proxies), rounds)| {
            let mut by_rate = rounds.clone();
            by_rate.sort_by_key(|run| std::cmp::Reverse(run.wall));
            let median = by_rate[by_rate.len() / 2];
            let mut cpu: Vec<f64> = rounds
                .iter()
                .map(|run| run.tree_cpu.as_secs_f64() * 1e6 / prompts as f64)
                .collect();
            cpu.sort_by(f64::total_cmp);
            ProcessRow {
                conductor,
                proxies,
                wall: median.wall,
                prompts,
                tree_cpu_micros: cpu[cpu.len() / 2],
                updates_per_prompt: median.updates as f64 / prompts as f64,
                rounds,
            }
        })
        .collect())
}

/// One run: a new conductor tree, warm-up prompts, then `n` timed, one at a time.
fn run_once(runtime: &Runtime, conductor: Conductor, k: usize, n: u64) -> Result<Run, String> {
    let command = command(conductor, k)?;
    runtime.block_on(async move {
        let mut child = ChildProcess::spawn(command).map_err(|e| e.to_string())?;
        let root = child.id().ok_or("the conductor exited at once")?;
        let stdio = child.stdio().map_err(|e| e.to_string())?;
        let updates = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&updates);
        let run = Client
            .builder()
            .on_receive_notification(move |_: SessionNotification, _cx: ConnectionTo<Agent>| {
                counted.fetch_add(1, Ordering::Relaxed);
                std::future::ready(Ok(()))
            })
            .connect_with(stdio, async move |cx| {
                let session = open_session(&cx).await?;
                let prompt = || {
                    let request =
                        PromptRequest::new(session.clone(), vec![ContentBlock::from("hello")]);
                    cx.send_request(request).block_task()
                };
                for _ in 0..WARMUP_PROMPTS {
                    ended(prompt().await?)?;
                }
                let before = updates.load(Ordering::Relaxed);
                let cpu = tree_cpu(root);
                let wall = Instant::now();
                for _ in 0..n {
                    ended(prompt().await?)?;
                }
                let wall = wall.elapsed();
                let tree_cpu = tree_cpu(root).saturating_sub(cpu);
                Ok::<_, Error>(Run {
                    wall,
                    tree_cpu,
                    updates: updates.load(Ordering::Relaxed) - before,
                })
            })
            .await
            .map_err(|error| format!("{error} (stderr: {})", child.stderr_tail()));
        // Closing stdin ends the tree; wait for it so the next run starts on a quiet machine.
        let _ = child.end().await;
        run
    })
}

/// User plus system CPU of process `root` and all its descendants that still run.
fn tree_cpu(root: u32) -> Duration {
    let stats = all_stats();
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (&pid, stat) in &stats {
        children.entry(stat.parent).or_default().push(pid);
    }
    let mut ticks = 0;
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        if let Some(stat) = stats.get(&pid) {
            ticks += stat.ticks;
        }
        next.extend(children.get(&pid).into_iter().flatten());
    }
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

/// What one `/proc/<pid>/stat` says that we use.
struct Stat {
    parent: u32,
    /// utime + stime, in clock ticks.
    ticks: u64,
}

fn all_stats() -> BTreeMap<u32, Stat> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces: count fields after it.
            let fields: Vec<&str> = text[text.rfind(')')? + 2..].split(' ').collect();
            // Fields 4 (ppid), 14 (utime) and 15 (stime) of proc(5), from field 3 on here.
            let parent = fields.get(1)?.parse().ok()?;
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some((
                pid,
                Stat {
                    parent,
                    ticks: utime + stime,
                },
            ))
        })
        .collect()
}

/// `getconf CLK_TCK` (100 on Linux almost everywhere; asking costs nothing next to a run).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}
