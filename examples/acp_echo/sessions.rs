//! The echo agent's session lifecycle: `session/new`, `load`, `resume`, `list`, `close` and
//! `delete`.
//!
//! A session is kept from `session/new` until `session/delete`. While it is open it has a
//! keyed handler for its prompts; `session/close` cancels its turn and drops that handler,
//! and `session/load` or `session/resume` opens it again. `session/list` lists every session
//! kept (open or closed), [`LIST_PAGE`] at a time.

use std::sync::{Arc, Mutex, PoisonError};

use switchboard::{ConnectionTo, Error, Responder};
use switchboard_acp::role::session_not_found;
use switchboard_acp::schema::{
    CloseSessionRequest, CloseSessionResponse, DeleteSessionRequest, DeleteSessionResponse,
    ListSessionsRequest, ListSessionsResponse, LoadSessionRequest, LoadSessionResponse,
    NewSessionRequest, NewSessionResponse, ResumeSessionRequest, ResumeSessionResponse, SessionId,
    SessionInfo,
};
use switchboard_acp::session::{page, session_key};
use switchboard_acp::{AgentSession, Client, mcp_over_acp};

use super::{EchoSession, SessionHandler, Shared, lock};

/// How many sessions one `session/list` answer holds; the rest follow its `nextCursor`.
pub const LIST_PAGE: usize = 10;

pub(super) fn new_session(
    state: &Shared,
    request: NewSessionRequest,
    responder: Responder<NewSessionResponse>,
    cx: &ConnectionTo<Client>,
) -> Result<(), Error> {
    let mut guard = lock(state);
    if !guard.options.reaches_acp_servers
        && mcp_over_acp::acp_servers(&request.mcp_servers)
            .next()
            .is_some()
    {
        drop(guard);
        return responder.respond_with_error(Error::invalid_params(
            "this agent did not advertise mcpCapabilities.acp: it cannot reach `acp` MCP servers",
        ));
    }
    guard.created += 1;
    let id = SessionId::new(format!("echo-{}", guard.created));
    let mut session = EchoSession {
        number: guard.created,
        handle: AgentSession::new(id.clone(), cx.clone()),
        transcript: Arc::new(Mutex::new(Vec::new())),
        cwd: request.cwd,
        mcp_servers: request.mcp_servers,
        serving: None,
    };
    open(&mut session, state, cx);
    guard.sessions.insert(id.clone(), session);
    drop(guard);
    responder.respond(NewSessionResponse::new(id))
}

/// Gives `session` its keyed handler, unless it has one.
fn open(session: &mut EchoSession, state: &Shared, cx: &ConnectionTo<Client>) {
    if session.serving.is_some() {
        return;
    }
    let handler = SessionHandler {
        session: session.handle.clone(),
        state: Arc::clone(state),
        transcript: Arc::clone(&session.transcript),
        cwd: session.cwd.clone(),
        mcp_servers: session.mcp_servers.clone(),
    };
    session.serving = Some(cx.add_keyed_handler(session_key(session.handle.id()), handler));
}

/// Runs `f` on the kept session `id`, under the state's lock; `None` if there is none.
fn with_kept<R>(
    state: &Shared,
    id: &SessionId,
    f: impl FnOnce(&mut EchoSession) -> R,
) -> Option<R> {
    lock(state).sessions.get_mut(id).map(f)
}

pub(super) fn load_session(
    state: &Shared,
    request: &LoadSessionRequest,
    responder: Responder<LoadSessionResponse>,
    cx: &ConnectionTo<Client>,
) -> Result<(), Error> {
    let opened = with_kept(state, &request.session_id, |session| {
        open(session, state, cx);
        let replay = session
            .transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        (session.handle.clone(), replay)
    });
    let Some((handle, replay)) = opened else {
        return responder.respond_with_error(Error::invalid_params(format_args!(
            "no session `{}`: this agent loads only sessions it created",
            request.session_id
        )));
    };
    // The history goes out as updates first, then the answer: a task, so that a long
    // history waits for room without holding up the dispatch loop.
    cx.spawn(async move {
        for update in replay {
            handle.update(update).await?;
        }
        responder.respond(LoadSessionResponse::new())
    });
    Ok(())
}

/// Opens a kept session again, without replaying it.
pub(super) fn resume_session(
    state: &Shared,
    request: &ResumeSessionRequest,
    responder: Responder<ResumeSessionResponse>,
    cx: &ConnectionTo<Client>,
) -> Result<(), Error> {
    match with_kept(state, &request.session_id, |session| {
        open(session, state, cx)
    }) {
        Some(()) => responder.respond(ResumeSessionResponse::new()),
        None => responder.respond_with_error(session_not_found(&request.session_id.0)),
    }
}

/// Every kept session (in `cwd`, if the request names one), in the order they were made, a
/// page at a time.
pub(super) fn list_sessions(
    state: &Shared,
    request: &ListSessionsRequest,
    responder: Responder<ListSessionsResponse>,
) -> Result<(), Error> {
    let guard = lock(state);
    let mut kept: Vec<(u64, SessionInfo)> = guard
        .sessions
        .values()
        .filter(|session| request.cwd.as_ref().is_none_or(|cwd| *cwd == session.cwd))
        .map(|session| {
            let info = SessionInfo::new(session.handle.id().clone(), session.cwd.clone());
            (session.number, info)
        })
        .collect();
    drop(guard);
    kept.sort_by_key(|(number, _)| *number);
    let infos = kept.into_iter().map(|(_, info)| info).collect();
    match page(infos, request.cursor.as_deref(), LIST_PAGE) {
        Ok((sessions, next)) => {
            responder.respond(ListSessionsResponse::new(sessions).next_cursor(next))
        }
        Err(error) => responder.respond_with_error(error),
    }
}

/// Cancels the session's turn and drops its handler; the session is kept (listed, and
/// opened again by `session/load` or `session/resume`) until deleted.
pub(super) fn close_session(
    state: &Shared,
    request: &CloseSessionRequest,
    responder: Responder<CloseSessionResponse>,
) -> Result<(), Error> {
    let closed = with_kept(state, &request.session_id, |session| {
        session.handle.cancel();
        session.serving.take()
    });
    let Some(serving) = closed else {
        return responder.respond_with_error(session_not_found(&request.session_id.0));
    };
    // Dropped outside the lock: the handler's registration takes the connection's.
    drop(serving);
    responder.respond(CloseSessionResponse::new())
}

/// Forgets the session altogether: its turn is cancelled, its handler and history dropped.
pub(super) fn delete_session(
    state: &Shared,
    request: &DeleteSessionRequest,
    responder: Responder<DeleteSessionResponse>,
) -> Result<(), Error> {
    let Some(deleted) = lock(state).sessions.remove(&request.session_id) else {
        return responder.respond_with_error(session_not_found(&request.session_id.0));
    };
    deleted.handle.cancel();
    drop(deleted);
    responder.respond(DeleteSessionResponse::new())
}
