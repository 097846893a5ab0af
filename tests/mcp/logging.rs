//! Log messages a tool sends: filtered by `logging/setLevel` on a connection that initialized,
//! and by the level a stateless request names in its `_meta`.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchboard::{Channel, ConnectionTo, Error};
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::schema::{LoggingLevel, LoggingMessageNotificationParams};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};
use switchboard_mcp::{McpClient, McpServer};

use super::protocol::raw;

/// The data of every log message the client received, in order.
type Logs = Arc<Mutex<Vec<Value>>>;

/// What arrived since the last call.
fn take(logs: &Logs) -> Vec<Value> {
    std::mem::take(&mut *logs.lock().unwrap())
}

/// A server with one tool, `chatty`, that logs its level's name at each of `levels`.
fn chatty(levels: &'static [LoggingLevel]) -> Service {
    Service::new("logs", "0").tool(Tool::new(
        "chatty",
        "logs at some levels",
        move |_: NoArguments, cx: RequestContext| async move {
            for level in levels {
                cx.log(*level, Some("chatty"), json!(format!("{level}")))?;
            }
            Ok::<_, ToolError>("done".to_owned())
        },
    ))
}

/// Runs `main` as a client of `service` that records every log message it receives.
async fn with_logs<T, F, Fut>(service: Service, main: F) -> T
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<McpServer>, Logs) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let logs = Logs::default();
    let seen = Arc::clone(&logs);
    let (client_end, server_end) = Channel::duplex();
    let client = McpClient
        .builder()
        .on_receive_notification(move |log: LoggingMessageNotificationParams, _cx| {
            seen.lock().unwrap().push(log.data);
            std::future::ready(Ok(()))
        })
        .connect_with(client_end, async move |cx| main(cx, logs).await);
    let (answer, served) = futures::join!(client, service.serve(server_end));
    served.unwrap();
    answer.unwrap()
}

#[tokio::test]
async fn set_level_filters_the_log_messages_a_tool_sends() {
    const EVERY: &[LoggingLevel] = &[
        LoggingLevel::Debug,
        LoggingLevel::Info,
        LoggingLevel::Warning,
        LoggingLevel::Error,
    ];
    let (by_default, after) = with_logs(chatty(EVERY), async |cx, logs| {
        cx.initialize(client_info("test", "0")).await?;
        cx.call_tool("chatty", json!({})).block_task().await?;
        // What a handler sends before its answer is dispatched before the answer.
        let by_default = take(&logs);
        cx.set_log_level(LoggingLevel::Warning).block_task().await?;
        cx.call_tool("chatty", json!({})).block_task().await?;
        Ok((by_default, take(&logs)))
    })
    .await;
    assert_eq!(
        by_default,
        [json!("info"), json!("warning"), json!("error")]
    );
    assert_eq!(after, [json!("warning"), json!("error")]);
}

#[tokio::test]
async fn a_stateless_request_gets_logs_only_at_the_level_its_meta_asks_for() {
    const TWO: &[LoggingLevel] = &[LoggingLevel::Info, LoggingLevel::Error];
    let (unasked, asked) = with_logs(chatty(TWO), async |cx, logs| {
        let call = |level: Option<&str>| {
            let mut meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
            if let Some(level) = level {
                meta["io.modelcontextprotocol/logLevel"] = json!(level);
            }
            json!({"name": "chatty", "arguments": {}, "_meta": meta})
        };
        raw(&cx, "tools/call", call(None)).await?;
        let unasked = take(&logs);
        raw(&cx, "tools/call", call(Some("error"))).await?;
        Ok((unasked, take(&logs)))
    })
    .await;
    assert!(unasked.is_empty(), "{unasked:?}");
    assert_eq!(asked, [json!("error")]);
}
