//! The protocol's handshake: captured from the caller once, replayed to every new generation.

use std::time::Duration;

use switchboard::{ConnectionTo, Error, RawJson, UntypedMessage, UntypedRole};

use crate::fault::{Fault, Stage};

/// Which messages make up the protocol's handshake, and what of the first answer every
/// later generation must repeat.
///
/// The caller's own handshake goes to the first generation and is captured: each request
/// with its answer, each notification. A later generation gets the same messages, in the
/// same order, before any call; a request answered with an error, or with a `checked` field
/// different from the first answer's, fails the generation as a crash would.
///
/// ```
/// use switchboard_supervisor::Handshake;
///
/// // MCP's: `initialize`, then `notifications/initialized`.
/// let mcp = Handshake::default()
///     .request("initialize")
///     .notification("notifications/initialized")
///     .check("protocolVersion")
///     .allow_before("ping");
/// assert!(mcp.is_handshake("initialize"));
/// ```
#[derive(Clone, Debug)]
pub struct Handshake {
    requests: Vec<String>,
    notifications: Vec<String>,
    checked: Vec<String>,
    before: Vec<String>,
    timeout: Duration,
}

impl Default for Handshake {
    /// No handshake; a generation that has not answered one within 10 s fails.
    fn default() -> Self {
        Handshake {
            requests: Vec::new(),
            notifications: Vec::new(),
            checked: Vec::new(),
            before: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Handshake {
    /// `method` is a request of the handshake.
    #[must_use]
    pub fn request(mut self, method: impl Into<String>) -> Self {
        self.requests.push(method.into());
        self
    }

    /// `method` is a notification of the handshake.
    #[must_use]
    pub fn notification(mut self, method: impl Into<String>) -> Self {
        self.notifications.push(method.into());
        self
    }

    /// A later generation's answer must have the same `field` (a top-level field of the
    /// result) as the first's.
    #[must_use]
    pub fn check(mut self, field: impl Into<String>) -> Self {
        self.checked.push(field.into());
        self
    }

    /// `method` may be called before the handshake (MCP's `ping`); any other call before it
    /// fails `not_initialized`.
    #[must_use]
    pub fn allow_before(mut self, method: impl Into<String>) -> Self {
        self.before.push(method.into());
        self
    }

    /// How long a generation may take over the whole replay.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether `method` is part of the handshake.
    pub fn is_handshake(&self, method: &str) -> bool {
        self.is_request(method) || self.notifications.iter().any(|known| known == method)
    }

    pub(crate) fn is_allowed_before(&self, method: &str) -> bool {
        self.before.iter().any(|allowed| allowed == method)
    }

    pub(crate) fn is_request(&self, method: &str) -> bool {
        self.requests.iter().any(|known| known == method)
    }

    /// Whether `answered` requests are all of the handshake's.
    pub(crate) fn all_answered(&self, answered: usize) -> bool {
        answered >= self.requests.len()
    }

    /// Whether there is a handshake to wait for at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// One message of the caller's handshake, as the first generation got it.
#[derive(Clone, Debug)]
pub(crate) struct Captured {
    pub(crate) method: String,
    pub(crate) params: Option<RawJson>,
    /// The first answer, for a request.
    pub(crate) answer: Option<serde_json::Value>,
}

/// Replays `captured` to a new generation at `worker`, checking each answer against the
/// first.
pub(crate) async fn replay(
    handshake: &Handshake,
    captured: &[Captured],
    worker: &ConnectionTo<UntypedRole>,
    generation: u64,
) -> Result<(), Fault> {
    let failed = |message: String| {
        Fault::new(Stage::Process, message)
            .generation(generation)
            .retryable(true)
    };
    let all = async {
        for message in captured {
            let untyped = UntypedMessage::from_raw(message.method.clone(), message.params.clone());
            let Some(first) = &message.answer else {
                worker
                    .send_notification(untyped)
                    .map_err(|error| failed(format!("the handshake could not be sent: {error}")))?;
                continue;
            };
            let answer = worker
                .send_request(untyped)
                .block_task()
                .await
                .map_err(|error| {
                    failed(format!(
                        "the worker failed its handshake ({}): {}",
                        message.method,
                        describe(&error)
                    ))
                })?;
            for field in &handshake.checked {
                if answer.get(field) != first.get(field) {
                    return Err(failed(format!(
                        "the worker's answer to {} has another {field} ({} where the first had {})",
                        message.method,
                        answer.get(field).unwrap_or(&serde_json::Value::Null),
                        first.get(field).unwrap_or(&serde_json::Value::Null),
                    )));
                }
            }
        }
        Ok(())
    };
    match tokio::time::timeout(handshake.timeout, all).await {
        Ok(done) => done,
        Err(_) => Err(failed(format!(
            "the worker did not finish its handshake within {:?}",
            handshake.timeout
        ))),
    }
}

fn describe(error: &Error) -> String {
    format!("{} ({})", error.message(), error.code())
}
