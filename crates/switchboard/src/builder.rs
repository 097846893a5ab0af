//! The builder: a role, its handlers, and the component to connect to.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

pub use crate::actor::outgoing::{DEFAULT_MAX_OUTGOING_BYTES, PauseReading};
use crate::actor::{self, Parts, StartTask};
use crate::cancel::Cancellation;
use crate::dynamic::registry::ParkingLimits;
use crate::handler::{
    Chain, DispatchHandler, Handler, NotificationHandler, NullHandler, RequestHandler,
};
use crate::message::{JsonRpcNotification, JsonRpcRequest};
use crate::peer::{FromPeer, HasPeer};
use crate::shared::{Settings, Shared};
use crate::timer::{Timer, default_timer};
use crate::transport::{ConnectTo, TransportConfig};
use crate::wire::{DEFAULT_MAX_FRAME_BYTES, Framing};
use crate::{ConnectionTo, Dispatch, Error, Responder, Role};
use std::time::Duration;

/// Builds a connection: handlers chained in order, then a component to connect to.
///
/// Start one with [`Role::builder`]. Each `on_receive_*` call adds a handler; the first handler
/// whose type matches a message takes it. Then either
/// [`connect_to`](Builder::connect_to) (serve until the peer hangs up) or
/// [`connect_with`](Builder::connect_with) (serve while your closure runs).
///
/// ```
/// use switchboard::{Channel, Error, JsonRpcRequest, JsonRpcResponse, UntypedRole};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, JsonRpcRequest)]
/// #[request(method = "add", response = Sum)]
/// struct Add { a: i64, b: i64 }
///
/// #[derive(Serialize, Deserialize, JsonRpcResponse)]
/// struct Sum { sum: i64 }
///
/// # futures::executor::block_on(async {
/// let (client_end, server_end) = Channel::duplex();
/// let server = UntypedRole
///     .builder()
///     .name("calculator")
///     .on_receive_request(async |add: Add, responder, _cx| responder.respond(Sum { sum: add.a + add.b }));
///
/// let client = UntypedRole.builder().connect_with(client_end, async |cx| {
///     let sum = cx.send_request(Add { a: 2, b: 3 }).block_task().await?;
///     Ok::<_, Error>(sum.sum)
/// });
/// let (sum, served) = futures::join!(client, server.connect_to(server_end));
/// assert_eq!(sum.unwrap(), 5);
/// assert!(served.is_ok());
/// # });
/// ```
#[must_use = "a builder does nothing until connected with connect_to or connect_with"]
pub struct Builder<R: Role, H = NullHandler> {
    role: R,
    handler: H,
    start_tasks: Vec<StartTask<R::Counterpart>>,
    settings: Settings,
}

/// A builder with `H2` chained after its handlers `H`.
type Extended<R, H, H2> = Builder<R, Chain<H, H2>>;

/// How many spawned tasks may run before the connection stops reading, by default.
pub const DEFAULT_MAX_RUNNING_TASKS: usize = 1024;

/// How many early messages may wait for their dynamic handler, by default.
pub const DEFAULT_PARKED_MESSAGES: usize = 1024;

/// How long requests still being handled when the peer ends its input have to be answered
/// before they are cancelled, by default: 2 s.
pub const DEFAULT_INPUT_END_GRACE: Duration = Duration::from_secs(2);

/// How long an early message may wait for its dynamic handler, by default.
pub const DEFAULT_PARKING_TIME: Duration = Duration::from_secs(30);

impl<R: Role> Builder<R> {
    /// A builder with no handlers. Usually reached through [`Role::builder`].
    pub fn new(role: R) -> Self {
        let settings = Settings {
            name: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            framing: role.framing(),
            max_outgoing_bytes: DEFAULT_MAX_OUTGOING_BYTES,
            pause_reading: PauseReading::AtHalfTheLimit,
            max_running_tasks: DEFAULT_MAX_RUNNING_TASKS,
            parking: ParkingLimits {
                max_messages: DEFAULT_PARKED_MESSAGES,
                max_age: DEFAULT_PARKING_TIME,
            },
            timer: None,
            request_timeout: None,
            input_end_grace: DEFAULT_INPUT_END_GRACE,
            cancellation: role.cancellation(),
            streaming: role.streaming(),
        };
        Builder {
            role,
            handler: NullHandler,
            start_tasks: Vec::new(),
            settings,
        }
    }
}

impl<R: Role, H: Handler<R::Counterpart> + 'static> Builder<R, H> {
    /// Names the connection: the `name` of its `connection` tracing span, which every event it
    /// logs is inside (see the book's "Logging and tracing"), and [`ConnectionTo::name`].
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = Some(Arc::from(name.into()));
        self
    }

    /// Refuses incoming frames longer than `bytes` (default 64 MiB). A longer frame is skipped
    /// without being buffered whole and answered with -32600, id `null`.
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_frame_bytes = bytes;
        self
    }

    /// Frames messages with `framing` on the byte components that were not given one of their
    /// own ([`ByteStreams`](crate::ByteStreams), [`Stdio`](crate::transport::Stdio), a
    /// child's stdio), instead of the role's ([`Role::framing`], newlines unless the protocol
    /// says otherwise). Components that carry whole messages (a [`Channel`](crate::Channel))
    /// are not affected.
    ///
    /// ```
    /// use switchboard::{UntypedRole};
    /// use switchboard::transport::Framing;
    ///
    /// // A plain peer that speaks LSP's framing on whatever byte stream it is connected to.
    /// let builder = UntypedRole.builder().framing(Framing::ContentLength);
    /// # drop(builder);
    /// ```
    pub fn framing(mut self, framing: Framing) -> Self {
        self.settings.framing = framing;
        self
    }

    /// Bounds the outgoing queue to `bytes` (default 8 MiB). When it is full, sending requests
    /// and notifications fails until [`ConnectionTo::writable`] resolves, and no further
    /// incoming message is dispatched until the queue is below half of it.
    pub fn max_outgoing_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_outgoing_bytes = bytes;
        self
    }

    /// When to stop reading because the outgoing queue is backed up (default: at half of
    /// [`max_outgoing_bytes`](Builder::max_outgoing_bytes)). Change it only for a forwarder
    /// whose waits for room are elsewhere, as the conductor does towards its proxies: see
    /// [`PauseReading`].
    pub fn pause_reading(mut self, pause: PauseReading) -> Self {
        self.settings.pause_reading = pause;
        self
    }

    /// Bounds the work started with [`ConnectionTo::spawn`] (and [`Builder::with_spawned`]):
    /// while `tasks` of those futures are running (default 1 024), no further incoming message
    /// is dispatched; reading resumes as they finish. This is backpressure, not an error:
    /// spawning is never refused, so a handler that spawns one task per request slows a busy
    /// peer down to the pace its tasks finish at.
    ///
    /// ```
    /// use switchboard::UntypedRole;
    ///
    /// // A server whose handlers hand slow requests to spawned tasks, 16 at a time at most.
    /// let builder = UntypedRole.builder().max_running_tasks(16);
    /// # drop(builder);
    /// ```
    pub fn max_running_tasks(mut self, tasks: usize) -> Self {
        self.settings.max_running_tasks = tasks;
        self
    }

    /// Bounds the parking lot for early messages (see [`dynamic`](crate::dynamic)): at most
    /// `max_messages` wait (default 1024; the oldest leaves first), none longer than `max_age`
    /// (default 30 s). A request that leaves unclaimed is answered -32601; a notification is
    /// dropped with a warning. Without a [`timer`](Builder::timer), ages are checked when
    /// messages arrive.
    pub fn parking(mut self, max_messages: usize, max_age: Duration) -> Self {
        self.settings.parking = ParkingLimits {
            max_messages,
            max_age,
        };
        self
    }

    /// Gives every request this side sends `after` to be answered (none by default): see
    /// [`SentRequest::timeout`](crate::SentRequest::timeout), which also sets it per request.
    pub fn request_timeout(mut self, after: Duration) -> Self {
        self.settings.request_timeout = Some(after);
        self
    }

    /// When the peer ends its input, requests this side is still handling have `grace` to be
    /// answered (default [`DEFAULT_INPUT_END_GRACE`]); a peer may close its side and still
    /// read. Then they are cancelled as if the peer had cancelled them: each
    /// [`Responder::cancelled`](crate::Responder::cancelled) resolves, a responder dropped
    /// unanswered answers -32800, and requests forwarded for them are cancelled in turn. Work
    /// that waits for the peer (a turn held until the user cancels it) learns that it never
    /// will, so the connection can finish. Without a [`timer`](Builder::timer) there is no
    /// grace: they are cancelled as the input ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::UntypedRole;
    ///
    /// let builder = UntypedRole.builder().input_end_grace(Duration::from_millis(500));
    /// # drop(builder);
    /// ```
    pub fn input_end_grace(mut self, grace: Duration) -> Self {
        self.settings.input_end_grace = grace;
        self
    }

    /// The timer for age limits and request timeouts. By default, tokio's when the connection runs inside a tokio
    /// runtime (feature `tokio`), else none.
    pub fn timer(mut self, timer: impl Timer) -> Self {
        self.settings.timer = Some(Arc::new(timer));
        self
    }

    /// How requests are cancelled on this connection's wire, instead of the role's convention
    /// ([`Role::cancellation`]): for plain JSON-RPC peers that speak one, or a test. See
    /// [`Cancellation`].
    ///
    /// ```
    /// use switchboard::UntypedRole;
    /// use switchboard::cancel::Cancellation;
    ///
    /// // A plain peer that speaks LSP's convention.
    /// let lsp = Cancellation::notification("$/cancelRequest").id_field("id");
    /// let builder = UntypedRole.builder().cancellation(lsp);
    /// # drop(builder);
    /// ```
    pub fn cancellation(mut self, convention: Cancellation) -> Self {
        self.settings.cancellation = convention;
        self
    }

    /// How requests are answered by streams on this connection's wire, instead of the role's
    /// convention ([`Role::streaming`]): for a plain peer that speaks a protocol's, or a test.
    /// See [`Streaming`](crate::stream::Streaming).
    ///
    /// ```
    /// use switchboard::UntypedRole;
    /// use switchboard::stream::Streaming;
    ///
    /// // A plain peer that streams LSP's partial results.
    /// let lsp = Streaming::items("$/progress").request_token("partialResultToken").item_value("value");
    /// let builder = UntypedRole.builder().streaming(lsp);
    /// # drop(builder);
    /// ```
    pub fn streaming(mut self, convention: crate::stream::Streaming) -> Self {
        self.settings.streaming = convention;
        self
    }

    /// Adds a handler for requests of type `Req` (a message type, an enum of them, or
    /// [`UntypedMessage`](crate::UntypedMessage) for all).
    ///
    /// The closure gets the request, the [`Responder`] that must answer it, and the
    /// connection. Returning an error answers the request with it, unless the responder was
    /// already used or moved elsewhere.
    pub fn on_receive_request<Req, F, Fut>(
        self,
        handler: F,
    ) -> Builder<R, Chain<H, RequestHandler<Req, F>>>
    where
        Req: JsonRpcRequest<R::Counterpart>,
        F: FnMut(Req, Responder<Req::Response>, ConnectionTo<R::Counterpart>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(RequestHandler::new(handler))
    }

    /// Adds a handler for notifications of type `Notif` (a message type, an enum of them, or
    /// [`UntypedMessage`](crate::UntypedMessage) for all). An error the closure returns is
    /// logged.
    pub fn on_receive_notification<Notif, F, Fut>(
        self,
        handler: F,
    ) -> Builder<R, Chain<H, NotificationHandler<Notif, F>>>
    where
        Notif: JsonRpcNotification<R::Counterpart>,
        F: FnMut(Notif, ConnectionTo<R::Counterpart>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(NotificationHandler::new(handler))
    }

    /// Adds a handler for requests of type `Req` and notifications of type `Notif` together,
    /// as a typed [`Dispatch`]. Use [`NoMessage`](crate::message::NoMessage) for a side you
    /// do not want.
    pub fn on_receive_dispatch<Req, Notif, F, Fut>(
        self,
        handler: F,
    ) -> Builder<R, Chain<H, DispatchHandler<Req, Notif, F>>>
    where
        Req: JsonRpcRequest<R::Counterpart>,
        Notif: JsonRpcNotification<R::Counterpart>,
        F: FnMut(Dispatch<Req, Notif, R::Counterpart>, ConnectionTo<R::Counterpart>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(DispatchHandler::new(handler))
    }

    /// Like [`on_receive_request`](Builder::on_receive_request), for the requests that `peer`
    /// sends through the counterpart (see [`peer`](crate::peer)). The closure sees the request
    /// unwrapped; the answer goes back the way the request came.
    pub fn on_receive_request_from<P, Req, F, Fut>(
        self,
        peer: P,
        handler: F,
    ) -> Extended<R, H, FromPeer<P, RequestHandler<Req, F>>>
    where
        R::Counterpart: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        Req: JsonRpcRequest<R::Counterpart>,
        F: FnMut(Req, Responder<Req::Response>, ConnectionTo<R::Counterpart>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(FromPeer::new(peer, RequestHandler::new(handler)))
    }

    /// Like [`on_receive_notification`](Builder::on_receive_notification), for the
    /// notifications that `peer` sends through the counterpart.
    pub fn on_receive_notification_from<P, Notif, F, Fut>(
        self,
        peer: P,
        handler: F,
    ) -> Extended<R, H, FromPeer<P, NotificationHandler<Notif, F>>>
    where
        R::Counterpart: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        Notif: JsonRpcNotification<R::Counterpart>,
        F: FnMut(Notif, ConnectionTo<R::Counterpart>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(FromPeer::new(peer, NotificationHandler::new(handler)))
    }

    /// Like [`on_receive_dispatch`](Builder::on_receive_dispatch), for the messages that
    /// `peer` sends through the counterpart.
    pub fn on_receive_dispatch_from<P, Req, Notif, F, Fut>(
        self,
        peer: P,
        handler: F,
    ) -> Extended<R, H, FromPeer<P, DispatchHandler<Req, Notif, F>>>
    where
        R::Counterpart: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        Req: JsonRpcRequest<R::Counterpart>,
        Notif: JsonRpcNotification<R::Counterpart>,
        F: FnMut(Dispatch<Req, Notif, R::Counterpart>, ConnectionTo<R::Counterpart>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        self.with_handler(FromPeer::new(peer, DispatchHandler::new(handler)))
    }

    /// Adds any [`Handler`] to the chain.
    pub fn with_handler<H2: Handler<R::Counterpart> + 'static>(
        self,
        handler: H2,
    ) -> Builder<R, Chain<H, H2>> {
        Builder {
            role: self.role,
            handler: Chain::new(self.handler, handler),
            start_tasks: self.start_tasks,
            settings: self.settings,
        }
    }

    /// Starts `task` with the connection, as if [`ConnectionTo::spawn`]ed first thing: if it
    /// fails, that is logged and the connection carries on. A task the connection cannot do
    /// without calls [`ConnectionTo::spawn_critical`] from here instead.
    pub fn with_spawned<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(ConnectionTo<R::Counterpart>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.start_tasks
            .push(Box::new(move |cx| Box::pin(task(cx))));
        self
    }

    /// Call inside the connection's future, so the default timer sees the runtime it runs on.
    fn into_parts(self) -> (Parts<R, H>, TransportConfig) {
        let mut settings = self.settings;
        settings.timer = settings.timer.or_else(default_timer);
        let max_frame_bytes = settings.max_frame_bytes;
        let config = TransportConfig {
            max_frame_bytes,
            framing: settings.framing,
        };
        let parts = Parts {
            role: self.role,
            handler: self.handler,
            shared: Arc::new(Shared::new(settings)),
            start_tasks: self.start_tasks,
            max_frame_bytes,
        };
        (parts, config)
    }

    /// Connects to `component` and serves until the peer ends the input.
    ///
    /// At end of input, requests still being handled (in spawned tasks) are answered, every
    /// answer is flushed, and the future returns `Ok`. Requests this side sent that are still
    /// waiting fail at once with a connection-closed error. A transport failure is returned as
    /// an error.
    #[expect(
        clippy::manual_async_fn,
        reason = "the signature promises a Send + 'static future, so it can be spawned"
    )]
    pub fn connect_to(
        self,
        component: impl ConnectTo<R>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        async move {
            let (parts, config) = self.into_parts();
            let transport = component.into_transport(&config)?;
            actor::run(
                parts,
                transport,
                None::<std::future::Ready<Result<(), Error>>>,
            )
            .await
            .map(drop)
        }
    }

    /// Connects to `component`, serves while `main` runs, and returns what `main` returns.
    ///
    /// `main` gets the connection and may wait for answers with
    /// [`SentRequest::block_task`](crate::SentRequest::block_task). When it finishes, what is
    /// queued is flushed and the connection closes.
    #[expect(
        clippy::manual_async_fn,
        reason = "the signature promises a Send + 'static future, so it can be spawned"
    )]
    pub fn connect_with<T, F, Fut>(
        self,
        component: impl ConnectTo<R>,
        main: F,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(ConnectionTo<R::Counterpart>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        async move {
            let (parts, config) = self.into_parts();
            let transport = component.into_transport(&config)?;
            let cx = ConnectionTo::new(Arc::clone(&parts.shared), parts.role.counterpart());
            match actor::run(parts, transport, Some(main(cx))).await? {
                Some(value) => Ok(value),
                None => Err(Error::internal_error(
                    "the connection ended without running its main future",
                )),
            }
        }
    }
}

impl<R: Role, H> fmt::Debug for Builder<R, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("role", &self.role)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
