//! A whole connection as a component: a builder for the counterpart role, run in process.

use super::{Channel, ConnectTo, Transport, TransportConfig};
use crate::handler::Handler;
use crate::{Builder, Error, Role};

/// Connecting to a builder runs that builder's connection in process, over a
/// [`Channel::duplex`] pair, driven by the same future as the connection that connects to it.
///
/// ```
/// use switchboard::{UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let server = UntypedRole.builder().on_receive_request(async |request: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!(request.method().len()))
/// });
/// let answer = UntypedRole.builder().connect_with(server, async |cx| {
///     cx.send_request(UntypedMessage::new("four", ())?).block_task().await
/// });
/// assert_eq!(answer.await.unwrap(), 4);
/// # });
/// ```
impl<R, H> ConnectTo<R::Counterpart> for Builder<R, H>
where
    R: Role,
    H: Handler<R::Counterpart> + 'static,
{
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        let (ours, theirs) = Channel::duplex();
        let transport = <Channel as ConnectTo<R::Counterpart>>::into_transport(ours, config)?;
        Ok(transport.with_driver(self.connect_to(theirs)))
    }
}
