//! Workload 9, Switchboard only: a stream of 10^6 items with a credit window, to a fast and
//! to a slow consumer.
//!
//! The server streams `0..ITEMS` (small JSON numbers) as the items of one request over
//! `ByteStreams` on a duplex pipe; the client reads them with a window of [`WINDOW`]. The slow
//! consumer pauses [`PAUSE`] after every [`PAUSE_EVERY`] items (about 1 s of pauses for 10^6
//! items), so the rate is its own; what the row shows is that the producer is held (the
//! largest gap it opened) and that memory stays flat (the peak resident growth over the run).
//! The fast consumer takes items as they come: the rate the framework streams at.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchboard::stream::{ItemSink, Streamed};
use switchboard::{ByteStreams, Error, JsonRpcRequest, Responder, UntypedRole};

use crate::Options;
use crate::common::{self, Over};
use crate::measure::{self, Measured, Memory, Span};

/// Items per run (a tenth with `--quick`).
pub const ITEMS: u64 = 1_000_000;
/// The client's window.
pub const WINDOW: u32 = 256;
/// The slow consumer's pause, after every `PAUSE_EVERY` items.
pub const PAUSE: Duration = Duration::from_millis(1);
pub const PAUSE_EVERY: u64 = 1_000;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "numbers", response = u64)]
struct Numbers {
    count: u64,
}

/// One consumer's row.
pub struct StreamRow {
    pub slow: bool,
    pub measured: Measured,
    /// The most items the producer was ever ahead of the consumer, over every run.
    pub widest: u64,
    /// The largest peak resident growth of a run (VmHWM after a reset, minus VmRSS before).
    pub peak_growth: u64,
    pub peak_is_reset: bool,
}

pub fn run_all(options: &Options) -> Result<Vec<StreamRow>, String> {
    let items = if options.quick { ITEMS / 10 } else { ITEMS };
    let runtime = options.runtime();
    let mut rows = Vec::new();
    for slow in [false, true] {
        let mut runs = Vec::new();
        let mut widest = 0;
        let mut peak_growth = 0;
        let mut peak_is_reset = true;
        for _ in 0..options.runs {
            peak_is_reset &= measure::reset_peak();
            let before = Memory::now();
            let (measured, ahead) = runtime.block_on(one_run(items, slow))?;
            let after = Memory::now();
            let growth = if peak_is_reset {
                after.peak.saturating_sub(before.rss)
            } else {
                after.rss.saturating_sub(before.rss)
            };
            peak_growth = peak_growth.max(growth);
            widest = widest.max(ahead);
            runs.push(measured);
        }
        let row = StreamRow {
            slow,
            measured: measure::median(runs),
            widest,
            peak_growth,
            peak_is_reset,
        };
        eprintln!(
            "  stream, {} consumer: {:.0} items/s",
            if slow { "slow" } else { "fast" },
            row.measured.per_second()
        );
        rows.push(row);
    }
    Ok(rows)
}

/// Streams `items` to one consumer; returns the measurement and the widest gap seen.
async fn one_run(items: u64, slow: bool) -> Result<(Measured, u64), String> {
    let (client, server) = common::ends(Over::ByteStreams, switchboard::Channel::duplex);
    let (common::End::Bytes(client), common::End::Bytes(server)) = (client, server) else {
        return Err("the stream workload runs over a byte pipe".to_owned());
    };
    let produced = Arc::new(AtomicU64::new(0));
    let serve = UntypedRole
        .builder()
        .on_receive_streaming_request({
            let produced = Arc::clone(&produced);
            move |request: Numbers, mut sink: ItemSink<u64>, responder: Responder<u64>, _cx| {
                let produced = Arc::clone(&produced);
                async move {
                    for n in 0..request.count {
                        sink.send(n).await?;
                        produced.store(n + 1, Ordering::Relaxed);
                    }
                    responder.respond(sink.sent())
                }
            }
        })
        .connect_to(ByteStreams::tokio(server.write, server.read));
    let server = tokio::spawn(serve);
    let consume = UntypedRole.builder().connect_with(
        ByteStreams::tokio(client.write, client.read),
        async move |cx| {
            let span = Span::start();
            let mut stream = cx.send_streaming_request::<u64, _>(Numbers { count: items }, WINDOW);
            let mut read = 0;
            let mut widest = 0;
            while let Some(next) = stream.next().await {
                match next? {
                    Streamed::Item(n) => {
                        if n != read {
                            return Err(Error::internal_error(format!("item {n} came as {read}")));
                        }
                        read += 1;
                        widest = widest.max(produced.load(Ordering::Relaxed).saturating_sub(read));
                        if slow && read % PAUSE_EVERY == 0 {
                            tokio::time::sleep(PAUSE).await;
                        }
                    }
                    Streamed::Answer(sent) if sent == items && read == items => {}
                    Streamed::Answer(sent) => {
                        return Err(Error::internal_error(format!(
                            "the server sent {sent}, the client read {read} of {items}"
                        )));
                    }
                }
            }
            Ok((span.finish(items), widest))
        },
    );
    let measured = consume.await.map_err(|error| error.to_string())?;
    match server.await {
        Ok(Ok(())) => Ok(measured),
        Ok(Err(error)) => Err(format!("server: {error}")),
        Err(panic) => Err(format!("server: {panic}")),
    }
}
