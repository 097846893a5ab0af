//! What a tool, resource or prompt handler gets besides its arguments: a way to report
//! progress and to log to the client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Deserialize;
use serde_json::Value;
use switchboard::{ConnectionTo, Error, UntypedMessage};

use crate::role::McpClient;
use crate::schema::{
    LoggingLevel, LoggingMessageNotificationParams, ProgressNotificationParams, ProgressToken,
};

/// The context of one request a server handler serves.
///
/// ```
/// use switchboard_mcp::server::{NoArguments, RequestContext, Tool, ToolError};
///
/// let tool = Tool::new("count", "Counts to three", async |_: NoArguments, cx: RequestContext| {
///     for step in 1..=3 {
///         // Sent only when the caller asked for progress (a `progressToken` in `_meta`).
///         cx.progress(f64::from(step), Some(3.0), None)?;
///     }
///     Ok::<_, ToolError>("three".to_owned())
/// });
/// # drop(tool);
/// ```
#[derive(Clone, Debug)]
pub struct RequestContext {
    cx: ConnectionTo<McpClient>,
    progress_token: Option<ProgressToken>,
    log_level: Arc<LogLevel>,
    /// For a stateless (2026-07-28) request, the level it asked logs at, if any: that
    /// version has no `logging/setLevel`, and sends no logs to a request that did not ask.
    stateless_log_level: Option<Option<LoggingLevel>>,
}

impl RequestContext {
    pub(crate) fn new(
        cx: ConnectionTo<McpClient>,
        request: &UntypedMessage,
        log_level: Arc<LogLevel>,
    ) -> Self {
        let meta = request_meta(request);
        let stateless_log_level = meta.protocol_version.is_some().then_some(meta.log_level);
        RequestContext {
            cx,
            progress_token: meta.progress_token,
            log_level,
            stateless_log_level,
        }
    }

    /// The connection to the client, to send it anything else.
    pub fn connection(&self) -> &ConnectionTo<McpClient> {
        &self.cx
    }

    /// The token the caller asked progress under, if it asked for progress.
    pub fn progress_token(&self) -> Option<&ProgressToken> {
        self.progress_token.as_ref()
    }

    /// Sends `notifications/progress` for this request: `progress` so far (it must grow
    /// from one call to the next), of `total` if known, with a message for people. Does
    /// nothing when the caller did not ask for progress.
    ///
    /// # Errors
    ///
    /// When the connection has closed.
    pub fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), Error> {
        let Some(token) = self.progress_token.clone() else {
            return Ok(());
        };
        self.cx.send_notification(ProgressNotificationParams {
            message: message.map(str::to_owned),
            meta: None,
            progress,
            progress_token: token,
            total,
        })
    }

    /// Sends the client a log message (`notifications/message`) if `level` is at or above
    /// the level the client set with `logging/setLevel` (`info` until it sets one). A
    /// stateless (2026-07-28) request gets logs only at or above the level its `_meta` asks
    /// for (`io.modelcontextprotocol/logLevel`), none when it asks for none.
    ///
    /// # Errors
    ///
    /// When the connection has closed.
    pub fn log(&self, level: LoggingLevel, logger: Option<&str>, data: Value) -> Result<(), Error> {
        let wanted = match self.stateless_log_level {
            None => self.log_level.allows(level),
            Some(None) => false,
            Some(Some(least)) => severity(level) >= severity(least),
        };
        if !wanted {
            return Ok(());
        }
        self.cx.send_notification(LoggingMessageNotificationParams {
            data,
            level,
            logger: logger.map(str::to_owned),
            meta: None,
        })
    }
}

/// What this crate reads from a request's `_meta`.
#[derive(Default, Deserialize)]
struct RequestMeta {
    #[serde(rename = "progressToken")]
    progress_token: Option<ProgressToken>,
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<String>,
    #[serde(rename = "io.modelcontextprotocol/logLevel")]
    log_level: Option<LoggingLevel>,
}

/// The `_meta` of a request (empty when it has none, or one this crate cannot read).
fn request_meta(request: &UntypedMessage) -> RequestMeta {
    #[derive(Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<RequestMeta>,
    }
    request
        .parse_params::<Params>()
        .ok()
        .and_then(|params| params.meta)
        .unwrap_or_default()
}

/// The least severe log level a connection's client wants, shared by its handlers.
#[derive(Debug)]
pub(crate) struct LogLevel(AtomicU8);

impl Default for LogLevel {
    fn default() -> Self {
        LogLevel(AtomicU8::new(severity(LoggingLevel::Info)))
    }
}

impl LogLevel {
    pub(crate) fn set(&self, level: LoggingLevel) {
        self.0.store(severity(level), Ordering::Relaxed);
    }

    pub(crate) fn allows(&self, level: LoggingLevel) -> bool {
        severity(level) >= self.0.load(Ordering::Relaxed)
    }
}

/// Syslog's order, least severe first (the schema type orders its levels by name).
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_filter_by_severity_not_by_name() {
        let level = LogLevel::default();
        assert!(level.allows(LoggingLevel::Warning));
        assert!(!level.allows(LoggingLevel::Debug));
        level.set(LoggingLevel::Error);
        assert!(!level.allows(LoggingLevel::Warning));
        assert!(level.allows(LoggingLevel::Emergency));
    }

    #[test]
    fn the_progress_token_is_read_from_meta() {
        let request = UntypedMessage::new(
            "tools/call",
            serde_json::json!({"name": "x", "_meta": {"progressToken": "p-1"}}),
        )
        .unwrap();
        let meta = request_meta(&request);
        assert!(
            matches!(meta.progress_token, Some(ProgressToken::String(token)) if token == "p-1")
        );
        assert!(meta.protocol_version.is_none());
    }
}
