//! One incoming item, with what it needs to be answered or routed.

use std::fmt;

use super::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, RawJson, UntypedMessage};
use crate::router::ResponseRouter;
use crate::{Error, Responder, UntypedRole};

/// One incoming item: a request with its [`Responder`], a notification, or a response with its
/// [`ResponseRouter`].
///
/// Untyped (`Dispatch` with the default parameters) it is what flows through the handler
/// chain. Typed (`Dispatch<MyRequests, MyNotifications>`) it is what an
/// [`on_receive_dispatch`](crate::Builder::on_receive_dispatch) handler receives: the request
/// and notification types may be enums of messages.
///
/// `Cp` is the counterpart role the message types are read for (see
/// [`JsonRpcMessage`](crate::JsonRpcMessage)); the untyped form's [`UntypedRole`] stands for any.
///
/// Responses to requests this side sent reach their [`SentRequest`](crate::SentRequest)
/// through the chain as `Dispatch::Response`; typed handlers never see them, and a response
/// that no handler claims is routed to its request.
pub enum Dispatch<
    Req: JsonRpcRequest<Cp> = UntypedMessage,
    Notif: JsonRpcNotification<Cp> = UntypedMessage,
    Cp = UntypedRole,
> {
    /// A request and the responder that must answer it.
    Request(Req, Responder<Req::Response>),
    /// A notification.
    Notification(Notif),
    /// A response to one of our requests and the router that delivers it.
    Response(Result<RawJson, Error>, ResponseRouter),
}

/// The outcome of [`Dispatch::into_typed`].
#[derive(Debug)]
pub enum Typed<D> {
    /// The method matched and the params fit.
    Matched(D),
    /// Not for this type: pass it on.
    Unmatched(Dispatch),
    /// The method matched but the params did not fit: already answered -32602 (or logged, for
    /// a notification).
    Rejected,
}

impl<Cp, Req: JsonRpcRequest<Cp>, Notif: JsonRpcNotification<Cp>> Dispatch<Req, Notif, Cp> {
    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Dispatch::Request(request, _) => Some(JsonRpcMessage::<Cp>::method(request)),
            Dispatch::Notification(notification) => {
                Some(JsonRpcMessage::<Cp>::method(notification))
            }
            Dispatch::Response(..) => None,
        }
    }

    /// The request and its responder, or the dispatch back if it is not a request.
    // The error gives the dispatch back as it came: as large as the argument, by design.
    #[allow(clippy::result_large_err)]
    pub fn into_request(self) -> Result<(Req, Responder<Req::Response>), Self> {
        match self {
            Dispatch::Request(request, responder) => Ok((request, responder)),
            other => Err(other),
        }
    }

    /// The notification, or the dispatch back if it is not a notification.
    #[allow(clippy::result_large_err)]
    pub fn into_notification(self) -> Result<Notif, Self> {
        match self {
            Dispatch::Notification(notification) => Ok(notification),
            other => Err(other),
        }
    }

    /// Turns a typed dispatch back into the untyped form.
    pub fn into_untyped(self) -> Result<Dispatch, Error> {
        Ok(match self {
            Dispatch::Request(request, responder) => Dispatch::Request(
                JsonRpcMessage::<Cp>::into_untyped(request)?,
                responder.cast(),
            ),
            Dispatch::Notification(notification) => {
                Dispatch::Notification(JsonRpcMessage::<Cp>::into_untyped(notification)?)
            }
            Dispatch::Response(result, router) => Dispatch::Response(result, router),
        })
    }
}

impl Dispatch {
    /// Changes the message of a request or notification with `map`, keeping the responder;
    /// a response passes unchanged.
    ///
    /// If `map` fails on a request, the request is answered with that error and the error is
    /// returned, so nothing is left unanswered.
    ///
    /// ```
    /// use switchboard::{Dispatch, UntypedMessage};
    ///
    /// let dispatch = Dispatch::Notification(UntypedMessage::new("log", ()).unwrap());
    /// let renamed = dispatch
    ///     .map(|message| {
    ///         let (method, params) = message.into_parts();
    ///         Ok(UntypedMessage::from_raw(format!("audit/{method}"), params))
    ///     })
    ///     .unwrap();
    /// assert_eq!(renamed.method(), Some("audit/log"));
    /// ```
    pub fn map(
        self,
        map: impl FnOnce(UntypedMessage) -> Result<UntypedMessage, Error>,
    ) -> Result<Dispatch, Error> {
        match self {
            Dispatch::Request(message, responder) => match map(message) {
                Ok(message) => Ok(Dispatch::Request(message, responder)),
                Err(error) => {
                    let _ = responder.respond_with_error(error.clone());
                    Err(error)
                }
            },
            Dispatch::Notification(message) => map(message).map(Dispatch::Notification),
            response @ Dispatch::Response(..) => Ok(response),
        }
    }

    /// Reads this dispatch as `Dispatch<Req, Notif, Cp>` when its method matches one of them
    /// (`Cp` is the counterpart role the types are read for: `UntypedRole` for derived types,
    /// a protocol's role for its own).
    ///
    /// A request whose params do not fit is answered -32602 (naming the field) and a
    /// notification whose params do not fit is logged and dropped: both come back as
    /// [`Typed::Rejected`]. Responses and other methods come back as [`Typed::Unmatched`].
    pub fn into_typed<Req: JsonRpcRequest<Cp>, Notif: JsonRpcNotification<Cp>, Cp>(
        self,
    ) -> Typed<Dispatch<Req, Notif, Cp>> {
        match self {
            Dispatch::Request(message, responder) if Req::matches_method(message.method()) => {
                match Req::from_untyped(message) {
                    Ok(request) => Typed::Matched(Dispatch::Request(request, responder.cast())),
                    Err(error) => {
                        // The only failure is a closed connection, and then nobody is listening.
                        let _ = responder.respond_with_error(error);
                        Typed::Rejected
                    }
                }
            }
            Dispatch::Notification(message) if Notif::matches_method(message.method()) => {
                match Notif::from_untyped(message) {
                    Ok(notification) => Typed::Matched(Dispatch::Notification(notification)),
                    Err(error) => {
                        // Named by its type: the method name would cost a copy per message.
                        let notification = std::any::type_name::<Notif>();
                        tracing::warn!(notification, %error, "dropping a notification whose params do not fit");
                        Typed::Rejected
                    }
                }
            }
            other => Typed::Unmatched(other),
        }
    }
}

impl<Cp, Req, Notif> fmt::Debug for Dispatch<Req, Notif, Cp>
where
    Req: JsonRpcRequest<Cp> + fmt::Debug,
    Notif: JsonRpcNotification<Cp> + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatch::Request(request, responder) => f
                .debug_tuple("Request")
                .field(request)
                .field(responder.id())
                .finish(),
            Dispatch::Notification(notification) => {
                f.debug_tuple("Notification").field(notification).finish()
            }
            Dispatch::Response(result, router) => f
                .debug_tuple("Response")
                .field(result)
                .field(router)
                .finish(),
        }
    }
}
