//! The dispatch scope: knowing, from inside a handler, that we are inside one.
//!
//! While the incoming actor polls a handler, it puts a [`DispatchScope`] in a thread-local for
//! the length of that poll, and takes it back out afterwards. Two things read it:
//!
//! - `SentRequest::block_task` refuses to wait for an answer on the connection whose dispatch
//!   loop is running it: the answer could only be read after the handler returns, so waiting
//!   would deadlock. The refusal is an immediate error (guarantee 2).
//! - A `Responder` dropped unanswered while its own request is being handled leaves its answer
//!   to the incoming actor, which then answers with the handler's error (or -32603, or a panic
//!   message) once the handler is done. Dropped anywhere else, it answers -32603 itself.
//!
//! The scope is per poll, not per task, so connections that share a thread or a task never see
//! each other's scope.
//!
//! Spawned tasks get a scope of their own, a [`TaskScope`]: a responder of the task's
//! connection dropped unanswered while the task is polled is kept, and answered after the
//! poll with the task's error if the task just failed (or -32603 otherwise). That is how a
//! task that fails still answers the request it owed with *why*. It does not make
//! `block_task` refuse: waiting is what tasks are for.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

use crate::responder::ResponderCore;

/// What the incoming actor is dispatching right now.
#[derive(Default)]
pub(crate) struct DispatchScope {
    /// The connection whose dispatch loop is running.
    pub(crate) connection: u64,
    /// The serial number of the responder of the request being handled, if it is a request.
    pub(crate) responder: Option<u64>,
    /// That responder, if it was dropped without answering during the handler.
    pub(crate) orphan: Option<ResponderCore>,
}

thread_local! {
    static CURRENT: RefCell<Option<DispatchScope>> = const { RefCell::new(None) };
}

/// Polls `future` with `scope` installed, and gives the scope back with the output.
pub(crate) async fn run_in_scope<F: Future>(
    scope: DispatchScope,
    mut future: Pin<&mut F>,
) -> (std::thread::Result<F::Output>, DispatchScope) {
    // Polled in place through the pin, with the panic caught right here: wrapping it in
    // `catch_unwind` and friends, or taking it by value, would copy the (large) future once
    // per wrapper, for every message.
    let mut scope = scope;
    let output = poll_fn(|cx| {
        let outer = CURRENT.with(|current| current.replace(Some(std::mem::take(&mut scope))));
        let poll = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        scope = CURRENT
            .with(|current| current.replace(outer))
            .unwrap_or_default();
        match poll {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await;
    (output, scope)
}

/// True when the dispatch loop of `connection` is polling the caller.
pub(crate) fn inside_dispatch_of(connection: u64) -> bool {
    CURRENT
        .try_with(|current| {
            current.try_borrow().is_ok_and(|scope| {
                scope
                    .as_ref()
                    .is_some_and(|scope| scope.connection == connection)
            })
        })
        .unwrap_or(false)
}

/// Hands an unanswered responder to the incoming actor if its request is the one being
/// dispatched. Gives it back when it must answer by itself.
pub(crate) fn adopt_orphan(core: ResponderCore) -> Option<ResponderCore> {
    let mut core = Some(core);
    // `try_with` fails only while the thread is being torn down; the responder answers by
    // itself then.
    let _ = CURRENT.try_with(|current| {
        let Ok(mut scope) = current.try_borrow_mut() else {
            return;
        };
        if let Some(scope) = scope.as_mut()
            && let Some(candidate) = &core
            && scope.connection == candidate.connection_id()
            && scope.responder == Some(candidate.serial())
        {
            scope.orphan = core.take();
        }
    });
    core
}

/// The responders a spawned task dropped unanswered during one poll.
pub(crate) struct TaskScope {
    connection: u64,
    orphans: Vec<ResponderCore>,
}

thread_local! {
    static TASK: RefCell<Option<TaskScope>> = const { RefCell::new(None) };
}

/// Polls `future`, a task of `connection`, with a task scope installed; returns the poll (or
/// the panic) and the responders it dropped unanswered.
pub(crate) fn poll_task<F: Future + ?Sized>(
    connection: u64,
    future: Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
) -> (std::thread::Result<Poll<F::Output>>, Vec<ResponderCore>) {
    let scope = TaskScope {
        connection,
        orphans: Vec::new(),
    };
    let outer = TASK.with(|current| current.replace(Some(scope)));
    let poll = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
    let scope = TASK.with(|current| current.replace(outer));
    (poll, scope.map(|scope| scope.orphans).unwrap_or_default())
}

/// Hands an unanswered responder to the task being polled, if it belongs to that task's
/// connection. Gives it back when it must answer by itself.
pub(crate) fn adopt_task_orphan(core: ResponderCore) -> Option<ResponderCore> {
    let mut core = Some(core);
    let _ = TASK.try_with(|current| {
        let Ok(mut scope) = current.try_borrow_mut() else {
            return;
        };
        if let Some(scope) = scope.as_mut()
            && let Some(candidate) = core.take()
        {
            if scope.connection == candidate.connection_id() {
                scope.orphans.push(candidate);
            } else {
                core = Some(candidate);
            }
        }
    });
    core
}
