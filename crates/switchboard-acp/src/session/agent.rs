//! The agent's side of a session: stream updates, notice cancellation.

use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use futures::task::AtomicWaker;
use switchboard::error::codes::OUTGOING_QUEUE_FULL;
use switchboard::{ConnectionTo, Error, JsonRpcMessage};

use crate::role::Client;
use crate::schema::{
    ContentBlock, ContentChunk, SessionId, SessionNotification, SessionUpdate, StopReason,
    TextContent,
};

/// The agent's handle on one session: it sends the session's updates and tracks the prompt
/// that is running, so that `session/cancel` can end it.
///
/// Cheap to clone: keep one in the session's state and give clones to the tasks that run
/// its prompts.
///
/// ```
/// use switchboard_acp::schema::{SessionId, StopReason};
/// use switchboard_acp::{Agent, AgentSession};
///
/// # futures::executor::block_on(async {
/// # let (end, _client_end) = switchboard::Channel::duplex();
/// Agent.builder().connect_with(end, async |cx| {
///     let session = AgentSession::new(SessionId::new("s-1"), cx);
///     let turn = session.begin_turn();
///     session.cancel(); // what the session's `session/cancel` handler does
///     assert!(turn.is_cancelled());
///     assert_eq!(turn.stop_reason(), StopReason::Cancelled);
///     Ok::<_, switchboard::Error>(())
/// })
/// .await
/// .unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct AgentSession {
    id: SessionId,
    cx: ConnectionTo<Client>,
    running: Arc<Mutex<Option<Arc<TurnFlag>>>>,
}

impl AgentSession {
    /// A handle for the session `id` on the connection `cx`.
    pub fn new(id: SessionId, cx: ConnectionTo<Client>) -> Self {
        AgentSession {
            id,
            cx,
            running: Arc::new(Mutex::new(None)),
        }
    }

    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The connection to the client.
    pub fn connection(&self) -> &ConnectionTo<Client> {
        &self.cx
    }

    /// Sends one `session/update` now; fails if the outgoing queue is full (see
    /// [`update`](Self::update) to wait for room instead).
    pub fn send_update(&self, update: SessionUpdate) -> Result<(), Error> {
        self.cx
            .send_notification(SessionNotification::new(self.id.clone(), update))
    }

    /// Sends one `session/update`, waiting while the outgoing queue is full: a prompt that
    /// streams many updates goes at the client's pace.
    pub async fn update(&self, update: SessionUpdate) -> Result<(), Error> {
        let notification = SessionNotification::new(self.id.clone(), update);
        // Serialized once; a retry resends the same text.
        let message = JsonRpcMessage::<Client>::into_untyped(notification)?;
        loop {
            match self.cx.send_notification(message.clone()) {
                Err(error) if error.code() == OUTGOING_QUEUE_FULL => self.cx.writable().await,
                sent => return sent,
            }
        }
    }

    /// Sends a piece of the agent's reply (`agent_message_chunk`), waiting for room.
    pub async fn say(&self, text: impl Into<String>) -> Result<(), Error> {
        let chunk = ContentChunk::new(ContentBlock::Text(TextContent::new(text.into())));
        self.update(SessionUpdate::AgentMessageChunk(chunk)).await
    }

    /// Marks the start of a prompt: the returned [`Turn`] is cancelled by
    /// [`cancel`](Self::cancel). A turn still running from before is cancelled first (a
    /// client sends one prompt at a time).
    pub fn begin_turn(&self) -> Turn {
        let flag = Arc::new(TurnFlag::default());
        let previous = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Arc::clone(&flag));
        if let Some(previous) = previous {
            previous.cancel();
        }
        Turn { flag }
    }

    /// Cancels the running prompt, if any: what `session/cancel` asks for.
    pub fn cancel(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(flag) = running {
            flag.cancel();
        }
    }
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("id", &self.id)
            .finish()
    }
}

/// One running prompt of an [`AgentSession`]: knows whether the client cancelled it.
#[derive(Debug)]
pub struct Turn {
    flag: Arc<TurnFlag>,
}

impl Turn {
    /// True once the client cancelled this prompt.
    pub fn is_cancelled(&self) -> bool {
        self.flag.cancelled.load(Ordering::Acquire)
    }

    /// Resolves when the client cancels this prompt (race it against the work).
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let flag = Arc::clone(&self.flag);
        poll_fn(move |cx| {
            if flag.cancelled.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            flag.waker.register(cx.waker());
            // Checked again: a cancel between the load and the register would be missed.
            if flag.cancelled.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Runs `work` until it finishes or the client cancels this prompt, whichever is first:
    /// `Some` with its output, or `None` once cancelled (the work is dropped, so whatever it
    /// was waiting for stops being waited for).
    ///
    /// ```
    /// use switchboard_acp::Turn;
    ///
    /// async fn think(turn: &Turn) -> &'static str {
    ///     match turn.until_cancelled(std::future::pending::<()>()).await {
    ///         Some(()) => "finished",
    ///         None => "cancelled before the work finished",
    ///     }
    /// }
    /// # let _ = think;
    /// ```
    pub async fn until_cancelled<F: Future>(&self, work: F) -> Option<F::Output> {
        let work = std::pin::pin!(work);
        let cancelled = std::pin::pin!(self.cancelled());
        match futures::future::select(work, cancelled).await {
            futures::future::Either::Left((output, _)) => Some(output),
            futures::future::Either::Right(((), _)) => None,
        }
    }

    /// The stop reason to answer the prompt with: `cancelled` if the client cancelled it,
    /// else `end_turn`.
    pub fn stop_reason(&self) -> StopReason {
        if self.is_cancelled() {
            StopReason::Cancelled
        } else {
            StopReason::EndTurn
        }
    }
}

#[derive(Debug, Default)]
struct TurnFlag {
    cancelled: AtomicBool,
    waker: AtomicWaker,
}

impl TurnFlag {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_cancelled_gives_the_output_of_work_that_finishes_and_none_once_cancelled() {
        let turn = Turn {
            flag: Arc::new(TurnFlag::default()),
        };
        let finished = futures::executor::block_on(turn.until_cancelled(async { 5 }));
        assert_eq!(finished, Some(5));

        // Work that never finishes ends with the cancel, which comes from elsewhere.
        let flag = Arc::clone(&turn.flag);
        let canceller = std::thread::spawn(move || flag.cancel());
        let cancelled =
            futures::executor::block_on(turn.until_cancelled(std::future::pending::<u8>()));
        canceller.join().unwrap();
        assert_eq!(cancelled, None);
        assert_eq!(turn.stop_reason(), StopReason::Cancelled);
    }
}
