//! LSP's `Content-Length` framing, proven on a real language server.
//!
//! A Switchboard client with [`Framing::ContentLength`] drives `vscode-json-language-server`
//! (from the npm package `vscode-langservers-extracted`, pinned in `package.json` and
//! `package-lock.json` beside this file) through a whole session: `initialize`, `initialized`,
//! `textDocument/didOpen`, a `textDocument/documentSymbol` whose answer is checked, a request
//! cancelled through the connection's cancel convention (LSP's `$/cancelRequest`, set with
//! `Builder::cancellation`; answered -32800), `shutdown`, `exit`, and the process gone
//! afterwards.
//!
//! The server is installed by the test itself, with `npm ci` into `tests/lsp/node_modules`
//! (ignored by git), and only when that folder is missing or older than the lockfile; `npm ci
//! --prefer-offline` takes the packages from npm's cache when it has them. Without `node` and
//! `npm` on the `PATH`, the test says on stderr, past the test harness's capture, that it is
//! skipped and why; with `SWITCHBOARD_REQUIRE_NODE=1` set it fails instead.

#[path = "../common/external_tool.rs"]
mod external_tool;
mod partial;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;
use serde_json::{Value, json};
use switchboard::cancel::Cancellation;
use switchboard::transport::Framing;
use switchboard::transport::{FrameDirection, Inspect};
use switchboard::{ChildCommand, ChildProcess, Error, UntypedMessage, UntypedRole};

/// How long the whole session may take before the test calls it a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// LSP's cancel convention: `$/cancelRequest` with the request's id in `id`, after which the
/// server still answers the request (-32800 when it did cancel it).
const LSP_CANCELLATION: Cancellation = Cancellation::notification("$/cancelRequest").id_field("id");

/// Where `package.json` and the installed server live.
fn lsp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lsp")
}

/// Says that the test is skipped, or fails if node is required.
fn skip(why: &str) {
    external_tool::skip(
        "lsp::a_real_language_server_speaks_content_length_framing_with_us",
        why,
        "install Node.js (node and npm)",
        "SWITCHBOARD_REQUIRE_NODE",
    );
}

/// Installs the pinned server unless it is already installed from the current lockfile, and
/// returns the path of its executable.
///
/// The tests of this binary run on parallel threads and each calls this first, so the
/// install is serialised: two `npm ci` in one folder at once remove each other's files.
fn install_server() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    // A test that panicked while holding the lock leaves nothing half-done that the
    // freshness check below would not catch, so a poisoned lock is taken as it is.
    let _installing = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = lsp_dir();
    let server = dir.join("node_modules/.bin/vscode-json-language-server");
    // npm ci writes this copy of the lockfile last, so it stands for a complete install.
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let current = match (
        modified(&installed),
        modified(&dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed >= locked && server.exists(),
        _ => false,
    };
    if !current {
        let output = Command::new("npm")
            .current_dir(&dir)
            .args([
                "ci",
                "--prefer-offline",
                "--no-audit",
                "--no-fund",
                // The only install script among the dependencies prints an advertisement.
                "--ignore-scripts",
            ])
            .output()
            .expect("running npm ci");
        assert!(
            output.status.success() && server.exists(),
            "npm ci in {} failed:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    server
}

/// A JSON document with two members, which the server lists as two symbols.
const DOCUMENT: &str = "{\n  \"name\": \"switchboard\",\n  \"ports\": [8080, 8081]\n}\n";
const URI: &str = "file:///switchboard-lsp-test/settings.json";

/// What the session saw, checked after the connection ended.
struct Seen {
    capabilities: Value,
    symbols: Value,
    /// The server's answer to the request this side cancelled, as it came over the wire.
    cancelled_answer: Value,
    shutdown: Value,
}

/// Watches the wire for the answer to the cancelled request: the tap learns its id from the
/// `$/cancelRequest` going out, and hands over the answer with that id when it comes in.
#[derive(Default)]
struct CancelWatch {
    id: Option<Value>,
    answer: Option<oneshot::Sender<Value>>,
}

/// The LSP session, from `initialize` to `exit`.
async fn session(
    cx: switchboard::ConnectionTo<UntypedRole>,
    cancelled_answer: oneshot::Receiver<Value>,
) -> Result<Seen, Error> {
    let message = |method: &str, params: Value| UntypedMessage::new(method, params);

    let initialized = cx
        .send_request(message(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": null,
                "capabilities": {
                    "textDocument": {
                        "documentSymbol": { "hierarchicalDocumentSymbolSupport": true }
                    }
                }
            }),
        )?)
        .block_task()
        .await?;
    cx.send_notification(message("initialized", json!({}))?)?;
    cx.send_notification(message(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": URI, "languageId": "json", "version": 1, "text": DOCUMENT }
        }),
    )?)?;
    let symbols_params = json!({ "textDocument": { "uri": URI } });
    let symbols = cx
        .send_request(message(
            "textDocument/documentSymbol",
            symbols_params.clone(),
        )?)
        .block_task()
        .await?;

    // Cancelled at once: the connection's convention sends `$/cancelRequest` right behind the
    // request, in the same write (under the pipe's atomic size), so the server reads both in
    // one chunk, takes the cancel before it gets to the request, and answers it -32800. The
    // answer is not awaited through the dropped request but read off the wire by the tap.
    cx.send_request(message("textDocument/documentSymbol", symbols_params)?)
        .cancel();
    let cancelled_answer = cancelled_answer.await.map_err(|_| {
        Error::internal_error("the connection ended before the cancelled request's answer")
    })?;

    let shutdown = cx
        .send_request(message("shutdown", Value::Null)?)
        .block_task()
        .await?;
    cx.send_notification(message("exit", Value::Null)?)?;
    Ok(Seen {
        capabilities: initialized["capabilities"].clone(),
        symbols,
        cancelled_answer,
        shutdown,
    })
}

#[tokio::test]
async fn a_real_language_server_speaks_content_length_framing_with_us() {
    if !external_tool::runs("node") || !external_tool::runs("npm") {
        skip("node or npm is not on the PATH");
        return;
    }
    let server = install_server();
    let mut child =
        ChildProcess::spawn(ChildCommand::new("node").arg(&server).arg("--stdio")).unwrap();
    let pid = child.id().expect("a running child has an id");
    let stdio = child.stdio().unwrap().framing(Framing::ContentLength);

    let (answer_tx, answer_rx) = oneshot::channel();
    let watch = Arc::new(Mutex::new(CancelWatch {
        id: None,
        answer: Some(answer_tx),
    }));
    let sent_cancel = Arc::new(Mutex::new(None::<Value>));
    let seen_cancel = Arc::clone(&sent_cancel);
    let tapped = Inspect::new(stdio, move |direction, frame: &[u8]| {
        let message: Value = serde_json::from_slice(frame).unwrap();
        let mut watch = watch.lock().unwrap();
        match direction {
            FrameDirection::Sent if message["method"] == "$/cancelRequest" => {
                watch.id = Some(message["params"]["id"].clone());
                *seen_cancel.lock().unwrap() = Some(message);
            }
            FrameDirection::Received
                if watch.id.is_some() && message.get("id") == watch.id.as_ref() =>
            {
                if let Some(answer) = watch.answer.take() {
                    let _ = answer.send(message);
                }
            }
            _ => {}
        }
    });
    let seen = tokio::time::timeout(
        HANG_GUARD,
        UntypedRole
            .builder()
            .cancellation(LSP_CANCELLATION)
            .connect_with(tapped, async move |cx| session(cx, answer_rx).await),
    )
    .await
    .expect("the LSP session hung")
    .unwrap_or_else(|error| panic!("{error}\nserver stderr:\n{}", child.stderr_tail()));

    assert!(
        seen.capabilities["documentSymbolProvider"] == json!(true),
        "capabilities: {}",
        seen.capabilities
    );
    let names: Vec<&str> = seen
        .symbols
        .as_array()
        .expect("documentSymbol answers a list")
        .iter()
        .filter_map(|symbol| symbol["name"].as_str())
        .collect();
    assert_eq!(names, ["name", "ports"], "symbols: {}", seen.symbols);
    // The convention wrote LSP's cancel, and the server answered that request -32800
    // (RequestCancelled) instead of with its symbols.
    let cancel = sent_cancel
        .lock()
        .unwrap()
        .clone()
        .expect("a cancel was sent");
    assert_eq!(
        cancel["params"].as_object().map(|params| params.len()),
        Some(1),
        "{cancel}"
    );
    assert_eq!(
        seen.cancelled_answer["error"]["code"], -32800,
        "the cancelled request's answer: {}",
        seen.cancelled_answer
    );
    assert_eq!(seen.shutdown, Value::Null);

    // `exit` after `shutdown`: the server ends with status 0, by itself.
    let status = tokio::time::timeout(HANG_GUARD, child.wait())
        .await
        .expect("the server did not exit after `exit`")
        .unwrap();
    assert!(status.success(), "the server exited with {status}");
    assert!(is_gone(pid), "process {pid} is still there");
}

/// Whether process `pid` is gone (it was reaped by `wait`, so it is not even a zombie).
fn is_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux")
}
