//! Forwarding: passing a message received on one connection on over another, and its answer
//! back.
//!
//! A forwarded request gets a fresh id on the connection it leaves by (ids belong to the
//! connection that sends them); when its answer comes back, the answer — result or error,
//! code, message and data unchanged — goes to the original request's [`Responder`] under the
//! original id. The answer's JSON is passed through as received, never re-read.

use std::fmt;

use crate::message::{JsonRpcNotification, JsonRpcRequest, RawJson, UntypedMessage};
use crate::peer::HasPeer;
use crate::{ConnectionTo, Dispatch, Error, Responder, Role};

impl<Cp: Role> ConnectionTo<Cp> {
    /// Sends a request or notification received on another connection to this one; the answer
    /// to a request goes back to its responder.
    ///
    /// Called from a handler it never waits: the message joins this connection's outgoing
    /// queue at once, so messages forwarded in arrival order leave in that order. If it cannot
    /// be sent (this connection has closed, its queue is full), a request is answered with
    /// that error and the error is returned.
    ///
    /// A response is not forwarded (its id only means something on its own connection): it is
    /// delivered to the request it answers, as if unclaimed.
    ///
    /// ```
    /// use switchboard::{Channel, Dispatch, UntypedMessage, UntypedRole};
    ///
    /// # futures::executor::block_on(async {
    /// let (client_end, forwarder_end) = Channel::duplex();
    /// let server = UntypedRole.builder().on_receive_request(
    ///     async |request: UntypedMessage, responder, _cx| responder.respond(request.params_value()?),
    /// );
    /// // The forwarder connects to the server, and passes on all that the client sends.
    /// let forwarder = UntypedRole.builder().connect_with(server, async |to_server| {
    ///     UntypedRole
    ///         .builder()
    ///         // Forwarding never waits, so the handler's future is ready at once.
    ///         .on_receive_dispatch(move |dispatch: Dispatch, _to_client| {
    ///             std::future::ready(to_server.send_proxied_message(dispatch))
    ///         })
    ///         .connect_to(forwarder_end)
    ///         .await
    /// });
    /// let client = UntypedRole.builder().connect_with(client_end, async |cx| {
    ///     cx.send_request(UntypedMessage::new("echo", serde_json::json!([1, 2]))?).block_task().await
    /// });
    /// let (answer, forwarded) = futures::join!(client, forwarder);
    /// assert_eq!(answer.unwrap(), serde_json::json!([1, 2]));
    /// forwarded.unwrap();
    /// # });
    /// ```
    pub fn send_proxied_message<Req, Notif, From>(
        &self,
        dispatch: Dispatch<Req, Notif, From>,
    ) -> Result<(), Error>
    where
        Req: JsonRpcRequest<From>,
        Notif: JsonRpcNotification<From>,
    {
        match dispatch {
            Dispatch::Request(request, responder) => {
                let responder: Responder<RawJson> = responder.cast();
                // A request whose caller asked for a stream goes on as one (see `stream`).
                let untyped = (&request as &dyn std::any::Any).downcast_ref::<UntypedMessage>();
                let responder = match untyped {
                    Some(untyped) => match crate::stream::relay(self, untyped, responder) {
                        Ok(relayed) => return relayed,
                        Err(responder) => responder,
                    },
                    None => responder,
                };
                let sent = self.send_request_expecting::<RawJson, Req, From>(&request);
                let failed = sent.failure();
                sent.forward_response_to(responder);
                match failed {
                    Some(error) => Err(error),
                    None => Ok(()),
                }
            }
            Dispatch::Notification(notification) => {
                self.send_notification_as::<Notif, From>(&notification)
            }
            Dispatch::Response(result, router) => {
                router.deliver_later(result);
                Ok(())
            }
        }
    }

    /// Like [`send_proxied_message`](ConnectionTo::send_proxied_message), to `peer` through
    /// the counterpart: the message is wrapped the counterpart's way first.
    pub fn send_proxied_message_to<P, Req, Notif, From>(
        &self,
        peer: P,
        dispatch: Dispatch<Req, Notif, From>,
    ) -> Result<(), Error>
    where
        Cp: HasPeer<P>,
        P: fmt::Debug + Send + Sync + 'static,
        Req: JsonRpcRequest<From>,
        Notif: JsonRpcNotification<From>,
    {
        let wrapped = dispatch
            .into_untyped()?
            .map(|message| self.counterpart().wrap_for_peer(&peer, message))?;
        self.send_proxied_message(wrapped)
    }
}
