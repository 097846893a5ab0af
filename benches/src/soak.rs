//! Workload 7, Switchboard only: does a chain hold on to anything per request?
//!
//! The chain workload's client and agent, through a conductor with three transparent
//! proxies, in rounds of [`PER_ROUND`] pipelined prompts (each a request forwarded over four
//! hops, its answer, and an update). After each round the process's resident memory is read.
//! The first round warms up (buffers, the allocator's pools); the growth per round after it
//! is what the chain keeps per request. A leak of even one small registration per forwarded
//! request shows here as megabytes per round (it did: about 270 bytes per request per hop,
//! before forwarded requests stopped leaving a cancellation watcher behind).

use switchboard::Error;
use switchboard_acp::{Client, Proxy};
use switchboard_conductor::Chain;

use crate::Options;
use crate::chain::{agent, ended, open_session, prompt};
use crate::common;
use crate::measure::Memory;

/// Prompts per round: the unit the growth is reported in.
pub const PER_ROUND: u64 = 10_000;

/// Proxies in the chain.
pub const PROXIES: usize = 3;

/// Rounds in one run (a third with `--quick`).
const ROUNDS: usize = 12;

/// Resident memory after each round, in bytes.
pub struct Soak {
    pub rss_after_round: Vec<u64>,
}

impl Soak {
    /// Growth per round after the first (warm-up) round, in bytes: the slope from the
    /// second round to the last.
    pub fn growth_per_round(&self) -> f64 {
        let rounds = &self.rss_after_round;
        match (rounds.get(1), rounds.last()) {
            (Some(&second), Some(&last)) if rounds.len() > 2 => {
                (last as f64 - second as f64) / (rounds.len() - 2) as f64
            }
            _ => 0.0,
        }
    }
}

pub fn run(options: &Options) -> Result<Soak, String> {
    let rounds = if options.quick { ROUNDS / 3 } else { ROUNDS };
    let chain = (0..PROXIES).fold(Chain::new(agent()), |chain, _| chain.proxy(Proxy.builder()));
    options.runtime().block_on(async move {
        let driven = tokio::spawn(drive(chain, rounds));
        match driven.await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(panic) => Err(panic.to_string()),
        }
    })
}

async fn drive(chain: Chain, rounds: usize) -> Result<Soak, Error> {
    Client
        .builder()
        .connect_with(chain, async move |cx| {
            let session = open_session(&cx).await?;
            let mut rss_after_round = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                common::pipelined(0..PER_ROUND, |_| {
                    let answer = prompt(&cx, &session);
                    async move { ended(answer.await?) }
                })
                .await?;
                rss_after_round.push(Memory::now().rss);
            }
            Ok(Soak { rss_after_round })
        })
        .await
}
