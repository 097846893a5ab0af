//! The echo service: the contract `echo_server` serves on stdin/stdout.
//!
//! | message | params | answer |
//! |---|---|---|
//! | request `echo` | `{text}` | `{text}` |
//! | request `add` | `{a: i64, b: i64}` | `{sum}` |
//! | request `sleep` | `{ms: u64}` | `{}` after `ms` milliseconds, other requests go on meanwhile |
//! | request `ask_back` | `{text}` | the client's answer to `client/echo {text}` (or its error) |
//! | notification `log` | `{message}` | counted |
//! | request `stats` | `{}` | `{notifications: n}` |
//!
//! Anything else is answered -32601; params that do not fit are answered -32602.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard::handler::Handler;
use switchboard::{Builder, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, UntypedRole};

/// `echo {text}` → `{text}`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Text)]
pub struct Echo {
    /// What to echo.
    pub text: String,
}

/// A piece of text: the answer to `echo`, and the params of `ask_back` and `client/echo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
pub struct Text {
    /// The text.
    pub text: String,
}

/// `add {a, b}` → `{sum}`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "add", response = Sum)]
pub struct Add {
    /// First term.
    pub a: i64,
    /// Second term.
    pub b: i64,
}

/// The answer to `add`.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
pub struct Sum {
    /// `a + b` (wrapping on overflow).
    pub sum: i64,
}

/// `sleep {ms}` → `{}` after `ms` milliseconds.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "sleep", response = Empty)]
pub struct Sleep {
    /// How long to wait.
    pub ms: u64,
}

/// `{}`.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
pub struct Empty {}

/// `ask_back {text}`: the server asks the client `client/echo {text}` and answers with the
/// client's answer.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ask_back", response = serde_json::Value)]
pub struct AskBack {
    /// What to send back to the client.
    pub text: String,
}

/// `client/echo {text}`: the request the server sends the client for `ask_back`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "client/echo", response = serde_json::Value)]
pub struct ClientEcho {
    /// The text from `ask_back`.
    pub text: String,
}

/// Notification `log {message}`: counted.
#[derive(Debug, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
pub struct Log {
    /// The message (not kept).
    pub message: String,
}

/// `stats {}` → `{notifications}`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "stats", response = Stats)]
pub struct GetStats {}

/// The answer to `stats`.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
pub struct Stats {
    /// How many `log` notifications arrived so far.
    pub notifications: u64,
}

/// The echo service's handlers, ready to connect. Needs a tokio runtime (for `sleep`).
pub fn echo_service() -> Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    let logged = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&logged);
    UntypedRole
        .builder()
        .name("echo_server")
        .on_receive_request(async |echo: Echo, responder, _cx| {
            responder.respond(Text { text: echo.text })
        })
        .on_receive_request(async |add: Add, responder, _cx| {
            responder.respond(Sum {
                sum: add.a.wrapping_add(add.b),
            })
        })
        .on_receive_request(async |sleep: Sleep, responder, cx| {
            // Waiting in the handler would hold up every later message: wait in a task.
            cx.spawn(async move {
                tokio::time::sleep(Duration::from_millis(sleep.ms)).await;
                responder.respond(Empty {})
            });
            Ok(())
        })
        .on_receive_request(async |ask: AskBack, responder, cx| {
            cx.send_request(ClientEcho { text: ask.text })
                .forward_response_to(responder);
            Ok(())
        })
        .on_receive_notification(move |_: Log, _cx| {
            counted.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        })
        .on_receive_request(move |_: GetStats, responder, _cx| {
            let notifications = logged.load(Ordering::Relaxed);
            async move { responder.respond(Stats { notifications }) }
        })
}
