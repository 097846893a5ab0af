//! Running a chain: one connection per node, all driven by one future.
//!
//! Each connection's handler is a [`Route`]. Every connection's main future links the node,
//! then waits for its peer to hang up or for the chain to end. How it ends:
//!
//! - **A component ends** (its input ends, its transport fails). Before its connection hears
//!   of it, a hook finds out why (a process's exit status and stderr) and ends the chain with
//!   that cause. Every component connection then closes, which fails what the conductor was
//!   waiting for on them; a request from the editor fails with the cause. Only then does
//!   the editor's connection close, after what it was owed is written.
//! - **The editor hangs up.** What it asked is answered first: its requests still in the
//!   chain have the editor connection's input-end grace to be answered, then they are
//!   cancelled hop by hop and answered as cancelled (bounded by [`EXIT_GRACE`] more). Then
//!   the chain ends without a cause: every component's stdin is closed, and each process gets
//!   [`EXIT_GRACE`] to exit before it is killed.

use std::future::Future;
use std::sync::Arc;

use futures::future::{BoxFuture, join_all};
use switchboard::builder::PauseReading;
use switchboard::transport::Transport;
use switchboard::{Builder, ConnectTo, Error};
use switchboard_acp::process::{AgentProcess, EXIT_GRACE};
use switchboard_acp::{Agent, Client, Conductor};

use crate::chain::Chain;
use crate::component::Erased;
use crate::mcp_bridge::{Bridges, serve_bridges};
use crate::route::Route;
use crate::state::{Bounds, ChainState, Link};
use crate::trace::Trace;

pub(crate) async fn run(
    chain: Chain,
    editor: impl ConnectTo<Agent>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let Chain {
        proxies,
        agent,
        trace,
        max_outgoing_bytes,
        mcp_bridge,
    } = chain;
    let limit = max_outgoing_bytes.unwrap_or(switchboard::builder::DEFAULT_MAX_OUTGOING_BYTES);
    let bounds = Bounds::new(limit, proxies.len());
    let mut names = vec!["the editor".to_owned()];
    for (index, proxy) in proxies.iter().enumerate() {
        names.push(match proxy.program() {
            Some(program) => format!("proxy {} (`{program}`)", index + 1),
            None => format!("proxy {}", index + 1),
        });
    }
    names.push(match agent.program() {
        Some(program) => format!("the agent (`{program}`)"),
        None => "the agent".to_owned(),
    });
    let state = Arc::new(ChainState::new(names, bounds, Bridges::new(mcp_bridge)));

    // Every process starts before anything is read: one that cannot start fails the chain
    // at once, and the others are killed as they are dropped.
    let mut started_proxies = Vec::with_capacity(proxies.len());
    for (index, proxy) in proxies.into_iter().enumerate() {
        started_proxies.push(proxy.start(state.name(index + 1))?);
    }
    let agent_node = state.agent_node();
    let started_agent = agent.start(state.name(agent_node))?;

    // Each connection is a task of its own where that is cheap (see `own_task`).
    let mut components = Vec::with_capacity(agent_node);
    for (index, (connect, process)) in started_proxies.into_iter().enumerate() {
        let node = index + 1;
        let builder = component_builder(Conductor, state.name(node), bounds);
        let served = serve(
            builder,
            node,
            connect,
            process,
            Arc::clone(&state),
            trace.clone(),
            Link::Proxy,
        );
        components.push(own_task(served));
    }
    let (connect, process) = started_agent;
    let builder = component_builder(Client, state.name(agent_node), bounds);
    components.push(own_task(serve(
        builder,
        agent_node,
        connect,
        process,
        Arc::clone(&state),
        trace.clone(),
        Link::Agent,
    )));

    let components = {
        let state = Arc::clone(&state);
        async move {
            join_all(components).await;
            state.components_closed();
        }
    };
    let editor = traced(
        Erased::new(move |config| editor.into_transport(config)),
        &trace,
        0,
        &state,
    );
    let served_editor = {
        let state = Arc::clone(&state);
        let served = Builder::new(Agent)
            .name("editor")
            // Proxies' messages to the editor are never refused below the ceiling; the
            // editor's own are read while it takes what it is sent.
            .max_outgoing_bytes(bounds.ceiling)
            .pause_reading(PauseReading::AtBytes(bounds.room))
            .with_handler(Route::new(0, Arc::clone(&state)))
            .connect_with(editor, {
                let state = Arc::clone(&state);
                async move |cx| {
                    state.link(0, Link::Editor(cx.clone()));
                    tokio::select! {
                        // Told to stop (a signal, for the program): like a hang-up, without
                        // waiting for answers.
                        () = stop => state.end(None),
                        () = cx.input_ended() => {
                            // An editor may close its side and go on reading: what it asked
                            // is answered first. After the connection's input-end grace its
                            // requests are cancelled, hop by hop; the components then get as
                            // long to answer that as they get to exit.
                            let answered = cx.all_answered();
                            let bound = switchboard::builder::DEFAULT_INPUT_END_GRACE + EXIT_GRACE;
                            tokio::select! {
                                _ = tokio::time::timeout(bound, answered) => {}
                                () = state.ended() => {}
                            }
                            state.end(None);
                        }
                        () = state.ended() => {}
                    }
                    // What the components owed the editor (errors, mostly) is queued by then.
                    state.wait_components_closed().await;
                    Ok(())
                }
            });
        async move {
            let served = served.await;
            // However the editor's connection ended (a failed write to an editor that is
            // gone, say), the chain ends with it.
            state.end(None);
            served
        }
    };
    // The bridges end with the chain; an agent's relays exit as their connections close.
    let (served_editor, (), ()) = futures::join!(
        own_task(served_editor),
        components,
        serve_bridges(Arc::clone(&state))
    );
    match state.cause() {
        Some(cause) => Err(cause),
        None => served_editor,
    }
}

/// The conductor's side of a connection to a component: it never stops reading (the
/// component's traffic is bounded where it enters the chain; see `route`), and refuses to
/// queue more than the ceiling.
fn component_builder<R: switchboard::Role>(role: R, name: &str, bounds: Bounds) -> Builder<R> {
    Builder::new(role)
        .name(name)
        .max_outgoing_bytes(bounds.ceiling)
        .pause_reading(PauseReading::Never)
}

/// Serves the connection to one component until the chain ends, then lets its process go.
/// It owns what it uses, so that it can be a task of its own.
async fn serve<R: switchboard::Role>(
    builder: Builder<R>,
    node: usize,
    connect: Erased<R>,
    process: Option<AgentProcess>,
    state: Arc<ChainState>,
    trace: Option<Trace>,
    link: fn(switchboard::ConnectionTo<R::Counterpart>) -> Link,
) {
    let (state, trace) = (&state, &trace);
    let process = process.map(|process| Arc::new(tokio::sync::Mutex::new(process)));
    let (hooked_process, hooked_state) = (process.clone(), Arc::clone(state));
    let hook = move |error: Option<&Error>| {
        // A component with no process to ask (a remote agent) has only its transport's
        // error to say why it went.
        let failed = error.map(|error| error.message().to_owned());
        end_hook(node, hooked_process, hooked_state, failed)
    };
    let connect = traced(
        connect.map(move |transport| transport.on_input_end_with(hook)),
        trace,
        node,
        state,
    );
    let served = {
        let state = Arc::clone(state);
        builder
            .with_handler(Route::new(node, Arc::clone(&state)))
            .connect_with(connect, async move |cx| {
                state.link(node, link(cx.clone()));
                tokio::select! {
                    () = cx.input_ended() => {}
                    () = state.ended() => {}
                }
                Ok(())
            })
    };
    // Once the chain has ended, the connection flushes what is queued for the component; a
    // component that reads nothing more (stuck, or waiting for us to read what it is still
    // writing) gets EXIT_GRACE for that, then its connection is dropped, which closes its
    // stdin all the same.
    let flush_bound = async {
        state.ended().await;
        tokio::time::sleep(EXIT_GRACE).await;
    };
    let served = tokio::select! {
        served = served => served,
        () = flush_bound => {
            tracing::warn!(component = state.name(node), "dropping what was still queued for it");
            Ok(())
        }
    };
    // Ended some other way than through the hook: it could not connect, say.
    let cause = match served {
        Err(error) => Error::connection_closed(format!(
            "the chain broke: the connection to {} failed: {}",
            state.name(node),
            error.message()
        )),
        Ok(()) => Error::connection_closed(format!(
            "the chain broke: {} closed its connection",
            state.name(node)
        )),
    };
    if !state.is_ended() {
        state.end(Some(cause));
    }
    if let Some(process) = process {
        // Its stdin is closed: a well-behaved component exits now. One that does not is
        // killed with everything it started after its grace, and reaped, so that it is gone
        // before the conductor is.
        if let Err(error) = process.lock().await.end().await {
            tracing::warn!(component = state.name(node), %error, "ending it failed");
        }
    }
}

/// Runs when a component's input ends, before its connection hears of it: records why, so
/// that every error it causes can say so. `failed` is the transport's error, if it failed.
async fn end_hook(
    node: usize,
    process: Option<Arc<tokio::sync::Mutex<AgentProcess>>>,
    state: Arc<ChainState>,
    failed: Option<String>,
) {
    if state.is_ended() {
        return;
    }
    let broke = Error::connection_closed("the chain broke");
    let cause = match (process, failed) {
        (Some(process), _) => process.lock().await.explain(broke).await,
        (None, Some(failed)) => Error::connection_closed(format!(
            "the chain broke: the connection to {} failed: {failed}",
            state.name(node)
        )),
        (None, None) => Error::connection_closed(format!(
            "the chain broke: {} closed its connection",
            state.name(node)
        )),
    };
    state.end(Some(cause));
}

/// `future`, as a task of its own when it runs on a current-thread tokio runtime (as the
/// `switchboard-conductor` program does), else as it is.
///
/// Why: every connection of the chain relays to another, so a message crossing the
/// conductor wakes the connection it goes out on. Joined in one future, that wake is a wake
/// of the whole future while it is being polled: the runtime then checks for I/O without
/// waiting (one more `epoll_wait` per hop) and polls every connection again before the
/// message is written. As tasks, the woken connection is simply the next task run, on the
/// same thread. On a multi-thread runtime the tasks could run on other threads, and a hop
/// would cost a wake across threads instead, so the connections stay joined there.
///
/// Dropping the returned future aborts the task: nothing of the chain outlives its future.
fn own_task<F>(future: F) -> BoxFuture<'static, F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    let current_thread = Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::CurrentThread);
    if !current_thread {
        return Box::pin(future);
    }
    let task = AbortOnDrop(tokio::spawn(future));
    Box::pin(async move {
        let mut task = task;
        match (&mut task.0).await {
            Ok(output) => output,
            Err(error) => match error.try_into_panic() {
                // As if it had panicked in place, which is what the joined future would do.
                Ok(panic) => std::panic::resume_unwind(panic),
                // Cancelled: only this future aborts it, when dropped, so the runtime is
                // shutting down and drops this future too.
                Err(_) => std::future::pending().await,
            },
        }
    })
}

/// A task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `connect`, traced as hop `node` if there is a trace.
fn traced<R: 'static>(
    connect: Erased<R>,
    trace: &Option<Trace>,
    node: usize,
    state: &ChainState,
) -> Erased<R> {
    match trace {
        Some(trace) => {
            let tap = trace.tap(node, state.name(node));
            connect.map(move |transport: Transport| transport.inspect(tap))
        }
        None => connect,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchboard::Channel;
    use switchboard_acp::{Agent, Proxy};

    use crate::Chain;

    /// Runs a chain of one proxy and an agent, both in process, for a moment on `runtime`;
    /// returns how many tasks were alive then, and once the chain's future was dropped.
    fn tasks_while_running_and_after(runtime: &tokio::runtime::Runtime) -> (usize, usize) {
        runtime.block_on(async {
            let metrics = tokio::runtime::Handle::current().metrics();
            // The editor stays connected, so the chain runs until its future is dropped.
            let (_editor, chain_end) = Channel::duplex();
            let chain = Chain::new(Agent.builder()).proxy(Proxy.builder());
            let mut running = Box::pin(chain.run(chain_end));
            tokio::select! {
                ended = &mut running => panic!("the chain ended: {ended:?}"),
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            let alive = metrics.num_alive_tasks();
            drop(running);
            // An aborted task goes once the runtime gets to it.
            for _ in 0..100 {
                if metrics.num_alive_tasks() == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (alive, metrics.num_alive_tasks())
        })
    }

    #[test]
    fn on_a_current_thread_runtime_each_connection_is_a_task_and_none_outlives_the_chain() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (alive, after) = tasks_while_running_and_after(&runtime);
        assert_eq!(
            alive, 3,
            "the editor's, the proxy's and the agent's connections"
        );
        assert_eq!(after, 0, "dropping the chain's future aborts its tasks");
    }

    #[test]
    fn on_a_multi_thread_runtime_the_connections_stay_in_the_chains_future() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(tasks_while_running_and_after(&runtime), (0, 0));
    }
}
