//! The printed tables.

use std::time::Duration;

use crate::chain::{Shape, Variant};
use crate::common::Over;
use crate::measure::Measured;
use crate::throughput::Row;

/// Who is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Raw,
    Switchboard(Over),
    Sdk(Over),
}

impl Impl {
    pub fn name(self) -> String {
        match self {
            Impl::Raw => "raw loop (duplex pipe)".to_owned(),
            Impl::Switchboard(over) => format!("switchboard {}", over.name()),
            Impl::Sdk(over) => format!("ACP SDK 5.2.0 {}", over.name()),
        }
    }
}

pub fn progress(row: &Row) -> String {
    format!(
        "{:<14} {:<28} {:>12.0} msg/s",
        row.workload,
        row.implementation.name(),
        row.measured.per_second()
    )
}

fn ratio(row: &Row, to: Option<&Row>) -> String {
    match to {
        Some(base) if base.implementation != row.implementation => row
            .ratio_to(base)
            .map_or("-".to_owned(), |ratio| format!("{ratio:.2}")),
        _ => "-".to_owned(),
    }
}

/// The title line `--quick` puts before each table.
fn smoke_title(quick: bool) {
    if quick {
        println!("SMOKE TEST (--quick), not a measurement:");
    }
}

pub fn print_throughput(rows: &[Row], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Throughput: median of {} interleaved round(s) after a warm-up of {} messages; \
         × raw and × SDK are medians of per-round ratios:",
        rows.iter().map(|row| row.rounds.len()).max().unwrap_or(0),
        crate::common::WARMUP
    );
    println!(
        "| workload | implementation | messages | seconds | msgs/s | CPU µs/msg | allocs/msg | × raw | × SDK |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let same_workload = |wanted: Impl| {
            rows.iter()
                .find(|r| r.workload == row.workload && r.implementation == wanted)
        };
        let raw = same_workload(Impl::Raw);
        let sdk = match row.implementation {
            Impl::Switchboard(over) => same_workload(Impl::Sdk(over)),
            _ => None,
        };
        let m = &row.measured;
        println!(
            "| {} | {} | {} | {:.3} | {:.0} | {:.2} | {} | {} | {} |",
            row.workload,
            row.implementation.name(),
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message(),
            m.allocations_per_message()
                .map_or("-".to_owned(), |a| format!("{a:.2}")),
            ratio(row, raw),
            ratio(row, sdk),
        );
    }
}

/// Workload 4 on one implementation.
pub struct FloodRow {
    pub implementation: Impl,
    pub window: Duration,
    pub sent: u64,
    pub handled: u64,
    pub growth: u64,
    /// Whether `growth` is the peak (VmHWM) or only the RSS at the end of the window.
    pub peak_is_reset: bool,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn flood_progress(row: &FloodRow) -> String {
    format!(
        "flood          {:<28} sent {:>7} in {:?}, handled {:>5}, RSS +{:.1} MiB",
        row.implementation.name(),
        row.sent,
        row.window,
        row.handled,
        mib(row.growth)
    )
}

pub fn print_flood(rows: &[FloodRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Flood: 200 000 notifications offered, the server's handler takes 1 ms each; every \
         figure taken at the end of the window; one run."
    );
    println!(
        "| implementation | window | accepted by the sender | handled in the window | RSS growth |"
    );
    println!("|---|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} s | {} | {} | {:.1} MiB{} |",
            row.implementation.name(),
            row.window.as_secs_f64(),
            row.sent,
            row.handled,
            mib(row.growth),
            if row.peak_is_reset {
                " (peak)"
            } else {
                " (end)"
            }
        );
    }
}

/// Workload 5 with one number of live sessions.
pub struct SessionsRow {
    pub sessions: u64,
    pub measured: Measured,
}

pub fn sessions_progress(row: &SessionsRow) -> String {
    format!(
        "sessions       {:>5} live                  {:>12.0} msg/s",
        row.sessions,
        row.measured.per_second()
    )
}

pub fn print_sessions(rows: &[SessionsRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!("Routing by session id (switchboard ByteStreams, keyed dynamic handlers):");
    println!("| live sessions | messages | seconds | msgs/s | CPU µs/msg | cost vs 1 session |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let one = rows
        .first()
        .map(|row| row.measured.cpu_micros_per_message());
    for row in rows {
        let m = &row.measured;
        let versus = one.map_or("-".to_owned(), |one| {
            format!("{:+.1} %", (m.cpu_micros_per_message() / one - 1.0) * 100.0)
        });
        println!(
            "| {} | {} | {:.3} | {:.0} | {:.2} | {} |",
            row.sessions,
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message(),
            versus
        );
    }
}

/// Workload 6, one way of sending prompts through one shape of chain.
pub struct ChainRow {
    pub variant: Variant,
    pub shape: Shape,
    /// The round with the median prompts/s, with the median CPU per prompt.
    pub measured: Measured,
    /// Every round's measurement, in round order (for per-round ratios).
    pub rounds: Vec<Measured>,
}

pub fn chain_progress(row: &ChainRow) -> String {
    format!(
        "chain          {:<24} {:<22} {:>9.0} prompts/s",
        row.variant.name(),
        row.shape.name(),
        row.measured.per_second()
    )
}

/// CPU per prompt over the same conductor with 0 proxies, per proxy added: "-" where no
/// proxy was added, or when the 0-proxy row was not measured.
fn per_hop(row: &ChainRow, rows: &[ChainRow]) -> String {
    let (Some(k @ 1..), Some(bare)) = (row.shape.proxies(), row.shape.without_proxies()) else {
        return "-".to_owned();
    };
    let zero = rows
        .iter()
        .find(|r| r.variant == row.variant && r.shape == bare);
    match zero {
        Some(zero) => format!(
            "{:.2}",
            (row.measured.cpu_micros_per_message() - zero.measured.cpu_micros_per_message())
                / k as f64
        ),
        None => "-".to_owned(),
    }
}

/// Ours over the official in prompts/s, for our rows: the median over the rounds of the
/// per-round ratio (both ran in the same round), as `throughput.rs`'s "× SDK".
fn versus_official(row: &ChainRow, rows: &[ChainRow]) -> String {
    let theirs = match row.shape {
        Shape::Direct => Shape::SdkDirect,
        Shape::Proxies(k) => Shape::Official(k),
        Shape::SdkDirect | Shape::Official(_) => return "-".to_owned(),
    };
    let Some(theirs) = rows
        .iter()
        .find(|r| r.variant == row.variant && r.shape == theirs)
    else {
        return "-".to_owned();
    };
    let mut ratios: Vec<f64> = row
        .rounds
        .iter()
        .zip(&theirs.rounds)
        .map(|(mine, theirs)| mine.per_second() / theirs.per_second())
        .collect();
    if ratios.is_empty() {
        return "-".to_owned();
    }
    ratios.sort_by(f64::total_cmp);
    format!("{:.1}", ratios[ratios.len() / 2])
}

pub fn print_chain(rows: &[ChainRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Chains of proxies (in process over each stack's channels; 3 messages per prompt; \
         µs per hop = (CPU of k proxies - CPU of 0, same conductor) / k; × official = ours \
         over the official conductor with as many proxies, median of per-round ratios):"
    );
    println!(
        "| prompts sent | chain | prompts | seconds | prompts/s | CPU µs/prompt | µs per hop \
         | × official |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let m = &row.measured;
        println!(
            "| {} | {} | {} | {:.3} | {:.0} | {:.2} | {} | {} |",
            row.variant.name(),
            row.shape.name(),
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message(),
            per_hop(row, rows),
            versus_official(row, rows)
        );
    }
}

/// Workload 6 as processes: both conductors, the same client, proxies and agent.
pub fn print_chain_processes(rows: &[crate::chain_processes::ProcessRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Chains of proxies as processes (acp_prefix_proxy, acp_echo_agent; one prompt at a \
         time over the conductor's stdio; CPU of the conductor and every process under it; \
         µs per hop = (CPU of k proxies - CPU of 0) / k; × official = ours over the official \
         with as many proxies, median of per-round ratios):"
    );
    println!(
        "| conductor | proxies | prompts | updates/prompt | prompts/s | tree CPU µs/prompt \
         | µs per hop | × official |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let zero = rows
            .iter()
            .find(|r| r.conductor == row.conductor && r.proxies == 0);
        let per_hop = match zero {
            Some(zero) if row.proxies > 0 => format!(
                "{:.0}",
                (row.tree_cpu_micros - zero.tree_cpu_micros) / row.proxies as f64
            ),
            _ => "-".to_owned(),
        };
        let theirs = rows.iter().find(|r| {
            r.conductor == crate::chain_processes::Conductor::Official && r.proxies == row.proxies
        });
        let versus = match theirs {
            Some(theirs) if row.conductor == crate::chain_processes::Conductor::Ours => {
                let mut ratios: Vec<f64> = row
                    .rounds
                    .iter()
                    .zip(&theirs.rounds)
                    .map(|(mine, other)| {
                        mine.per_second(row.prompts) / other.per_second(theirs.prompts)
                    })
                    .collect();
                ratios.sort_by(f64::total_cmp);
                format!("{:.2}", ratios[ratios.len() / 2])
            }
            _ => "-".to_owned(),
        };
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.0} | {} | {} |",
            row.conductor.name(),
            row.proxies,
            row.prompts,
            row.updates_per_prompt,
            row.per_second(),
            row.tree_cpu_micros,
            per_hop,
            versus
        );
    }
}

pub fn print_remote(
    rows: &[crate::remote::RemoteRow],
    idle: &[crate::remote::IdleRow],
    quick: bool,
) {
    println!();
    smoke_title(quick);
    println!(
        "Remote ACP (switchboard-http; client and server in this process; 3 messages per \
         prompt; each connection sends its prompts one at a time, all connections at once):"
    );
    println!("| transport | connections | prompts | seconds | prompts/s | CPU µs/prompt |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let m = &row.measured;
        println!(
            "| {} | {} | {} | {:.3} | {:.0} | {:.2} |",
            row.transport.name(),
            row.connections,
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message()
        );
    }
    println!();
    println!("Resident memory per idle connection (initialized, one session; both ends):");
    println!("| transport | connections held | KiB each |");
    println!("|---|---:|---:|");
    for row in idle {
        println!(
            "| {} | {} | {:.1} |",
            row.transport.name(),
            row.connections,
            row.bytes_each / 1024.0
        );
    }
}

pub fn print_supervisor(rows: &[crate::supervise::SupervisorRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Supervision (switchboard-supervisor; an echo worker that never restarts, in process \
         over Channel or a child process over its stdio; CPU is this process's only, not the \
         child's; the extra is per call, against the direct row above it):"
    );
    println!(
        "| worker | in flight | path | calls | calls/s | µs/call (wall) | CPU µs/call | extra µs/call (wall) | supervised / direct |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let mut direct = None;
    for row in rows {
        let m = &row.measured;
        let per_call = m.wall.as_secs_f64() * 1e6 / m.messages as f64;
        let (extra, ratio) = match row.path {
            crate::supervise::Path::Direct => {
                direct = Some(per_call);
                ("—".to_owned(), "—".to_owned())
            }
            crate::supervise::Path::Supervised => {
                direct.map_or(("—".to_owned(), "—".to_owned()), |direct| {
                    (
                        format!("{:.2}", per_call - direct),
                        format!("{:.2}×", per_call / direct),
                    )
                })
            }
        };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            row.worker.name(),
            row.in_flight,
            row.path.name(),
            m.messages,
            m.per_second(),
            per_call,
            m.cpu_micros_per_message(),
            extra,
            ratio
        );
    }
}

pub fn print_soak(soak: &crate::soak::Soak, quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Soak (switchboard, in process over Channel): resident memory after each round of {} \
         pipelined prompts through a conductor with {} proxies:",
        crate::soak::PER_ROUND,
        crate::soak::PROXIES
    );
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let rounds: Vec<String> = soak
        .rss_after_round
        .iter()
        .map(|&rss| format!("{:.1}", mib(rss)))
        .collect();
    println!(
        "| RSS after each round (MiB) | growth per {} prompts after the first round |",
        crate::soak::PER_ROUND
    );
    println!("|---|---:|");
    println!(
        "| {} | {:.1} KiB |",
        rounds.join(", "),
        soak.growth_per_round() / 1024.0
    );
}

pub fn print_stream(rows: &[crate::stream::StreamRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Stream (switchboard ByteStreams): one request answered by {} items, window {}; the \
         slow consumer pauses {:?} every {} items:",
        rows.first().map_or(0, |row| row.measured.messages),
        crate::stream::WINDOW,
        crate::stream::PAUSE,
        crate::stream::PAUSE_EVERY
    );
    println!(
        "| consumer | items | seconds | items/s | CPU µs/item | allocs/item | most ahead | peak RSS growth |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let m = &row.measured;
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {} | {} | {:.1} MiB{} |",
            if row.slow { "slow" } else { "fast" },
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message(),
            m.allocations_per_message()
                .map_or("-".to_owned(), |allocs| format!("{allocs:.1}")),
            row.widest,
            row.peak_growth as f64 / (1024.0 * 1024.0),
            if row.peak_is_reset {
                ""
            } else {
                " (RSS, peak not resettable)"
            }
        );
    }
}
