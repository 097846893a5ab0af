//! A component whose frames are shown to a tap as they cross: for logs and traces.

use super::FrameDirection;
use super::{ConnectTo, Transport, TransportConfig};
use crate::{Error, Role};

/// Wraps a component so that every frame its transport carries is shown to a tap (see
/// [`Transport::inspect`]). The connection is otherwise unchanged.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use switchboard::transport::{FrameDirection, Inspect};
/// use switchboard::{UntypedMessage, UntypedRole};
///
/// # futures::executor::block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let server = UntypedRole.builder().on_receive_request(async |_: UntypedMessage, responder, _cx| {
///     responder.respond(serde_json::json!("pong"))
/// });
/// let tapped = Inspect::new(server, move |direction: FrameDirection, frame: &[u8]| {
///     log.lock().unwrap().push((direction, String::from_utf8_lossy(frame).into_owned()));
/// });
/// UntypedRole.builder().connect_with(tapped, async |cx| {
///     cx.send_request(UntypedMessage::new("ping", ())?).block_task().await
/// }).await.unwrap();
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].0, FrameDirection::Sent);
/// assert!(seen[0].1.contains("\"ping\""));
/// assert_eq!(seen[1].0, FrameDirection::Received);
/// assert!(seen[1].1.contains("\"pong\""));
/// # });
/// ```
pub struct Inspect<C, F> {
    component: C,
    tap: F,
}

impl<C, F> Inspect<C, F> {
    /// `component`, with `tap` called for every frame in either direction.
    pub fn new(component: C, tap: F) -> Self {
        Inspect { component, tap }
    }
}

impl<R, C, F> ConnectTo<R> for Inspect<C, F>
where
    R: Role,
    C: ConnectTo<R>,
    F: Fn(FrameDirection, &[u8]) + Send + Sync + 'static,
{
    fn into_transport(self, config: &TransportConfig) -> Result<Transport, Error> {
        Ok(self.component.into_transport(config)?.inspect(self.tap))
    }
}

impl<C, F> std::fmt::Debug for Inspect<C, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspect").finish_non_exhaustive()
    }
}
