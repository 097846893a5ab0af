//! Tool calls that report progress: a fresh `progressToken` in the request's `_meta`, and a
//! handler keyed on that token for as long as the call runs.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};
use switchboard::dynamic::RoutingKey;
use switchboard::handler::NotificationHandler;
use switchboard::{ConnectionTo, Error};

use super::ToolCall;
use crate::role::McpServer;
use crate::schema::{CallToolResult, ProgressNotificationParams};

/// Tokens are unique within the process, so within any connection.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

pub(crate) async fn call_tool_with_progress(
    cx: &ConnectionTo<McpServer>,
    name: &str,
    arguments: impl Serialize + Send + 'static,
    mut on_progress: impl FnMut(ProgressNotificationParams) + Send + 'static,
) -> Result<CallToolResult, Error> {
    cx.ensure_outside_dispatch()?;
    let token = format!(
        "switchboard-progress-{}",
        NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
    );
    // In place before the request is sent, so no notification for it can be missed; gone
    // when this function returns, so a late one is dropped instead of reaching a caller
    // that has moved on.
    let _registration = cx.add_keyed_handler(
        RoutingKey::new("progressToken", token.clone()),
        NotificationHandler::new(move |progress: ProgressNotificationParams, _cx| {
            on_progress(progress);
            std::future::ready(Ok(()))
        }),
    );
    let mut meta = Map::new();
    meta.insert("progressToken".to_owned(), Value::String(token));
    cx.send_request(ToolCall {
        name: name.to_owned(),
        arguments,
        meta: Some(meta),
    })
    .block_task()
    .await
}
