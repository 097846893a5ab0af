//! The actors of one connection, and the one future that drives them all.
//!
//! - [`incoming`]: frames → messages → the handler chain, one at a time; answers → the
//!   waiting `SentRequest`.
//! - [`outgoing`]: the one FIFO of frames to the wire.
//! - [`task`]: futures started with `spawn`.
//!
//! The transport they read from and write to is the seam in
//! [`transport`](crate::transport::Transport); framing lives in `wire`.
//!
//! [`run`] polls them together in one future, so a connection needs no runtime: whoever
//! awaits `connect_to` / `connect_with` drives everything. Each poll serves the outgoing actor
//! first, so answers leave before more work is read.

pub(crate) mod incoming;
pub(crate) mod outgoing;
pub(crate) mod scope;
pub(crate) mod task;
pub(crate) mod wake;

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tracing::Instrument;

use futures::future::BoxFuture;

use crate::handler::Handler;
use crate::shared::Shared;
use crate::transport::Transport;
use crate::{ConnectionTo, Error, Role};
use incoming::IncomingActor;
use wake::{LoopWake, part};

/// How many rounds one poll of the connection may take before it yields to the runtime, so
/// that a future that keeps waking itself (or an exhausted tokio budget) cannot starve others.
const ROUNDS_PER_POLL: usize = 32;

/// A task given to `Builder::with_spawned`, started when the connection starts.
pub(crate) type StartTask<Cp> =
    Box<dyn FnOnce(ConnectionTo<Cp>) -> BoxFuture<'static, Result<(), Error>> + Send>;

/// Everything a connection needs, taken from the builder.
pub(crate) struct Parts<R: Role, H> {
    pub(crate) role: R,
    pub(crate) handler: H,
    pub(crate) shared: Arc<Shared>,
    pub(crate) start_tasks: Vec<StartTask<R::Counterpart>>,
    pub(crate) max_frame_bytes: usize,
}

/// Lets the task's waker go when the loop ends, or is dropped midway.
struct ForgetTask<'a>(&'a LoopWake);

impl Drop for ForgetTask<'_> {
    fn drop(&mut self) {
        self.0.forget_task();
    }
}

/// The waker of each part of the poll loop, made once per connection.
struct PartWakers {
    outgoing: Waker,
    tasks: Waker,
    driver: Waker,
    incoming: Waker,
    main: Waker,
}

impl PartWakers {
    fn new(wake: &Arc<LoopWake>) -> Self {
        PartWakers {
            outgoing: wake.waker(part::OUTGOING),
            tasks: wake.waker(part::TASKS),
            driver: wake.waker(part::DRIVER),
            incoming: wake.waker(part::INCOMING),
            main: wake.waker(part::MAIN),
        }
    }

    /// The context to poll `part` in.
    fn cx(&self, part: u8) -> Context<'_> {
        Context::from_waker(match part {
            part::OUTGOING => &self.outgoing,
            part::TASKS => &self.tasks,
            part::DRIVER => &self.driver,
            part::INCOMING => &self.incoming,
            _ => &self.main,
        })
    }
}

/// The peer ended its input: what this side still handles is cancelled once the grace is
/// over (at once without a timer), so work that waits for the peer learns it never will.
fn cancel_after_grace(shared: &Arc<Shared>) {
    if shared.poll_all_answered().is_ready() {
        return;
    }
    match &shared.timer {
        Some(timer) if !shared.input_end_grace.is_zero() => {
            let sleep = timer.sleep(shared.input_end_grace);
            let connection = Arc::clone(shared);
            shared.tasks.spawn_uncounted(async move {
                sleep.await;
                if connection.poll_all_answered().is_pending() {
                    tracing::debug!(
                        grace = ?connection.input_end_grace,
                        "the peer ended its input; cancelling what is still unanswered"
                    );
                    connection.cancellations.cancel_all();
                }
            });
        }
        _ => shared.cancellations.cancel_all(),
    }
}

/// Runs a connection over `transport`.
///
/// Without `main` (`connect_to`): serves until the input ends, then waits until every request
/// already being handled is answered, flushes, and returns `Ok(None)` (or the read error).
///
/// With `main` (`connect_with`): serves until `main` finishes, flushes what is queued, and
/// returns `main`'s output. If the input ends first, pending requests fail and `main` goes on.
///
/// Either way: a write failure or a failed spawned task ends the connection at once with that
/// error, and when this returns every pending request has failed.
pub(crate) async fn run<R, H, T>(
    parts: Parts<R, H>,
    transport: Transport,
    main: Option<impl Future<Output = Result<T, Error>> + Send>,
) -> Result<Option<T>, Error>
where
    R: Role,
    H: Handler<R::Counterpart>,
{
    let span = crate::observe::connection_span(parts.shared.name.as_deref(), &parts.role);
    serve(parts, transport, main).instrument(span).await
}

/// The body of [`run`], inside the connection's span.
async fn serve<R, H, T>(
    parts: Parts<R, H>,
    transport: Transport,
    main: Option<impl Future<Output = Result<T, Error>> + Send>,
) -> Result<Option<T>, Error>
where
    R: Role,
    H: Handler<R::Counterpart>,
{
    let Parts {
        role,
        handler,
        shared,
        start_tasks,
        max_frame_bytes,
    } = parts;
    let Transport {
        incoming: mut frames,
        outgoing: mut sink,
        framing,
        mut driver,
        sent_tap,
    } = transport;
    shared.outgoing.use_framing(framing);
    let cx = ConnectionTo::new(Arc::clone(&shared), role.counterpart());
    for start in start_tasks {
        shared.tasks.spawn(start(cx.clone()));
    }
    let mut actor = IncomingActor {
        role,
        handler,
        cx,
        max_frame_bytes,
        candidates: Vec::new(),
        parking_active: false,
    };

    let mut incoming = pin!(actor.run(&mut frames));
    let mut outgoing = pin!(outgoing::run(&shared.outgoing, &mut sink, sent_tap));
    let mut tasks = pin!(task::run(&shared.tasks));
    let mut main = pin!(main);
    let serving_until_eof = main.is_none();

    let mut reading = true;
    let mut read_error: Option<Error> = None;
    let mut main_output: Option<Result<T, Error>> = None;
    let mut closing = false;
    let mut written_all = false;

    let loop_wake = Arc::clone(&shared.wake);
    let wakers = PartWakers::new(&loop_wake);
    let _forget_task = ForgetTask(&loop_wake);
    let mut registered_task = None;
    let fatal = poll_fn(|task_cx| {
        let _entered = loop_wake.enter(task_cx.waker(), &mut registered_task);
        let mut rounds = 0;
        loop {
            rounds += 1;
            // This round polls the parts woken since the last one (all of them at first);
            // a part that was not woken still waits for what it waited for.
            let due = loop_wake.take_woken();
            let woken = |part: u8| due & part != 0;
            let mut progressed = false;
            // Outgoing first, so answers leave before more work is taken in.
            if !written_all
                && woken(part::OUTGOING)
                && let Poll::Ready(result) = outgoing.as_mut().poll(&mut wakers.cx(part::OUTGOING))
            {
                written_all = true;
                progressed = true;
                if let Err(error) = result {
                    if reading {
                        return Poll::Ready(Some(error));
                    }
                    // The peer ended its input and stopped reading ours: what is still queued
                    // has nowhere to go. That is how a peer hangs up, not a failure.
                    tracing::debug!(%error, "the peer is gone; dropping what was still queued");
                    shared.outgoing.close();
                }
            }
            if written_all && (serving_until_eof || main_output.is_some()) {
                return Poll::Ready(None);
            }
            if woken(part::TASKS)
                && let Poll::Ready(error) = tasks.as_mut().poll(&mut wakers.cx(part::TASKS))
            {
                return Poll::Ready(Some(error));
            }
            if woken(part::DRIVER)
                && let Some(running) = driver.as_mut()
                && let Poll::Ready(result) = running.as_mut().poll(&mut wakers.cx(part::DRIVER))
            {
                if let Err(error) = result {
                    tracing::warn!(%error, "the transport's driver failed");
                }
                driver = None;
            }
            if reading
                && woken(part::INCOMING)
                && let Poll::Ready(result) = incoming.as_mut().poll(&mut wakers.cx(part::INCOMING))
            {
                reading = false;
                progressed = true;
                let why = match result {
                    Ok(()) => Error::connection_closed("the peer ended the input"),
                    Err(error) => {
                        let why = Error::connection_closed(format_args!(
                            "reading failed: {}",
                            error.message()
                        ));
                        read_error = Some(error);
                        why
                    }
                };
                for callback in shared.pending.close(&why) {
                    shared.tasks.spawn_owed(callback);
                }
                // Nothing new can arrive, so nothing parked can be claimed any more.
                let parked = shared.dynamic().drain_parked();
                incoming::give_up(parked, "the input ended");
                shared.input_ended.set();
                // No credit can come from the peer any more.
                shared.streams.close(&why);
                cancel_after_grace(&shared);
            }
            if woken(part::MAIN)
                && let Some(main) = main.as_mut().as_pin_mut()
                && main_output.is_none()
                && let Poll::Ready(output) = main.poll(&mut wakers.cx(part::MAIN))
            {
                main_output = Some(output);
                progressed = true;
            }
            if !closing {
                // Answer callbacks already started are owed their run before the queue closes.
                let done = shared.tasks.owed_done()
                    && if serving_until_eof {
                        !reading && shared.poll_all_answered().is_ready()
                    } else {
                        main_output.is_some()
                    };
                if done {
                    closing = true;
                    progressed = true;
                    reading = false;
                    shared.outgoing.close();
                }
            }
            if !progressed && !loop_wake.leave() {
                return Poll::Pending;
            }
            // Going round again, for progress or for a wake: a future that wakes itself every
            // time it is polled (an exhausted tokio budget) would otherwise keep us here.
            if rounds >= ROUNDS_PER_POLL {
                task_cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    })
    .await;

    // Whatever happened, nobody may wait for an answer from this connection any more, and
    // queued tasks (which hold clones of the connection) must not keep it alive.
    // Whatever ended it, a waiting request hears "connection closed" (guarantee 3), with the
    // cause in the message; the cause itself is what `connect_to`/`connect_with` return.
    let why = match &fatal {
        Some(error) => Error::connection_closed(error.message()),
        None => Error::connection_closed("the connection has ended"),
    };
    // Requests still waiting fail now; their callbacks are owed that error, so they run here.
    futures::future::join_all(shared.pending.close(&why)).await;
    shared.input_ended.set();
    shared.streams.close(&why);
    shared.outgoing.close();
    shared.tasks.clear();
    shared.cancellations.clear();
    let (parked, handlers) = shared.dynamic().drain();
    drop((parked, handlers));

    if let Some(error) = fatal {
        return Err(error);
    }
    match (main_output, read_error) {
        (Some(Err(error)), _) | (_, Some(error)) => Err(error),
        (Some(Ok(value)), None) => Ok(Some(value)),
        (None, None) => Ok(None),
    }
}
