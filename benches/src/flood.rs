//! Workload 4, the flood, measured in a child process per case.
//!
//! RSS growth is only meaningful in a fresh process: memory a previous case freed stays with
//! the allocator and would be reused without showing up as growth. So the benchmark runs this
//! same binary again with `--flood-child N` for each case and reads one line back from it.

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Countdown, Over};
use crate::measure::{self, Memory};
use crate::report::{self, FloodRow, Impl};
use crate::{Options, RuntimeKind, sdk, switchboard};

/// How many notifications the flood offers, and how long each takes the server.
const FLOOD_MESSAGES: u64 = 200_000;
const FLOOD_HANDLER_TIME: Duration = Duration::from_millis(1);

/// The cases, in the order of the table; the child is told its index.
const CASES: [Impl; 4] = [
    Impl::Switchboard(Over::ByteStreams),
    Impl::Switchboard(Over::Channel),
    Impl::Sdk(Over::ByteStreams),
    Impl::Sdk(Over::Channel),
];

fn window(options: &Options) -> Duration {
    if options.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(3)
    }
}

/// Runs every case the options select, each in its own process.
pub fn run_all(options: &Options) -> Result<Vec<FloodRow>, String> {
    let program = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut rows = Vec::new();
    for (case, implementation) in CASES.into_iter().enumerate() {
        if !options.measures(implementation) {
            continue;
        }
        let mut command = Command::new(&program);
        command.arg("--flood-child").arg(case.to_string());
        command.arg("--runtime").arg(match options.runtime {
            RuntimeKind::Multi => "multi",
            RuntimeKind::Current => "current",
        });
        if options.quick {
            command.arg("--quick");
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run the flood case: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<u64> = text
            .split_whitespace()
            .skip_while(|word| *word != "FLOOD")
            .skip(1)
            .filter_map(|word| word.parse().ok())
            .collect();
        let [sent, handled, growth, peak_is_reset] = fields[..] else {
            return Err(format!(
                "the flood case {} said {text:?}: {}",
                implementation.name(),
                String::from_utf8_lossy(&output.stderr)
            ));
        };
        let row = FloodRow {
            implementation,
            window: window(options),
            sent,
            handled,
            growth,
            peak_is_reset: peak_is_reset == 1,
        };
        eprintln!("  {}", report::flood_progress(&row));
        rows.push(row);
    }
    Ok(rows)
}

/// In the child: measures case `case` and prints `FLOOD sent handled growth peak_is_reset`.
pub fn child(options: &Options, case: usize) -> ExitCode {
    let Some(&implementation) = CASES.get(case) else {
        eprintln!("no flood case {case}");
        return ExitCode::from(2);
    };
    let row = measure_one(options, implementation);
    println!(
        "FLOOD {} {} {} {}",
        row.sent,
        row.handled,
        row.growth,
        u8::from(row.peak_is_reset)
    );
    ExitCode::SUCCESS
}

/// The client offers 200 000 notifications as fast as the framework lets it, for a fixed
/// window; the server takes 1 ms for each. At the end of the window, whenever the sender
/// stopped, reports how many the sender got rid of, how many were handled, and the peak RSS
/// growth over the whole window.
fn measure_one(options: &Options, implementation: Impl) -> FloodRow {
    let window = window(options);
    let runtime = options.runtime();
    let peak_reset = measure::reset_peak();
    let before = Memory::now();
    let ticks = Countdown::new(FLOOD_MESSAGES);
    let served = Arc::clone(&ticks);
    let (sent_tx, sent_rx) = tokio::sync::oneshot::channel();
    let delay = Some(FLOOD_HANDLER_TIME);
    let sent = runtime.block_on(async {
        let started = tokio::time::Instant::now();
        match implementation {
            Impl::Switchboard(over) => {
                let (client, server) = switchboard::ends(over);
                tokio::spawn(switchboard::serve(server, served, delay));
                tokio::spawn(switchboard::flood(client, FLOOD_MESSAGES, window, sent_tx));
            }
            Impl::Sdk(over) => {
                let (client, server) = sdk::ends(over);
                tokio::spawn(sdk::serve(server, served, delay));
                tokio::spawn(sdk::flood(client, FLOOD_MESSAGES, window, sent_tx));
            }
            // Not in CASES: the raw loop has no queues to measure.
            Impl::Raw => drop(sent_tx),
        }
        let sent = sent_rx.await.unwrap_or(0);
        // Every implementation is measured at the end of the same window: a sender that
        // queued everything early (the SDK's, in about 0.3 s) is not measured at that moment,
        // while its server is still working through the queue and memory may still grow.
        tokio::time::sleep_until(started + window).await;
        sent
    });
    let after = Memory::now();
    let handled = ticks.counted(FLOOD_MESSAGES);
    // Tasks still queued or sleeping are dropped with the runtime.
    drop(runtime);
    FloodRow {
        implementation,
        window,
        sent,
        handled,
        growth: if peak_reset {
            after.peak.saturating_sub(before.rss)
        } else {
            after.rss.saturating_sub(before.rss)
        },
        peak_is_reset: peak_reset,
    }
}
