//! The raw loop: hand-written newline-delimited JSON-RPC with serde_json, no framework.
//!
//! It is what a careful engineer writes for one fixed message: one buffered reader and writer
//! per side, parse straight into structs, serialize into a reused buffer, flush only when
//! there is nothing more to write. It checks nothing a framework must (unknown methods,
//! batches, ids of every type, oversized frames), which is why it is the upper bound.

use std::io;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::Semaphore;

use crate::common::{Countdown, PIPE_BYTES, PipeEnd, TEXT, WINDOW};
use crate::measure::{Measured, Span};

#[derive(Serialize, Deserialize)]
struct Echo {
    text: String,
    n: u64,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    params: Echo,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(borrow)]
    method: &'a str,
    params: Echo,
}

#[derive(Serialize)]
struct Answer {
    jsonrpc: &'static str,
    id: u64,
    result: Echo,
}

#[derive(Deserialize)]
struct Answered {
    id: u64,
    result: Echo,
}

fn bad_data(error: serde_json::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// Serves echo requests and counts `tick` notifications until the input ends.
pub async fn serve(end: PipeEnd, ticks: Arc<Countdown>) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(PIPE_BYTES, end.read);
    let mut writer = BufWriter::with_capacity(PIPE_BYTES, end.write);
    let mut line = Vec::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        let message: Incoming = serde_json::from_slice(&line).map_err(bad_data)?;
        match (message.id, message.method) {
            (Some(id), "echo") => {
                out.clear();
                let answer = Answer {
                    jsonrpc: "2.0",
                    id,
                    result: message.params,
                };
                serde_json::to_writer(&mut out, &answer).map_err(bad_data)?;
                out.push(b'\n');
                writer.write_all(&out).await?;
            }
            (None, "tick") => ticks.tick(),
            _ => return Err(io::Error::other("unexpected message")),
        }
        // Coalesce: write only once everything already received is answered.
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
    writer.flush().await
}

fn encode(out: &mut Vec<u8>, id: Option<u64>, method: &str, n: u64) -> io::Result<()> {
    out.clear();
    let params = Echo {
        text: TEXT.to_owned(),
        n,
    };
    let message = Outgoing {
        jsonrpc: "2.0",
        id,
        method,
        params,
    };
    serde_json::to_writer(&mut *out, &message).map_err(bad_data)?;
    out.push(b'\n');
    Ok(())
}

fn check(line: &[u8], expected: u64) -> io::Result<()> {
    let answer: Answered = serde_json::from_slice(line).map_err(bad_data)?;
    if answer.id != expected || answer.result.n != expected || answer.result.text != TEXT {
        return Err(io::Error::other("wrong answer"));
    }
    Ok(())
}

/// Workload 1: one request at a time.
pub async fn sequential(end: PipeEnd, n: u64) -> io::Result<Measured> {
    let mut reader = BufReader::with_capacity(PIPE_BYTES, end.read);
    let mut writer = BufWriter::with_capacity(PIPE_BYTES, end.write);
    let (mut out, mut line) = (Vec::new(), Vec::new());
    let span = Span::start();
    for i in 0..n {
        encode(&mut out, Some(i), "echo", i)?;
        writer.write_all(&out).await?;
        writer.flush().await?;
        line.clear();
        reader.read_until(b'\n', &mut line).await?;
        check(&line, i)?;
    }
    Ok(span.finish(n))
}

/// Workload 2: [`WINDOW`] requests in flight; answers come back in order.
pub async fn pipelined(end: PipeEnd, n: u64) -> io::Result<Measured> {
    let mut reader = BufReader::with_capacity(PIPE_BYTES, end.read);
    let mut writer = BufWriter::with_capacity(PIPE_BYTES, end.write);
    let window = Semaphore::new(WINDOW);
    let span = Span::start();
    let send = async {
        let mut out = Vec::new();
        for i in 0..n {
            let permit = match window.try_acquire() {
                Ok(permit) => permit,
                Err(_) => {
                    writer.flush().await?;
                    window.acquire().await.map_err(io::Error::other)?
                }
            };
            permit.forget();
            encode(&mut out, Some(i), "echo", i)?;
            writer.write_all(&out).await?;
        }
        writer.flush().await
    };
    let receive = async {
        let mut line = Vec::new();
        for i in 0..n {
            line.clear();
            reader.read_until(b'\n', &mut line).await?;
            check(&line, i)?;
            window.add_permits(1);
        }
        Ok::<_, io::Error>(())
    };
    tokio::try_join!(send, receive)?;
    Ok(span.finish(n))
}

/// Workload 3: `n` notifications, finished when the server has counted them all.
pub async fn notifications(end: PipeEnd, n: u64, ticks: Arc<Countdown>) -> io::Result<Measured> {
    let mut writer = BufWriter::with_capacity(PIPE_BYTES, end.write);
    let mut out = Vec::new();
    let span = Span::start();
    for i in 0..n {
        encode(&mut out, None, "tick", i)?;
        writer.write_all(&out).await?;
    }
    writer.flush().await?;
    ticks.wait().await;
    Ok(span.finish(n))
}
