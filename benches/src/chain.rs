//! Workload 6: what each proxy hop of the conductor costs, ours next to the official one.
//!
//! An ACP client sends prompts to an in-process agent that answers each one with a single
//! `session/update` (the prompt's text echoed as an agent message chunk) and then
//! `end_turn`: three messages per prompt. The client reaches the agent directly, or through
//! a conductor (`switchboard_conductor::Chain`) with 0, 1 or 3 transparent proxies
//! (`Proxy.builder()` with no handlers, so everything is forwarded by default). Comparing
//! the CPU per prompt of k proxies with that of 0 gives the cost of one hop.
//!
//! Both ends are kept to the hot path on purpose: the agent answers inside its handler
//! (nothing spawned) and sends its update with a plain `send_notification`, and the client
//! counts updates in a plain notification handler rather than through `ClientSession`'s
//! streams. What is measured is the chain, not the session helpers.
//!
//! The same rows on the official conductor (`agent-client-protocol-conductor`) with SDK
//! proxies, client and agent are in `official_chain.rs`.
//!
//! Everything runs in one task: the client's connection drives the chain (or the agent) it
//! is connected to, and the conductor drives its proxies and the agent, all in process over
//! `Channel` pairs.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use switchboard::{Builder, ConnectTo, ConnectionTo, Error, Handler, Responder};
use switchboard_acp::schema::{
    ContentBlock, ContentChunk, InitializeRequest, NewSessionRequest, NewSessionResponse,
    PromptRequest, PromptResponse, ProtocolVersion, SessionId, SessionNotification, SessionUpdate,
    StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, Proxy, initialize};
use switchboard_conductor::Chain;

use tokio::runtime::Runtime;

use crate::common::{self, Over, TEXT};
use crate::measure::{self, Measured, Span};
use crate::report::{self, ChainRow, Impl};
use crate::{Options, official_chain};

/// Prompts in one run of each variant (a tenth with `--quick`). Each prompt is three
/// messages; with three proxies each of them crosses eight connections.
const SEQUENTIAL_PROMPTS: u64 = 100_000;
const PIPELINED_PROMPTS: u64 = 200_000;

/// What stands between the client and the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The client connected straight to the agent's builder: no conductor.
    Direct,
    /// A conductor running this many transparent proxies in front of the agent.
    Proxies(usize),
    /// The official SDK's client connected straight to its agent (`official_chain.rs`).
    SdkDirect,
    /// The official conductor running this many transparent SDK proxies.
    Official(usize),
}

impl Shape {
    pub fn name(self) -> String {
        let plural = |k| if k == 1 { "proxy" } else { "proxies" };
        match self {
            Shape::Direct => "direct (no conductor)".to_owned(),
            Shape::Proxies(k) => format!("conductor, {k} {}", plural(k)),
            Shape::SdkDirect => "SDK direct (no conductor)".to_owned(),
            Shape::Official(k) => format!("official conductor, {k} {}", plural(k)),
        }
    }

    /// Proxies in the chain, `None` with no conductor.
    pub fn proxies(self) -> Option<usize> {
        match self {
            Shape::Direct | Shape::SdkDirect => None,
            Shape::Proxies(k) | Shape::Official(k) => Some(k),
        }
    }

    /// The same chain with no proxy: what [`report`]'s "µs per hop" subtracts.
    pub fn without_proxies(self) -> Option<Shape> {
        match self {
            Shape::Proxies(_) => Some(Shape::Proxies(0)),
            Shape::Official(_) => Some(Shape::Official(0)),
            Shape::Direct | Shape::SdkDirect => None,
        }
    }

    /// Whether it runs on the official SDK; those runs send a tenth of the prompts, as the
    /// SDK is an order of magnitude slower (the table shows the count).
    fn official(self) -> bool {
        matches!(self, Shape::SdkDirect | Shape::Official(_))
    }
}

const SHAPES: [Shape; 8] = [
    Shape::Direct,
    Shape::Proxies(0),
    Shape::Proxies(1),
    Shape::Proxies(3),
    Shape::SdkDirect,
    Shape::Official(0),
    Shape::Official(1),
    Shape::Official(3),
];

/// Prompts sent on each new connection before the clock starts (not timed or counted): the
/// chain is built, the session open and every queue has grown to its working size.
const WARMUP_PROMPTS: u64 = 1_000;

/// How the client sends its prompts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// One prompt at a time, the next sent when the answer is in.
    Sequential,
    /// [`common::WINDOW`] prompts in flight.
    Pipelined,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Sequential => "sequential",
            Variant::Pipelined => "pipelined (64 in flight)",
        }
    }

    fn full_count(self) -> u64 {
        match self {
            Variant::Sequential => SEQUENTIAL_PROMPTS,
            Variant::Pipelined => PIPELINED_PROMPTS,
        }
    }
}

/// Whether `--impl` asks for `shape`: it names a part of the chain's name, or of the
/// implementation every chain runs on (`switchboard Channel`), or is not given.
fn measures(options: &Options, shape: Shape) -> bool {
    options.measures(Impl::Switchboard(Over::Channel)) || options.measures_named(&shape.name())
}

/// Whether `--impl` asks for any chain.
pub fn measures_any(options: &Options) -> bool {
    SHAPES.into_iter().any(|shape| measures(options, shape))
}

/// Runs every variant on every shape in interleaved rounds, as `throughput.rs` does: in each
/// of `options.runs` rounds every shape runs once, the order rotating from round to round,
/// all on one runtime, each run after [`WARMUP_PROMPTS`] untimed prompts. One row per case,
/// the median round.
pub fn run_all(options: &Options) -> Result<Vec<ChainRow>, String> {
    let runtime = options.runtime();
    let mut rows = Vec::new();
    for variant in [Variant::Sequential, Variant::Pipelined] {
        let mut rounds: Vec<Vec<Measured>> = vec![Vec::new(); SHAPES.len()];
        for round in 0..options.runs {
            for turn in 0..SHAPES.len() {
                let index = (round + turn) % SHAPES.len();
                let shape = SHAPES[index];
                if !measures(options, shape) {
                    continue;
                }
                let mut n = variant.full_count();
                if options.quick {
                    n /= 10;
                }
                if shape.official() {
                    n /= 10;
                }
                let run = run_once(&runtime, shape, variant, n)
                    .map_err(|error| format!("{} {}: {error}", variant.name(), shape.name()))?;
                rounds[index].push(run);
            }
            eprintln!(
                "  chain {} round {} of {} done",
                variant.name(),
                round + 1,
                options.runs
            );
        }
        for (shape, rounds) in SHAPES.into_iter().zip(rounds) {
            if rounds.is_empty() {
                continue;
            }
            let row = ChainRow {
                variant,
                shape,
                measured: measure::median(rounds.clone()),
                rounds,
            };
            eprintln!("  {}", report::chain_progress(&row));
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One run on `runtime`: a new chain, [`WARMUP_PROMPTS`], then `n` timed.
fn run_once(runtime: &Runtime, shape: Shape, variant: Variant, n: u64) -> Result<Measured, String> {
    match shape {
        Shape::Direct => on_runtime(runtime, drive(agent(), variant, n)),
        Shape::Proxies(k) => {
            let chain = (0..k).fold(Chain::new(agent()), |chain, _| chain.proxy(Proxy.builder()));
            on_runtime(runtime, drive(chain, variant, n))
        }
        Shape::SdkDirect | Shape::Official(_) => on_runtime(
            runtime,
            official_chain::run(shape.proxies(), variant, WARMUP_PROMPTS, n),
        ),
    }
}

/// Runs `client` as one task (with everything its connection drives) on `runtime`.
fn on_runtime<E: std::fmt::Display + Send + 'static>(
    runtime: &Runtime,
    client: impl Future<Output = Result<Measured, E>> + Send + 'static,
) -> Result<Measured, String> {
    runtime.block_on(async {
        match tokio::spawn(client).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(panic) => Err(panic.to_string()),
        }
    })
}

/// The agent: opens one session, and answers each prompt with one update echoing its text,
/// then `end_turn`, both from inside the handler.
pub(crate) fn agent() -> impl ConnectTo<Client> {
    agent_builder()
}

/// [`agent`], as its builder: to connect to a component of its own.
pub(crate) fn agent_builder() -> Builder<Agent, impl Handler<Client> + 'static> {
    Agent
        .builder()
        .on_receive_request(
            |request: InitializeRequest, responder: Responder<_>, _cx: ConnectionTo<Client>| {
                ready(responder.respond(initialize::agent_response(&request)))
            },
        )
        .on_receive_request(
            |_: NewSessionRequest, responder: Responder<_>, _cx: ConnectionTo<Client>| {
                ready(responder.respond(NewSessionResponse::new("s-1")))
            },
        )
        .on_receive_request(
            |prompt: PromptRequest,
             responder: Responder<PromptResponse>,
             cx: ConnectionTo<Client>| { ready(answer(prompt, responder, &cx)) },
        )
}

/// Sends the prompt's first block back as an agent message chunk, then ends the turn.
fn answer(
    prompt: PromptRequest,
    responder: Responder<PromptResponse>,
    cx: &ConnectionTo<Client>,
) -> Result<(), Error> {
    let PromptRequest {
        session_id, prompt, ..
    } = prompt;
    let echoed = prompt
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid_params("an empty prompt"))?;
    let chunk = SessionUpdate::AgentMessageChunk(ContentChunk::new(echoed));
    // The queue holds megabytes and at most 64 prompts are in flight: it is never full here,
    // and if it were, the failed prompt would stop the run rather than skew it.
    cx.send_notification(SessionNotification::new(session_id, chunk))?;
    responder.respond(PromptResponse::new(StopReason::EndTurn))
}

/// Whether `notification` is the echo the agent owes for one of our prompts.
fn is_echo(notification: &SessionNotification) -> bool {
    matches!(
        &notification.update,
        SessionUpdate::AgentMessageChunk(ContentChunk {
            content: ContentBlock::Text(text),
            ..
        }) if text.text == TEXT
    )
}

/// The client: initializes, opens a session, then sends `n` prompts as `variant` says and
/// checks that every prompt ended its turn and had its echo counted before its answer.
async fn drive(agent: impl ConnectTo<Client>, variant: Variant, n: u64) -> Result<Measured, Error> {
    let echoes = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&echoes);
    Client
        .builder()
        .on_receive_notification(
            move |notification: SessionNotification, _cx: ConnectionTo<Agent>| {
                if is_echo(&notification) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                ready(Ok(()))
            },
        )
        .connect_with(agent, async move |cx| {
            let session = open_session(&cx).await?;
            let send = async |ids: std::ops::Range<u64>| match variant {
                Variant::Sequential => {
                    for _ in ids {
                        ended(prompt(&cx, &session).await?)?;
                    }
                    Ok(())
                }
                Variant::Pipelined => {
                    common::pipelined(ids, |_| {
                        let answer = prompt(&cx, &session);
                        async move { ended(answer.await?) }
                    })
                    .await
                }
            };
            send(0..WARMUP_PROMPTS).await?;
            let span = Span::start();
            send(WARMUP_PROMPTS..WARMUP_PROMPTS + n).await?;
            let measured = span.finish(n);
            // Each update is read before the answer that follows it, so all are in.
            let echoed = echoes.load(Ordering::Relaxed);
            if echoed != WARMUP_PROMPTS + n {
                return Err(Error::internal_error(format_args!(
                    "{echoed} echoes for {} prompts",
                    WARMUP_PROMPTS + n
                )));
            }
            Ok(measured)
        })
        .await
}

/// Initializes and opens the one session the prompts go to.
pub(crate) async fn open_session(cx: &ConnectionTo<Agent>) -> Result<SessionId, Error> {
    cx.initialize(InitializeRequest::new(ProtocolVersion::LATEST))
        .block_task()
        .await?;
    let session = cx
        .send_request(NewSessionRequest::new("/tmp"))
        .block_task()
        .await?;
    Ok(session.session_id)
}

/// Sends one prompt of one text block; resolves to its answer.
pub(crate) fn prompt(
    cx: &ConnectionTo<Agent>,
    session: &SessionId,
) -> impl Future<Output = Result<PromptResponse, Error>> + use<> {
    let request = PromptRequest::new(session.clone(), vec![ContentBlock::from(TEXT)]);
    cx.send_request(request).block_task()
}

pub(crate) fn ended(answer: PromptResponse) -> Result<(), Error> {
    if answer.stop_reason == StopReason::EndTurn {
        Ok(())
    } else {
        Err(Error::internal_error(format_args!(
            "the turn ended with {:?}",
            answer.stop_reason
        )))
    }
}
