//! What a connection holds right now: a count of everything registered for requests, tasks
//! and handlers, for tests that prove nothing is left behind and for health reports.

/// A snapshot of what one connection holds, from [`ConnectionTo::census`].
///
/// Every number here belongs to something in flight: once the requests are answered and the
/// tasks have finished, each goes back to zero (or to the number of handlers the code keeps
/// registered). A count that grows with the number of messages that went through is a leak.
///
/// ```
/// use switchboard::{Channel, UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let (client_end, server_end) = Channel::duplex();
/// let server = UntypedRole.builder().on_receive_request(
///     async |_: UntypedMessage, responder: switchboard::Responder, _cx| responder.respond(serde_json::json!("ok")),
/// );
/// let census = UntypedRole.builder().connect_with(client_end, async |cx| {
///     for _ in 0..100 {
///         cx.send_request(UntypedMessage::new("ping", ())?).block_task().await?;
///     }
///     Ok(cx.census())
/// });
/// let (census, _) = futures::join!(census, server.connect_to(server_end));
/// let census = census.unwrap();
/// assert_eq!(census.awaiting_answers, 0);
/// assert_eq!(census.cancellation_registrations, 0);
/// # });
/// ```
///
/// [`ConnectionTo::census`]: crate::ConnectionTo::census
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Census {
    /// Requests this side sent whose answer has not arrived.
    pub awaiting_answers: usize,
    /// Requests the peer sent that this side has not answered yet.
    pub unanswered_requests: usize,
    /// Requests the peer sent for which a cancellation is remembered or watched for
    /// (`Responder::cancelled`, a request forwarded with `forward_response_to`).
    pub cancellation_registrations: usize,
    /// Tasks started with `spawn` (and the connection's own callbacks) still running.
    pub running_tasks: usize,
    /// Dynamic handlers registered.
    pub dynamic_handlers: usize,
    /// Bytes queued for the peer and not yet written.
    pub queued_bytes: usize,
}
