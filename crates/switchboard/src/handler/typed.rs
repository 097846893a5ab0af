//! Handlers made from closures, typed by the closure's argument.

use std::future::Future;
use std::marker::PhantomData;

use super::{Handled, Handler};
use crate::message::{JsonRpcNotification, JsonRpcRequest, Typed};
use crate::{ConnectionTo, Dispatch, Error, Responder, Role};

/// Whether `dispatch` is a request of `Req`'s method: what a request handler claims.
pub(crate) fn is_request_of<Req: JsonRpcRequest<Cp>, Cp: Role>(dispatch: &Dispatch) -> bool {
    matches!(dispatch, Dispatch::Request(request, _) if Req::matches_method(request.method()))
}

/// Whether `dispatch` is a notification of `Notif`'s method.
fn is_notification_of<Notif: JsonRpcNotification<Cp>, Cp: Role>(dispatch: &Dispatch) -> bool {
    matches!(dispatch, Dispatch::Notification(notification) if Notif::matches_method(notification.method()))
}

/// Claims requests whose method matches `Req`, reads their params as `Req`, and calls the
/// closure. Params that do not fit are answered -32602 naming the field, without calling it.
/// Made by [`Builder::on_receive_request`](crate::Builder::on_receive_request).
pub struct RequestHandler<Req, F> {
    handler: F,
    _request: PhantomData<fn(Req)>,
}

impl<Req, F> RequestHandler<Req, F> {
    /// A handler that calls `handler` for each request of type `Req` (for use with
    /// [`Builder::with_handler`](crate::Builder::with_handler) or as a dynamic handler).
    pub fn new(handler: F) -> Self {
        RequestHandler {
            handler,
            _request: PhantomData,
        }
    }
}

impl<Cp, Req, F, Fut> Handler<Cp> for RequestHandler<Req, F>
where
    Cp: Role,
    Req: JsonRpcRequest<Cp>,
    F: FnMut(Req, Responder<Req::Response>, ConnectionTo<Cp>) -> Fut + Send,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    fn sees_responses(&self) -> bool {
        false
    }

    fn may_claim(&self, dispatch: &Dispatch) -> bool {
        is_request_of::<Req, Cp>(dispatch)
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        if !is_request_of::<Req, Cp>(&dispatch) {
            return Ok(Handled::pass(dispatch));
        }
        match dispatch.into_typed::<Req, crate::message::NoMessage, Cp>() {
            Typed::Matched(Dispatch::Request(request, responder)) => {
                (self.handler)(request, responder, cx.clone()).await?
            }
            Typed::Unmatched(message) => {
                return Ok(Handled::pass(message));
            }
            Typed::Matched(_) | Typed::Rejected => {}
        }
        Ok(Handled::Yes)
    }
}

/// Claims notifications whose method matches `Notif` and calls the closure. A notification
/// whose params do not fit is dropped with a warning (notifications are never answered).
/// Made by [`Builder::on_receive_notification`](crate::Builder::on_receive_notification).
pub struct NotificationHandler<Notif, F> {
    handler: F,
    _notification: PhantomData<fn(Notif)>,
}

impl<Notif, F> NotificationHandler<Notif, F> {
    /// A handler that calls `handler` for each notification of type `Notif`.
    pub fn new(handler: F) -> Self {
        NotificationHandler {
            handler,
            _notification: PhantomData,
        }
    }
}

impl<Cp, Notif, F, Fut> Handler<Cp> for NotificationHandler<Notif, F>
where
    Cp: Role,
    Notif: JsonRpcNotification<Cp>,
    F: FnMut(Notif, ConnectionTo<Cp>) -> Fut + Send,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    fn sees_responses(&self) -> bool {
        false
    }

    fn may_claim(&self, dispatch: &Dispatch) -> bool {
        is_notification_of::<Notif, Cp>(dispatch)
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        if !is_notification_of::<Notif, Cp>(&dispatch) {
            return Ok(Handled::pass(dispatch));
        }
        match dispatch.into_typed::<crate::message::NoMessage, Notif, Cp>() {
            Typed::Matched(Dispatch::Notification(notification)) => {
                (self.handler)(notification, cx.clone()).await?
            }
            Typed::Unmatched(message) => {
                return Ok(Handled::pass(message));
            }
            Typed::Matched(_) | Typed::Rejected => {}
        }
        Ok(Handled::Yes)
    }
}

/// Claims requests matching `Req` and notifications matching `Notif` (either may be an enum of
/// messages, or [`NoMessage`](crate::message::NoMessage) for none) and calls the closure with
/// the typed [`Dispatch`]. Made by
/// [`Builder::on_receive_dispatch`](crate::Builder::on_receive_dispatch).
pub struct DispatchHandler<Req, Notif, F> {
    handler: F,
    _messages: PhantomData<fn(Req, Notif)>,
}

impl<Req, Notif, F> DispatchHandler<Req, Notif, F> {
    /// A handler that calls `handler` with each request of type `Req` and notification of
    /// type `Notif`, as a typed [`Dispatch`].
    pub fn new(handler: F) -> Self {
        DispatchHandler {
            handler,
            _messages: PhantomData,
        }
    }
}

impl<Cp, Req, Notif, F, Fut> Handler<Cp> for DispatchHandler<Req, Notif, F>
where
    Cp: Role,
    Req: JsonRpcRequest<Cp>,
    Notif: JsonRpcNotification<Cp>,
    F: FnMut(Dispatch<Req, Notif, Cp>, ConnectionTo<Cp>) -> Fut + Send,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch.into_typed::<Req, Notif, Cp>() {
            Typed::Matched(typed) => (self.handler)(typed, cx.clone()).await?,
            Typed::Unmatched(message) => {
                return Ok(Handled::pass(message));
            }
            Typed::Rejected => {}
        }
        Ok(Handled::Yes)
    }
}
