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
    pub measured: Measured,
}

pub fn chain_progress(row: &ChainRow) -> String {
    format!(
        "chain          {:<24} {:<22} {:>9.0} prompts/s",
        row.variant.name(),
        row.shape.name(),
        row.measured.per_second()
    )
}

/// CPU per prompt over the conductor with 0 proxies, per proxy added: "-" where no proxy
/// was added, or when the 0-proxy row was not measured.
fn per_hop(row: &ChainRow, rows: &[ChainRow]) -> String {
    let Shape::Proxies(k @ 1..) = row.shape else {
        return "-".to_owned();
    };
    let zero = rows
        .iter()
        .find(|r| r.variant == row.variant && r.shape == Shape::Proxies(0));
    match zero {
        Some(zero) => format!(
            "{:.2}",
            (row.measured.cpu_micros_per_message() - zero.measured.cpu_micros_per_message())
                / k as f64
        ),
        None => "-".to_owned(),
    }
}

pub fn print_chain(rows: &[ChainRow], quick: bool) {
    println!();
    smoke_title(quick);
    println!(
        "Chains of proxies (switchboard, in process over Channel; 3 messages per prompt; \
         µs per hop = (CPU of k proxies - CPU of 0) / k):"
    );
    println!(
        "| prompts sent | chain | prompts | seconds | prompts/s | CPU µs/prompt | µs per hop |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let m = &row.measured;
        println!(
            "| {} | {} | {} | {:.3} | {:.0} | {:.2} | {} |",
            row.variant.name(),
            row.shape.name(),
            m.messages,
            m.wall.as_secs_f64(),
            m.per_second(),
            m.cpu_micros_per_message(),
            per_hop(row, rows)
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
        "Supervision (switchboard-supervisor, in process over Channel; an echo worker that \
         never restarts; the extra is per call, against the direct row above it):"
    );
    println!(
        "| in flight | path | calls | calls/s | µs/call (wall) | CPU µs/call | extra µs/call (wall) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut direct = None;
    for row in rows {
        let m = &row.measured;
        let per_call = m.wall.as_secs_f64() * 1e6 / m.messages as f64;
        let extra = match row.path {
            crate::supervise::Path::Direct => {
                direct = Some(per_call);
                "—".to_owned()
            }
            crate::supervise::Path::Supervised => direct.map_or("—".to_owned(), |direct| {
                format!("{:.2}", per_call - direct)
            }),
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            row.in_flight,
            row.path.name(),
            m.messages,
            m.per_second(),
            per_call,
            m.cpu_micros_per_message(),
            extra
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
