//! Workload 6, Switchboard only: what each proxy hop of the conductor costs.
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

use crate::Options;
use crate::common::{self, TEXT};
use crate::measure::{self, Measured, Span};
use crate::report::{self, ChainRow};

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
}

impl Shape {
    pub fn name(self) -> String {
        match self {
            Shape::Direct => "direct (no conductor)".to_owned(),
            Shape::Proxies(1) => "conductor, 1 proxy".to_owned(),
            Shape::Proxies(k) => format!("conductor, {k} proxies"),
        }
    }
}

const SHAPES: [Shape; 4] = [
    Shape::Direct,
    Shape::Proxies(0),
    Shape::Proxies(1),
    Shape::Proxies(3),
];

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

/// Runs every variant on every shape, each `options.runs` times; one row per case.
pub fn run_all(options: &Options) -> Result<Vec<ChainRow>, String> {
    let mut rows = Vec::new();
    for variant in [Variant::Sequential, Variant::Pipelined] {
        let n = if options.quick {
            variant.full_count() / 10
        } else {
            variant.full_count()
        };
        for shape in SHAPES {
            let mut runs = Vec::with_capacity(options.runs);
            for _ in 0..options.runs {
                let run = run_once(options, shape, variant, n)
                    .map_err(|error| format!("{} {}: {error}", variant.name(), shape.name()))?;
                runs.push(run);
            }
            let row = ChainRow {
                variant,
                shape,
                measured: measure::median(runs),
            };
            eprintln!("  {}", report::chain_progress(&row));
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One run on a fresh runtime.
fn run_once(options: &Options, shape: Shape, variant: Variant, n: u64) -> Result<Measured, String> {
    match shape {
        Shape::Direct => on_runtime(options, drive(agent(), variant, n)),
        Shape::Proxies(k) => {
            let chain = (0..k).fold(Chain::new(agent()), |chain, _| chain.proxy(Proxy.builder()));
            on_runtime(options, drive(chain, variant, n))
        }
    }
}

/// Runs `client` as one task (with everything its connection drives) on a fresh runtime.
fn on_runtime(
    options: &Options,
    client: impl Future<Output = Result<Measured, Error>> + Send + 'static,
) -> Result<Measured, String> {
    options.runtime().block_on(async {
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
            let span = Span::start();
            match variant {
                Variant::Sequential => {
                    for _ in 0..n {
                        ended(prompt(&cx, &session).await?)?;
                    }
                }
                Variant::Pipelined => {
                    common::pipelined(0..n, |_| {
                        let answer = prompt(&cx, &session);
                        async move { ended(answer.await?) }
                    })
                    .await?;
                }
            }
            let measured = span.finish(n);
            // Each update is read before the answer that follows it, so all are in.
            let echoed = echoes.load(Ordering::Relaxed);
            if echoed != n {
                return Err(Error::internal_error(format_args!(
                    "{echoed} echoes for {n} prompts"
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
