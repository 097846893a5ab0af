//! One remote connection of the Streamable HTTP profile, on the server.
//!
//! What the client POSTs goes into the connection's bounded incoming queue, in order. What
//! the connection sends is routed to a stream: the answer to `initialize` back to its POST,
//! a session's messages (and the answers to requests scoped to it, if the session has a
//! stream) to that session's SSE stream, everything else to the connection's. Each stream
//! is a bounded queue, read by one GET at a time; a queue nobody reads fills up and then
//! holds the router, so a slow or absent reader slows the agent down instead of growing a
//! buffer. A newer GET takes a stream over from an older one: a client that reconnects
//! after its network dropped must not wait for the server to notice the old socket is dead.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, Stream, StreamExt};
use switchboard::Error;
use switchboard::wire::FrameEvent;
use tokio::sync::watch;

use crate::protocol::{Envelope, Kind, creates_session, is_error_answer};

/// How many messages from the client wait for the connection to read them.
pub(crate) const INCOMING_QUEUE: usize = 32;

/// How many messages a stream holds for its reader (or for the reader to come).
pub(crate) const STREAM_QUEUE: usize = 64;

/// How many streams a client may hold open for sessions the agent has not named yet (to see
/// a `session/load`'s replay, it opens the stream first).
pub(crate) const MAX_UNCONFIRMED_STREAMS: usize = 8;

/// Where the answer to a request the client sent goes.
enum Route {
    /// Back to the POST that sent it (`initialize`).
    Reply(oneshot::Sender<Vec<u8>>),
    /// To this session's stream.
    Session(String),
    /// To the connection's stream, naming a new session in its result.
    Creates,
}

/// A stream's queue: the router writes; one GET at a time reads, through a [`Lease`].
struct Mailbox {
    sender: mpsc::Sender<Vec<u8>>,
    reading: Arc<Reading>,
    /// Named by the agent (false for a stream the client opened first).
    confirmed: bool,
    /// Whether a message was ever routed to it.
    routed: bool,
}

impl Mailbox {
    fn new(confirmed: bool) -> Self {
        let (sender, receiver) = mpsc::channel(STREAM_QUEUE);
        Mailbox {
            sender,
            reading: Arc::new(Reading {
                receiver: Mutex::new(receiver),
                reader: AtomicU64::new(0),
                waiting: Mutex::new(None),
            }),
            confirmed,
            routed: false,
        }
    }
}

/// The reading end of a stream, and which lease may read it.
struct Reading {
    receiver: Mutex<mpsc::Receiver<Vec<u8>>>,
    /// The number of the lease that reads now; changed only with `receiver` locked, so an
    /// older lease never takes a message once a newer one exists.
    reader: AtomicU64,
    /// Wakes the lease that waits for a message, so that one taken over ends at once.
    waiting: Mutex<Option<Waker>>,
}

/// Why a GET could not have its stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// An unknown session, and no room for another stream opened ahead of its session.
    Unknown,
}

#[derive(Default)]
struct Routes {
    pending: HashMap<String, Route>,
    sessions: HashMap<String, Mailbox>,
}

/// One Streamable HTTP connection: shared by its requests and its router.
pub(crate) struct HttpConnection {
    id: String,
    incoming: Mutex<Option<mpsc::Sender<Result<FrameEvent, Error>>>>,
    connection_stream: Mailbox,
    routes: Mutex<Routes>,
    open_streams: Arc<AtomicUsize>,
    last_activity: Arc<Mutex<Instant>>,
    ended: watch::Sender<bool>,
    /// Why the connection's handler failed, if it did.
    failure: Mutex<Option<String>>,
    max_message: usize,
}

impl HttpConnection {
    /// A new connection named `id`, and the queue of what the client sends it.
    pub(crate) fn new(
        id: String,
        max_message: usize,
    ) -> (
        Arc<HttpConnection>,
        mpsc::Receiver<Result<FrameEvent, Error>>,
    ) {
        let (incoming, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        let connection = HttpConnection {
            id,
            incoming: Mutex::new(Some(incoming)),
            connection_stream: Mailbox::new(true),
            routes: Mutex::new(Routes::default()),
            open_streams: Arc::new(AtomicUsize::new(0)),
            last_activity: Arc::new(Mutex::new(Instant::now())),
            ended: watch::Sender::new(false),
            failure: Mutex::new(None),
            max_message,
        };
        (Arc::new(connection), incoming_rx)
    }

    /// Resolves once the connection has ended.
    pub(crate) fn ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.ended.subscribe();
        async move {
            // An error means the sender is gone: ended too.
            let _ = ended.wait_for(|ended| *ended).await;
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Takes a message the client POSTed: remembers where its answer goes, and queues it for
    /// the connection (waiting while the queue is full). `session` is the session the POST
    /// named in its header, if any. `reply` is given for `initialize`, whose answer goes back
    /// to its POST.
    pub(crate) async fn deliver(
        &self,
        message: Vec<u8>,
        session: Option<String>,
        reply: Option<oneshot::Sender<Vec<u8>>>,
    ) -> Result<(), Error> {
        self.touch();
        if let Some(Envelope {
            kind: Kind::Request { id, method },
            session: named,
        }) = Envelope::read(&message)
        {
            let route = match (reply, session.or(named)) {
                (Some(reply), _) => Some(Route::Reply(reply)),
                (None, Some(session)) => Some(Route::Session(session)),
                (None, None) if creates_session(&method) => Some(Route::Creates),
                (None, None) => None,
            };
            if let Some(route) = route {
                lock(&self.routes).pending.insert(id, route);
            }
        }
        let event = FrameEvent::from_whole_message(message, self.max_message);
        let sender = lock(&self.incoming).clone();
        match (event, sender) {
            (None, _) => Ok(()),
            (Some(event), Some(mut sender)) => sender
                .send(Ok(event))
                .await
                .map_err(|_| Error::connection_closed("the connection has ended")),
            (Some(_), None) => Err(Error::connection_closed("the connection has ended")),
        }
    }

    /// Sends `message`, from the connection, to the stream it belongs on; waits while that
    /// stream's queue is full.
    pub(crate) async fn route(&self, message: Vec<u8>) {
        let target = self.target_of(&message);
        match target {
            Target::Reply(reply) => {
                let _ = reply.send(message);
            }
            Target::Stream(mut sender) => {
                // A closed stream (the connection ended) drops the message with it.
                let _ = sender.send(message).await;
            }
        }
    }

    fn target_of(&self, message: &[u8]) -> Target {
        let Some(envelope) = Envelope::read(message) else {
            return Target::Stream(self.connection_stream.sender.clone());
        };
        let mut routes = lock(&self.routes);
        let session = match envelope.kind {
            Kind::Response { id } => match routes.pending.remove(&id) {
                Some(Route::Reply(reply)) => return Target::Reply(reply),
                Some(Route::Session(session)) => {
                    // To the session's stream if it has one (the agent named the session, or
                    // the client opened it ahead), else to the connection's, which the client
                    // reads: a session named only by the request must not swallow its answer.
                    // Only a success makes the session known.
                    let stream = routes.sessions.get_mut(&session).map(|mailbox| {
                        mailbox.routed = true;
                        mailbox.sender.clone()
                    });
                    if !is_error_answer(message) {
                        confirm(&mut routes, &session);
                    }
                    let sender = stream.unwrap_or_else(|| self.connection_stream.sender.clone());
                    return Target::Stream(sender);
                }
                Some(Route::Creates) => {
                    if let Some(named) = envelope.session {
                        confirm(&mut routes, &named);
                    }
                    None
                }
                None => None,
            },
            Kind::Request { .. } | Kind::Notification { .. } => envelope.session,
        };
        let sender = match session {
            Some(session) => confirm(&mut routes, &session).sender.clone(),
            None => self.connection_stream.sender.clone(),
        };
        Target::Stream(sender)
    }

    /// The stream of `session` (of the connection, for `None`), for one GET to read; the GET
    /// that read it until now ends.
    pub(crate) fn subscribe(self: &Arc<Self>, session: Option<&str>) -> Result<Lease, Unavailable> {
        let reading = match session {
            None => Arc::clone(&self.connection_stream.reading),
            Some(session) => {
                let mut routes = lock(&self.routes);
                if !routes.sessions.contains_key(session) {
                    let unconfirmed = routes.sessions.values().filter(|m| !m.confirmed).count();
                    if unconfirmed >= MAX_UNCONFIRMED_STREAMS {
                        return Err(Unavailable::Unknown);
                    }
                    routes
                        .sessions
                        .insert(session.to_owned(), Mailbox::new(false));
                }
                routes
                    .sessions
                    .get(session)
                    .map(|mailbox| Arc::clone(&mailbox.reading))
                    .ok_or(Unavailable::Unknown)?
            }
        };
        let number = {
            let _receiver = lock(&reading.receiver);
            reading.reader.fetch_add(1, Ordering::SeqCst) + 1
        };
        if let Some(older) = lock(&reading.waiting).take() {
            older.wake();
        }
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Ok(Lease {
            number,
            reading,
            early: session.map(|session| (Arc::downgrade(self), session.to_owned())),
            open_streams: Arc::clone(&self.open_streams),
            last_activity: Arc::clone(&self.last_activity),
        })
    }

    /// Frees the stream of `session` if the agent has not named it, nothing was ever routed
    /// to it, and no newer GET than lease `number` reads it: it holds one of the few places
    /// for streams opened ahead of their session.
    fn forget_early(&self, session: &str, number: u64) {
        let mut routes = lock(&self.routes);
        let unread = routes.sessions.get(session).is_some_and(|mailbox| {
            !mailbox.confirmed
                && !mailbox.routed
                && mailbox.reading.reader.load(Ordering::SeqCst) == number
        });
        if unread {
            routes.sessions.remove(session);
        }
    }

    /// Ends the connection: no more messages in (the connection to the agent reads the end
    /// of its input), every stream ends once its queue is read.
    pub(crate) fn end(&self) {
        lock(&self.incoming).take();
        self.ended.send_replace(true);
        let mut routes = lock(&self.routes);
        routes.pending.clear();
        routes.sessions.clear();
        self.connection_stream.sender.clone().close_channel();
    }

    /// Ends the connection because its handler failed, saying why to whoever asks.
    pub(crate) fn fail(&self, why: String) {
        *lock(&self.failure) = Some(why);
        self.end();
    }

    /// Why the connection's handler failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// When the connection ends for want of use, as things stand: `None` while a stream is
    /// open.
    pub(crate) fn idle_deadline(&self, idle_timeout: Duration) -> Option<Instant> {
        if self.open_streams.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(*lock(&self.last_activity) + idle_timeout)
    }

    fn touch(&self) {
        *lock(&self.last_activity) = Instant::now();
    }
}

enum Target {
    Reply(oneshot::Sender<Vec<u8>>),
    Stream(mpsc::Sender<Vec<u8>>),
}

/// The mailbox of `session`, confirmed: the agent has named it.
fn confirm<'a>(routes: &'a mut Routes, session: &str) -> &'a Mailbox {
    let mailbox = routes
        .sessions
        .entry(session.to_owned())
        .or_insert_with(|| Mailbox::new(true));
    mailbox.confirmed = true;
    mailbox.routed = true;
    mailbox
}

/// One GET's hold on a stream: its messages, until a newer GET takes the stream over (this
/// one then ends) or it is dropped; what is queued meanwhile waits for the next GET (a
/// client that reconnects).
pub(crate) struct Lease {
    number: u64,
    reading: Arc<Reading>,
    /// For a session's stream: its connection and session, to free the stream if it was
    /// opened ahead of a session the agent never named.
    early: Option<(Weak<HttpConnection>, String)>,
    open_streams: Arc<AtomicUsize>,
    last_activity: Arc<Mutex<Instant>>,
}

impl Stream for Lease {
    type Item = Vec<u8>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut receiver = lock(&self.reading.receiver);
        if self.reading.reader.load(Ordering::SeqCst) != self.number {
            return Poll::Ready(None);
        }
        let next = receiver.poll_next_unpin(cx);
        if next.is_pending() {
            *lock(&self.reading.waiting) = Some(cx.waker().clone());
        }
        next
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((connection, session)) = &self.early
            && let Some(connection) = connection.upgrade()
        {
            connection.forget_early(session, self.number);
        }
        *lock(&self.last_activity) = Instant::now();
        self.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A lock that a panicking holder cannot poison for the others: the state stays consistent
/// between statements.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll};

    use futures::{FutureExt, StreamExt};

    use super::*;

    /// Opens as many streams ahead of their sessions as a connection allows, named
    /// `PREFIX-N`.
    fn open_early(connection: &Arc<HttpConnection>, prefix: &str) -> Vec<Lease> {
        (0..MAX_UNCONFIRMED_STREAMS)
            .map(|n| {
                connection
                    .subscribe(Some(&format!("{prefix}-{n}")))
                    .expect("room for a stream ahead of its session")
            })
            .collect()
    }

    fn update_of(session: &str) -> Vec<u8> {
        format!(
            r#"{{"jsonrpc":"2.0","method":"session/update","params":{{"sessionId":"{session}"}}}}"#
        )
        .into_bytes()
    }

    fn update(n: usize) -> Vec<u8> {
        format!(r#"{{"jsonrpc":"2.0","method":"session/update","params":{{"sessionId":"s-1","n":{n}}}}}"#)
            .into_bytes()
    }

    #[test]
    fn a_stream_nobody_reads_holds_its_queue_and_then_the_router() {
        let (connection, _incoming) = HttpConnection::new("c-1".into(), 1024);
        for n in 0..STREAM_QUEUE {
            assert!(
                connection.route(update(n)).now_or_never().is_some(),
                "message {n} fits the queue"
            );
        }
        // Full, and nobody has opened the session's stream: the router waits.
        let mut next = pin!(connection.route(update(STREAM_QUEUE)));
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert!(next.as_mut().poll(&mut cx).is_pending());
        // The client opens the stream: every message is there, in order, and room is made.
        let mut lease = connection
            .subscribe(Some("s-1"))
            .expect("the session's stream");
        assert_eq!(lease.next().now_or_never(), Some(Some(update(0))));
        assert_eq!(next.as_mut().poll(&mut cx), Poll::Ready(()));
    }

    #[test]
    fn a_newer_reader_takes_a_stream_over_and_the_older_one_ends() {
        let (connection, _incoming) = HttpConnection::new("c-1".into(), 1024);
        let mut older = connection.subscribe(None).expect("the connection's stream");
        let mut newer = connection.subscribe(None).expect("taken over");
        let answer = br#"{"jsonrpc":"2.0","id":7,"result":{}}"#.to_vec();
        connection.route(answer.clone()).now_or_never();
        assert_eq!(
            older.next().now_or_never(),
            Some(None),
            "the older one ended"
        );
        assert_eq!(newer.next().now_or_never(), Some(Some(answer)));
    }

    #[test]
    fn a_stream_read_again_after_its_reader_left_keeps_what_was_queued() {
        let (connection, _incoming) = HttpConnection::new("c-1".into(), 1024);
        let lease = connection.subscribe(None).expect("the connection's stream");
        assert_eq!(connection.idle_deadline(Duration::from_secs(30)), None);
        drop(lease);
        assert!(connection.idle_deadline(Duration::from_secs(30)).is_some());
        let answer = br#"{"jsonrpc":"2.0","id":7,"result":{}}"#.to_vec();
        connection.route(answer.clone()).now_or_never();
        // The client reconnects: the answer that came meanwhile is waiting for it.
        let mut lease = connection.subscribe(None).expect("free again");
        assert_eq!(lease.next().now_or_never(), Some(Some(answer)));
    }

    #[test]
    fn answers_go_where_their_requests_were_scoped() {
        let (connection, mut incoming) = HttpConnection::new("c-1".into(), 1024);
        let prompt =
            br#"{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"s-9"}}"#;
        connection
            .deliver(prompt.to_vec(), None, None)
            .now_or_never()
            .expect("room in the queue")
            .expect("delivered");
        assert!(
            incoming.next().now_or_never().is_some(),
            "the connection got it"
        );
        let mut session = connection
            .subscribe(Some("s-9"))
            .expect("the session's stream");
        let mut main = connection.subscribe(None).expect("the connection's stream");
        let answer = br#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#.to_vec();
        connection.route(answer.clone()).now_or_never();
        assert_eq!(session.next().now_or_never(), Some(Some(answer)));
        assert!(
            main.next().now_or_never().is_none(),
            "nothing on the connection's stream"
        );
    }

    #[test]
    fn a_stream_opened_ahead_of_its_session_is_freed_when_its_reader_leaves() {
        let (connection, _incoming) = HttpConnection::new("c-1".into(), 1024);
        let leases = open_early(&connection, "early");
        // The agent names one of them: it stays when its reader leaves.
        connection.route(update_of("early-0")).now_or_never();
        drop(leases);
        let again = open_early(&connection, "later");
        let mut named = connection
            .subscribe(Some("early-0"))
            .expect("the named one is kept");
        assert_eq!(
            named.next().now_or_never(),
            Some(Some(update_of("early-0")))
        );
        drop(again);
    }

    #[test]
    fn an_early_stream_that_was_sent_an_answer_keeps_it_for_the_next_reader() {
        let (connection, mut incoming) = HttpConnection::new("c-1".into(), 1024);
        let early = connection.subscribe(Some("s-7")).expect("room");
        let load =
            br#"{"jsonrpc":"2.0","id":4,"method":"session/load","params":{"sessionId":"s-7"}}"#;
        connection
            .deliver(load.to_vec(), None, None)
            .now_or_never()
            .expect("room in the queue")
            .expect("delivered");
        assert!(incoming.next().now_or_never().is_some());
        // Refused: the session stays unnamed, but the answer went to its stream.
        let refusal =
            br#"{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"no"}}"#.to_vec();
        connection.route(refusal.clone()).now_or_never();
        drop(early);
        let mut again = connection.subscribe(Some("s-7")).expect("still there");
        assert_eq!(again.next().now_or_never(), Some(Some(refusal)));
    }

    #[test]
    fn unknown_sessions_get_only_a_few_streams_ahead_of_the_agent() {
        let (connection, _incoming) = HttpConnection::new("c-1".into(), 1024);
        let leases = open_early(&connection, "early");
        assert_eq!(
            connection.subscribe(Some("one-too-many")).err(),
            Some(Unavailable::Unknown)
        );
        drop(leases);
    }
}
