//! LSP's `Content-Length` framing, proven on a real language server.
//!
//! A Switchboard client with [`Framing::ContentLength`] drives `vscode-json-language-server`
//! (from the npm package `vscode-langservers-extracted`, pinned in `package.json` and
//! `package-lock.json` beside this file) through a whole session: `initialize`, `initialized`,
//! `textDocument/didOpen`, a `textDocument/documentSymbol` whose answer is checked, a request
//! cancelled with `$/cancelRequest` (answered -32800), `shutdown`, `exit`, and the process
//! gone afterwards.
//!
//! The server is installed by the test itself, with `npm ci` into `tests/lsp/node_modules`
//! (ignored by git), and only when that folder is missing or older than the lockfile; `npm ci
//! --prefer-offline` takes the packages from npm's cache when it has them. Without `node` and
//! `npm` on the `PATH`, the test says on stderr, past the test harness's capture, that it is
//! skipped and why; with `SWITCHBOARD_REQUIRE_NODE=1` set it fails instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::transport::{FrameDirection, Inspect};
use switchboard::{
    ChildCommand, ChildProcess, Error, Framing, RawJson, UntypedMessage, UntypedRole,
};

/// Every message sent to the server, as JSON, in order.
type SentLog = Arc<Mutex<Vec<Value>>>;

/// How long the whole session may take before the test calls it a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Where `package.json` and the installed server live.
fn lsp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lsp")
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Says that the test is skipped, where a passing test's output is still seen: straight to
/// stderr, not through the harness's captured `eprintln!`. Or fails, if node is required.
fn skip(why: &str) {
    assert!(
        std::env::var_os("SWITCHBOARD_REQUIRE_NODE").is_none(),
        "SWITCHBOARD_REQUIRE_NODE is set, but {why}"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED lsp::a_real_language_server_speaks_content_length_framing_with_us: {why}; \
         install Node.js (node and npm) to run it\n"
    );
}

/// Installs the pinned server unless it is already installed from the current lockfile, and
/// returns the path of its executable.
fn install_server() -> PathBuf {
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
    cancelled: Error,
    shutdown: Value,
}

/// The LSP session, from `initialize` to `exit`.
async fn session(cx: switchboard::ConnectionTo<UntypedRole>, sent: SentLog) -> Result<Seen, Error> {
    let request = |method: &str, params: Value| UntypedMessage::new(method, params);
    let notification = |method: &str, params: Value| UntypedMessage::new(method, params);

    let initialized = cx
        .send_request(request(
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
    cx.send_notification(notification("initialized", json!({}))?)?;
    cx.send_notification(notification(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": URI, "languageId": "json", "version": 1, "text": DOCUMENT }
        }),
    )?)?;
    let symbols_params = json!({ "textDocument": { "uri": URI } });
    let symbols = cx
        .send_request(request(
            "textDocument/documentSymbol",
            symbols_params.clone(),
        )?)
        .block_task()
        .await?;

    // The cancelled request and its `$/cancelRequest` are queued together, so they leave in
    // one write (under the pipe's atomic size) and the server reads both in one chunk: it
    // takes the cancel before it gets to the request, and answers -32800.
    //
    // Until the core has a per-protocol cancel convention, the notification is sent by hand,
    // with the id the request will get: Switchboard numbers a connection's requests 1, 2,
    // 3, ..., so one more than the last id on the wire. The test checks that guess below.
    let last_id = sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|message| message["id"].as_u64())
        .max()
        .unwrap_or(0);
    let cancel_id = last_id + 1;
    let cancelled = cx.send_request(request(
        "textDocument/documentSymbol",
        symbols_params.clone(),
    )?);
    let cancel_params = RawJson::from_serialize(&json!({ "id": cancel_id }))?;
    cx.send_notification(UntypedMessage::from_raw(
        "$/cancelRequest".into(),
        Some(cancel_params),
    ))?;
    let cancelled = match cancelled.block_task().await {
        Ok(answer) => panic!("the cancelled request was answered: {answer}"),
        Err(error) => error,
    };

    let shutdown = cx
        .send_request(request("shutdown", Value::Null)?)
        .block_task()
        .await?;
    cx.send_notification(notification("exit", Value::Null)?)?;
    Ok(Seen {
        capabilities: initialized["capabilities"].clone(),
        symbols,
        cancelled,
        shutdown,
    })
}

#[tokio::test]
async fn a_real_language_server_speaks_content_length_framing_with_us() {
    if !runs("node") || !runs("npm") {
        skip("node or npm is not on the PATH");
        return;
    }
    let server = install_server();
    let mut child =
        ChildProcess::spawn(ChildCommand::new("node").arg(&server).arg("--stdio")).unwrap();
    let pid = child.id().expect("a running child has an id");
    let stdio = child.stdio().unwrap().framing(Framing::ContentLength);
    let sent = SentLog::default();
    let log = Arc::clone(&sent);
    let tapped = Inspect::new(stdio, move |direction, frame: &[u8]| {
        if direction == FrameDirection::Sent {
            log.lock()
                .unwrap()
                .push(serde_json::from_slice(frame).unwrap());
        }
    });
    let in_session = Arc::clone(&sent);
    let seen = tokio::time::timeout(
        HANG_GUARD,
        UntypedRole
            .builder()
            .connect_with(tapped, async move |cx| session(cx, in_session).await),
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
    // The cancel named the request it meant (the guess at its id was right)...
    let sent = sent.lock().unwrap().clone();
    let cancel = sent
        .iter()
        .position(|message| message["method"] == "$/cancelRequest")
        .expect("the cancel was sent");
    assert_eq!(sent[cancel - 1]["method"], "textDocument/documentSymbol");
    assert_eq!(sent[cancel - 1]["id"], sent[cancel]["params"]["id"]);
    // ...and the server answered that request -32800 (RequestCancelled).
    assert_eq!(
        seen.cancelled.code(),
        -32800,
        "the cancelled request: {}",
        seen.cancelled
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
