//! The client's side of a session: open, load or resume it, prompt it, read its updates,
//! close it; list and delete sessions.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, Stream, StreamExt};
use switchboard::dynamic::DynamicHandlerRegistration;
use switchboard::message::{NoMessage, Typed};
use switchboard::{ConnectionTo, Dispatch, Error, Handled, Handler, SentRequest};

use super::session_key;
use crate::initialize::check_agent_version;
use crate::role::Agent;
use crate::schema::{
    CancelNotification, CloseSessionRequest, CloseSessionResponse, ContentBlock,
    DeleteSessionRequest, DeleteSessionResponse, InitializeRequest, InitializeResponse,
    ListSessionsRequest, LoadSessionRequest, LoadSessionResponse, NewSessionRequest,
    NewSessionResponse, PromptRequest, PromptResponse, ResumeSessionRequest, ResumeSessionResponse,
    SessionId, SessionInfo, SessionNotification, TextContent,
};

/// At most this many pages are read by [`AcpClient::list_all_sessions`]: a guard against an
/// agent whose cursors never end.
pub const MAX_SESSION_LIST_PAGES: usize = 1024;

/// How many events a session holds for its reader before the connection stops reading
/// (backpressure: a session whose updates are not read slows the whole connection down).
pub const SESSION_EVENT_BUFFER: usize = 256;

/// What a [`ClientSession`] yields, in the order the agent sent it.
// Each event moves through the buffer once; which variant is the larger depends on the
// schema's features, and boxing either would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SessionEvent {
    /// A `session/update` for this session.
    Update(SessionNotification),
    /// The answer to a prompt sent with [`ClientSession::send_prompt`], after every update
    /// the agent sent before it.
    PromptFinished(Result<PromptResponse, Error>),
}

#[allow(clippy::large_enum_variant)]
/// What flows from the connection to the session: its events, and the answer to the
/// `session/load` or `session/resume` that opened it (consumed before the session is handed
/// out; its type is the request's answer).
enum Event {
    Public(SessionEvent),
    Opened(Result<Box<dyn std::any::Any + Send>, Error>),
}

/// The client's requests that open things, on a connection to an agent.
///
/// The waiting ones (`new_session`, `load_session`) are for code outside the dispatch loop,
/// like [`SentRequest::block_task`]: called from a handler they fail at once instead of
/// deadlocking.
pub trait AcpClient {
    /// Sends `initialize` and checks the agent's protocol version: an answer with a version
    /// this crate does not speak is an error.
    fn initialize(&self, request: InitializeRequest) -> SentRequest<InitializeResponse>;

    /// Opens a session with `session/new`. Its handler is in place before any later message
    /// is read, and updates that arrived before the answer were parked for it: none is lost.
    fn new_session(
        &self,
        request: NewSessionRequest,
    ) -> impl Future<Output = Result<(ClientSession, NewSessionResponse), Error>> + Send;

    /// Loads a session with `session/load`. The agent replays the conversation as updates
    /// before it answers; each is given to `on_update` as it arrives.
    fn load_session(
        &self,
        request: LoadSessionRequest,
        on_update: impl FnMut(SessionNotification) + Send,
    ) -> impl Future<Output = Result<(ClientSession, LoadSessionResponse), Error>> + Send;

    /// Resumes a session with `session/resume` (the agent advertises
    /// `sessionCapabilities.resume`): like [`load_session`](AcpClient::load_session), without
    /// the replay. Updates the agent sends before its answer go to `on_update`.
    fn resume_session(
        &self,
        request: ResumeSessionRequest,
        on_update: impl FnMut(SessionNotification) + Send,
    ) -> impl Future<Output = Result<(ClientSession, ResumeSessionResponse), Error>> + Send;

    /// Every session the agent lists (`session/list`, `sessionCapabilities.list`), following
    /// `nextCursor` page by page (at most [`MAX_SESSION_LIST_PAGES`] pages; an agent whose
    /// cursor repeats or never ends is an error). `request` sets the filter (`cwd`) and the
    /// first cursor.
    fn list_all_sessions(
        &self,
        request: ListSessionsRequest,
    ) -> impl Future<Output = Result<Vec<SessionInfo>, Error>> + Send;

    /// Deletes a session (`session/delete`, `sessionCapabilities.delete`): the agent forgets
    /// it, and it is no longer listed.
    fn delete_session(&self, id: SessionId) -> SentRequest<DeleteSessionResponse>;

    /// Forks a session with `session/fork` (feature `unstable_session_fork`): a new session
    /// that starts from the other's conversation, opened like
    /// [`new_session`](AcpClient::new_session).
    #[cfg(feature = "unstable_session_fork")]
    fn fork_session(
        &self,
        request: crate::schema::ForkSessionRequest,
    ) -> impl Future<Output = Result<(ClientSession, crate::schema::ForkSessionResponse), Error>> + Send;
}

impl AcpClient for ConnectionTo<Agent> {
    fn initialize(&self, request: InitializeRequest) -> SentRequest<InitializeResponse> {
        self.send_request(request).map(check_agent_version)
    }

    async fn new_session(
        &self,
        request: NewSessionRequest,
    ) -> Result<(ClientSession, NewSessionResponse), Error> {
        open_new(self, self.send_request(request), |answer| {
            &answer.session_id
        })
        .await
    }

    #[cfg(feature = "unstable_session_fork")]
    async fn fork_session(
        &self,
        request: crate::schema::ForkSessionRequest,
    ) -> Result<(ClientSession, crate::schema::ForkSessionResponse), Error> {
        open_new(self, self.send_request(request), |answer| {
            &answer.session_id
        })
        .await
    }

    async fn load_session(
        &self,
        request: LoadSessionRequest,
        on_update: impl FnMut(SessionNotification) + Send,
    ) -> Result<(ClientSession, LoadSessionResponse), Error> {
        let id = request.session_id.clone();
        open_known(self, id, self.send_request(request), on_update).await
    }

    async fn resume_session(
        &self,
        request: ResumeSessionRequest,
        on_update: impl FnMut(SessionNotification) + Send,
    ) -> Result<(ClientSession, ResumeSessionResponse), Error> {
        let id = request.session_id.clone();
        open_known(self, id, self.send_request(request), on_update).await
    }

    async fn list_all_sessions(
        &self,
        mut request: ListSessionsRequest,
    ) -> Result<Vec<SessionInfo>, Error> {
        let mut sessions = Vec::new();
        let mut seen_cursors = std::collections::HashSet::new();
        for _ in 0..MAX_SESSION_LIST_PAGES {
            let page = self.send_request(request.clone()).block_task().await?;
            sessions.extend(page.sessions);
            match page.next_cursor {
                None => return Ok(sessions),
                Some(cursor) if !seen_cursors.insert(cursor.clone()) => {
                    return Err(Error::internal_error(format_args!(
                        "the agent's `session/list` cursor `{cursor}` came back twice"
                    )));
                }
                Some(cursor) => request.cursor = Some(cursor),
            }
        }
        Err(Error::internal_error(format_args!(
            "the agent's `session/list` did not end within {MAX_SESSION_LIST_PAGES} pages"
        )))
    }

    fn delete_session(&self, id: SessionId) -> SentRequest<DeleteSessionResponse> {
        self.send_request(DeleteSessionRequest::new(id))
    }
}

/// Opens the handle of the session whose id the answer to `sent` names. The handler goes in
/// as the answer is dispatched, before the next incoming message is read, and updates that
/// came before it were parked for it: none is lost.
async fn open_new<T: Send + 'static>(
    cx: &ConnectionTo<Agent>,
    sent: SentRequest<T>,
    id_of: fn(&T) -> &SessionId,
) -> Result<(ClientSession, T), Error> {
    cx.ensure_outside_dispatch()?;
    let (opened_tx, opened_rx) = oneshot::channel();
    let owner = cx.clone();
    sent.on_receiving_result(async move |result| {
        // This runs in the dispatch loop, before the next incoming message: the session's
        // handler is in place before its first update is read.
        let opened = result.map(|answer| {
            let session = ClientSession::open(&owner, id_of(&answer).clone());
            (session, answer)
        });
        // Nobody waiting: the session handle is dropped, and its handler with it.
        let _ = opened_tx.send(opened);
        Ok(())
    });
    opened_rx.await.map_err(|_| {
        Error::connection_closed("the connection ended before the session was opened")
    })?
}

/// Opens the handle of session `id` (whose handler goes in before `sent` leaves, the id being
/// known), gives the updates that come before the answer to `on_update`, and returns the
/// handle with the answer.
async fn open_known<T: Send + 'static>(
    cx: &ConnectionTo<Agent>,
    id: SessionId,
    sent: SentRequest<T>,
    mut on_update: impl FnMut(SessionNotification) + Send,
) -> Result<(ClientSession, T), Error> {
    cx.ensure_outside_dispatch()?;
    let mut session = ClientSession::open(cx, id);
    let mut opened = session.sender()?;
    sent.on_receiving_result(async move |result| {
        let answer = result.map(|answer| Box::new(answer) as Box<dyn std::any::Any + Send>);
        let _ = opened.send(Event::Opened(answer)).await;
        Ok(())
    });
    loop {
        match session.events.next().await {
            Some(Event::Public(SessionEvent::Update(update))) => on_update(update),
            Some(Event::Opened(result)) => {
                let answer = result?.downcast::<T>().map_err(|_| {
                    Error::internal_error("a session's opening answer had another type")
                })?;
                return Ok((session, *answer));
            }
            Some(Event::Public(SessionEvent::PromptFinished(_))) => {}
            None => {
                return Err(Error::connection_closed(
                    "the connection ended before the session was opened",
                ));
            }
        }
    }
}

/// An open session, on the client side: sends prompts, yields the session's events.
///
/// It is a [`Stream`] of [`SessionEvent`]s: every `session/update` for this session, and the
/// answer to each prompt after the updates sent before it. The stream ends when the
/// connection does. Dropping the handle stops routing the session's updates here.
///
/// Read the events: they are held in a bounded buffer ([`SESSION_EVENT_BUFFER`]), and while
/// it is full the connection reads nothing more. [`prompt`](Self::prompt) reads them for you.
pub struct ClientSession {
    id: SessionId,
    cx: ConnectionTo<Agent>,
    events: mpsc::Receiver<Event>,
    sender: Arc<Mutex<Option<mpsc::Sender<Event>>>>,
    _registration: DynamicHandlerRegistration,
}

impl ClientSession {
    /// Registers the session's handler and makes the handle.
    fn open(cx: &ConnectionTo<Agent>, id: SessionId) -> Self {
        let (sender, events) = mpsc::channel(SESSION_EVENT_BUFFER);
        let slot = Arc::new(Mutex::new(Some(sender.clone())));
        let router = UpdateRouter {
            events: sender,
            _slot: SlotGuard(Arc::clone(&slot)),
        };
        let registration = cx.add_keyed_handler(session_key(&id), router);
        ClientSession {
            id,
            cx: cx.clone(),
            events,
            sender: slot,
            _registration: registration,
        }
    }

    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The connection the session lives on.
    pub fn connection(&self) -> &ConnectionTo<Agent> {
        &self.cx
    }

    /// Sends `session/prompt` with `prompt` as its content; its answer comes later on the
    /// stream, as [`SessionEvent::PromptFinished`].
    pub fn send_prompt(&mut self, prompt: Vec<ContentBlock>) -> Result<(), Error> {
        let mut finished = self.sender()?;
        let request = PromptRequest::new(self.id.clone(), prompt);
        self.cx
            .send_request(request)
            .on_receiving_result(async move |result| {
                let _ = finished
                    .send(Event::Public(SessionEvent::PromptFinished(result)))
                    .await;
                Ok(())
            });
        Ok(())
    }

    /// Sends a text prompt and reads the session's events until its answer, giving each
    /// update to `on_update`. Not for use inside a handler (it waits).
    pub async fn prompt(
        &mut self,
        text: impl Into<String>,
        mut on_update: impl FnMut(SessionNotification),
    ) -> Result<PromptResponse, Error> {
        self.cx.ensure_outside_dispatch()?;
        let content = ContentBlock::Text(TextContent::new(text.into()));
        self.send_prompt(vec![content])?;
        while let Some(event) = self.next().await {
            match event {
                SessionEvent::Update(update) => on_update(update),
                SessionEvent::PromptFinished(result) => return result,
            }
        }
        Err(Error::connection_closed(
            "the connection ended before the prompt was answered",
        ))
    }

    /// Sends `session/cancel`: the agent ends the running prompt, which then finishes with
    /// the stop reason `cancelled`.
    pub fn cancel(&self) -> Result<(), Error> {
        self.cx
            .send_notification(CancelNotification::new(self.id.clone()))
    }

    /// Closes the session (`session/close`, `sessionCapabilities.close`): the agent cancels
    /// its work on it and frees it. The handle goes with it, so no more updates are routed
    /// here.
    pub async fn close(self) -> Result<CloseSessionResponse, Error> {
        let request = CloseSessionRequest::new(self.id.clone());
        let closed = self.cx.send_request(request).block_task().await;
        drop(self);
        closed
    }

    /// A sender into this session's events, while the connection lasts.
    fn sender(&self) -> Result<mpsc::Sender<Event>, Error> {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::connection_closed("the session's connection has ended"))
    }
}

impl Stream for ClientSession {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        loop {
            match self.events.poll_next_unpin(cx) {
                Poll::Ready(Some(Event::Public(event))) => return Poll::Ready(Some(event)),
                // A late `session/load` answer has nobody waiting any more.
                Poll::Ready(Some(Event::Opened(_))) => {}
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("id", &self.id)
            .finish()
    }
}

/// The session's keyed handler: takes its `session/update`s into the event buffer, waiting
/// for room (that wait is the backpressure).
struct UpdateRouter {
    events: mpsc::Sender<Event>,
    // Held for its `Drop`: the slot empties when the connection drops this handler.
    _slot: SlotGuard,
}

impl Handler<Agent> for UpdateRouter {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Agent>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch.into_typed::<NoMessage, SessionNotification, Agent>() {
            Typed::Matched(Dispatch::Notification(update)) => {
                // A closed buffer means the handle was dropped; the update has no reader.
                let _ = self
                    .events
                    .send(Event::Public(SessionEvent::Update(update)))
                    .await;
                Ok(Handled::Yes)
            }
            Typed::Matched(_) | Typed::Rejected => Ok(Handled::Yes),
            Typed::Unmatched(message) => Ok(Handled::pass(message)),
        }
    }
}

/// Empties the session's sender slot when the connection drops the session's handler, so
/// that the session's stream ends with the connection instead of waiting forever.
struct SlotGuard(Arc<Mutex<Option<mpsc::Sender<Event>>>>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}
