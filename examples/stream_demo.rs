//! A stream with backpressure: a server streams 1 000 000 numbers to a client that reads them
//! slowly, and the credit window keeps the server at most `WINDOW` numbers ahead.
//!
//! ```text
//! cargo run --release --example stream_demo
//! ```
//!
//! The two ends talk over an in-memory byte pipe, newline framed, as two processes would over
//! a socket. Every 100 000 numbers the client prints where the producer is, where it is, and
//! the gap between them; at the end, the largest gap it ever saw. The gap never exceeds the
//! window, however slow the reader: the server's `send` waits for credit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchboard::stream::{ItemSink, Streamed};
use switchboard::{ByteStreams, Error, JsonRpcRequest, Responder, UntypedRole};

/// How many numbers the server may send ahead of what the client has read.
const WINDOW: u32 = 256;
/// How many numbers are streamed.
const COUNT: u64 = 1_000_000;
/// The client pauses this long after every `PAUSE_EVERY` numbers: a slow reader, but not so
/// slow that the demo takes long (about 0.2 s of pauses in all).
const PAUSE: Duration = Duration::from_millis(2);
const PAUSE_EVERY: u64 = 10_000;

/// Client → server: stream the numbers `0..count`, then answer how many were sent.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "numbers", response = u64)]
struct Numbers {
    count: u64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_io);
    let (client_read, client_write) = tokio::io::split(client_io);

    // Where the producer is: the numbers its `send` has queued.
    let produced = Arc::new(AtomicU64::new(0));
    let server = UntypedRole
        .builder()
        .name("server")
        .on_receive_streaming_request({
            let produced = Arc::clone(&produced);
            move |request: Numbers, mut items: ItemSink<u64>, responder: Responder<u64>, _cx| {
                let produced = Arc::clone(&produced);
                async move {
                    for n in 0..request.count {
                        items.send(n).await?;
                        produced.store(n + 1, Ordering::Relaxed);
                    }
                    responder.respond(items.sent())
                }
            }
        });
    let server = tokio::spawn(server.connect_to(ByteStreams::tokio(server_write, server_read)));

    let started = Instant::now();
    let client = UntypedRole.builder().name("client").connect_with(
        ByteStreams::tokio(client_write, client_read),
        async move |cx| {
            let mut stream = cx.send_streaming_request::<u64, _>(Numbers { count: COUNT }, WINDOW);
            let mut read = 0u64;
            let mut widest = 0u64;
            while let Some(next) = stream.next().await {
                match next? {
                    Streamed::Item(n) => {
                        assert_eq!(n, read, "numbers arrive in order");
                        read += 1;
                        let producer_at = produced.load(Ordering::Relaxed);
                        let ahead = producer_at.saturating_sub(read);
                        widest = widest.max(ahead);
                        if read.is_multiple_of(PAUSE_EVERY) {
                            tokio::time::sleep(PAUSE).await;
                        }
                        if read.is_multiple_of(100_000) {
                            println!(
                                "producer at {producer_at:>9}  consumer at {read:>9}  ahead by {ahead:>4} (window {WINDOW})"
                            );
                        }
                    }
                    Streamed::Answer(sent) => {
                        println!("answer: the server sent {sent} numbers; the client read {read}");
                    }
                }
            }
            Ok(widest)
        },
    );
    let widest = client.await?;
    let elapsed = started.elapsed();
    println!(
        "the producer was never more than {widest} numbers ahead (window {WINDOW}); {COUNT} numbers in {elapsed:.2?} ({:.0} numbers/s)",
        COUNT as f64 / elapsed.as_secs_f64()
    );
    server
        .await
        .map_err(|error| Error::internal_error(error.to_string()))??;
    Ok(())
}
