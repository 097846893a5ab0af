//! The handler for requests answered by a stream: the request, its item sink, its responder.

use std::future::Future;
use std::marker::PhantomData;

use crate::handler::{Chain, Handled, Handler};
use crate::message::{JsonRpcRequest, NoMessage, Typed};
use crate::stream::ItemSink;
use crate::{Builder, ConnectionTo, Dispatch, Error, Responder, Role};

/// Claims requests whose method matches `Req`, opens the [`ItemSink`] the caller asked for
/// (in the connection's [stream convention](crate::stream::Streaming)), reads the params as
/// `Req`, and calls the closure. Made by
/// [`Builder::on_receive_streaming_request`].
pub struct StreamingRequestHandler<Req, I, F> {
    handler: F,
    _types: PhantomData<fn(Req, I)>,
}

impl<Req, I, F> StreamingRequestHandler<Req, I, F> {
    /// A handler that calls `handler` for each request of type `Req`, with a sink for its
    /// `I` items.
    pub fn new(handler: F) -> Self {
        StreamingRequestHandler {
            handler,
            _types: PhantomData,
        }
    }
}

impl<Cp, Req, I, F, Fut> Handler<Cp> for StreamingRequestHandler<Req, I, F>
where
    Cp: Role,
    Req: JsonRpcRequest<Cp>,
    I: Send + 'static,
    F: FnMut(Req, ItemSink<I>, Responder<Req::Response>, ConnectionTo<Cp>) -> Fut + Send,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn sees_responses(&self) -> bool {
        false
    }

    fn may_claim(&self, dispatch: &Dispatch) -> bool {
        crate::handler::is_request_of::<Req, Cp>(dispatch)
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        let sink = match &dispatch {
            Dispatch::Request(request, responder) if Req::matches_method(request.method()) => {
                super::sink::sink_for::<I, _, Cp>(request, responder, cx)
            }
            _ => return Ok(Handled::pass(dispatch)),
        };
        match dispatch.into_typed::<Req, NoMessage, Cp>() {
            Typed::Matched(Dispatch::Request(request, responder)) => match sink {
                // Spawned: its sends wait for credits, which arrive as messages this loop
                // must go on reading.
                Ok(sink) => cx.spawn((self.handler)(request, sink, responder, cx.clone())),
                Err(error) => responder.respond_with_error(error)?,
            },
            Typed::Unmatched(message) => return Ok(Handled::pass(message)),
            Typed::Matched(_) | Typed::Rejected => {}
        }
        Ok(Handled::Yes)
    }
}

impl<R: Role, H: Handler<R::Counterpart> + 'static> Builder<R, H> {
    /// Adds a handler for requests of type `Req` answered by a stream of `I` items: the
    /// closure gets the request, an [`ItemSink`] for the items, the [`Responder`] for the
    /// final answer (to use after the items), and the connection. See the
    /// [`stream`](crate::stream) module, and
    /// [`ConnectionTo::send_streaming_request`] for an example.
    ///
    /// The closure's future runs as a task of the connection (as if
    /// [`spawn`](ConnectionTo::spawn)ed), not in the dispatch loop: its sends wait for
    /// credits, which arrive as messages the loop must go on reading. An error it returns
    /// answers the request, if the responder was not used.
    pub fn on_receive_streaming_request<Req, I, F, Fut>(
        self,
        handler: F,
    ) -> Builder<R, Chain<H, StreamingRequestHandler<Req, I, F>>>
    where
        Req: JsonRpcRequest<R::Counterpart>,
        I: Send + 'static,
        F: FnMut(Req, ItemSink<I>, Responder<Req::Response>, ConnectionTo<R::Counterpart>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.with_handler(StreamingRequestHandler::new(handler))
    }
}
