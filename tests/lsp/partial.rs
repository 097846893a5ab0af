//! LSP partial results, against real servers: a Switchboard client streams with LSP's
//! convention (`partialResultToken` in the request, `$/progress {token, value}` for each batch,
//! no credits).
//!
//! - `vscode-json-language-server` accepts a `partialResultToken` on
//!   `textDocument/documentSymbol` but never reports partial results (its handlers ignore the
//!   reporter the library hands them), which LSP allows: the stream then has no items and the
//!   whole result is in the answer. Checked here so that we notice if that changes.
//! - `partial_server.js`, written with the official `vscode-languageserver` library, reports
//!   each `workspace/symbol` result through the library's `resultProgress` reporter: every
//!   batch reaches our stream, in order, before the (empty) final answer; and a window far
//!   smaller than the result holds, through the buffer and the pipe.
//! - The other way, `partial_client.js`, written with the official `vscode-jsonrpc` library,
//!   reads our server's partial results through its `onProgress`, every batch before the
//!   answer, and cancels a second request with its `CancellationTokenSource`: our producer's
//!   `send` fails with -32800 and the library sees the request end with -32800.

use std::path::PathBuf;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::stream::{ItemStream, Streamed, Streaming};
use switchboard::transport::Framing;
use switchboard::{ChildCommand, ChildProcess, ConnectionTo, Error, UntypedMessage, UntypedRole};

use crate::{DOCUMENT, HANG_GUARD, LSP_CANCELLATION, URI, external_tool, install_server, lsp_dir};

/// LSP's partial results as a stream convention: the token in `partialResultToken`, each batch
/// of results as `$/progress {"token": …, "value": [ … ]}`, no credits.
const LSP_STREAMING: Streaming = Streaming::items("$/progress")
    .request_token("partialResultToken")
    .item_value("value");

fn node_available(test: &str) -> bool {
    let runs = external_tool::runs("node") && external_tool::runs("npm");
    if !runs {
        external_tool::skip(
            test,
            "node or npm is not on the PATH",
            "install Node.js (node and npm)",
            "SWITCHBOARD_REQUIRE_NODE",
        );
    }
    runs
}

/// Runs `session` against `node <script> --stdio` with LSP's framing and conventions, then
/// shuts the server down.
async fn with_server<T, F, Fut>(script: PathBuf, session: F) -> T
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<UntypedRole>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let mut child =
        ChildProcess::spawn(ChildCommand::new("node").arg(&script).arg("--stdio")).unwrap();
    let stdio = child.stdio().unwrap().framing(Framing::ContentLength);
    let run = UntypedRole
        .builder()
        .cancellation(LSP_CANCELLATION)
        .streaming(LSP_STREAMING)
        .connect_with(stdio, async move |cx| {
            cx.send_request(UntypedMessage::new(
                "initialize",
                json!({ "processId": std::process::id(), "rootUri": null, "capabilities": {} }),
            )?)
            .block_task()
            .await?;
            cx.send_notification(UntypedMessage::new("initialized", json!({}))?)?;
            let seen = session(cx.clone()).await?;
            cx.send_request(UntypedMessage::new("shutdown", Value::Null)?)
                .block_task()
                .await?;
            cx.send_notification(UntypedMessage::new("exit", Value::Null)?)?;
            Ok(seen)
        });
    let seen = tokio::time::timeout(HANG_GUARD, run)
        .await
        .expect("the LSP session hung")
        .unwrap_or_else(|error| panic!("{error}\nserver stderr:\n{}", child.stderr_tail()));
    let _ = tokio::time::timeout(HANG_GUARD, child.wait()).await;
    seen
}

/// Reads a whole stream of batches: the batches, then the answer.
async fn read_batches(
    mut stream: ItemStream<Vec<Value>, Value>,
) -> Result<(Vec<Vec<Value>>, Value), Error> {
    let mut batches = Vec::new();
    while let Some(next) = stream.next().await {
        match next? {
            Streamed::Item(batch) => batches.push(batch),
            Streamed::Answer(answer) => return Ok((batches, answer)),
        }
    }
    Err(Error::internal_error("the stream ended without an answer"))
}

#[tokio::test]
async fn the_json_server_answers_whole_when_given_a_partial_result_token() {
    if !node_available(
        "lsp::partial::the_json_server_answers_whole_when_given_a_partial_result_token",
    ) {
        return;
    }
    let server = install_server();
    let (batches, answer) = with_server(server, |cx| async move {
        cx.send_notification(UntypedMessage::new(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": URI, "languageId": "json", "version": 1, "text": DOCUMENT } }),
        )?)?;
        let request = UntypedMessage::new(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": URI } }),
        )?;
        read_batches(cx.send_streaming_request(request, 4)).await
    })
    .await;
    assert!(
        batches.is_empty(),
        "it reported partial results after all: {batches:?}"
    );
    let names: Vec<&str> = answer
        .as_array()
        .expect("documentSymbol answers a list")
        .iter()
        .filter_map(|symbol| symbol["name"].as_str())
        .collect();
    assert_eq!(names, ["name", "ports"], "symbols: {answer}");
}

#[tokio::test]
async fn partial_results_from_the_official_library_reach_our_stream_in_order() {
    if !node_available(
        "lsp::partial::partial_results_from_the_official_library_reach_our_stream_in_order",
    ) {
        return;
    }
    install_server();
    const COUNT: usize = 2000;
    let (batches, answer) = with_server(lsp_dir().join("partial_server.js"), |cx| async move {
        let request =
            UntypedMessage::new("workspace/symbol", json!({ "query": COUNT.to_string() }))?;
        // A window of 4 for 2000 results: the rest wait in the pipe and the server's writes.
        read_batches(cx.send_streaming_request(request, 4)).await
    })
    .await;
    assert_eq!(batches.len(), COUNT, "one batch per reported symbol");
    for (n, batch) in batches.iter().enumerate() {
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0]["name"], format!("symbol{n}"));
    }
    assert_eq!(
        answer,
        json!([]),
        "the final answer is empty after partial results"
    );
}

/// One `workspace/symbol` result, as our server streams it.
fn symbol(n: u64) -> Value {
    json!({
        "name": format!("symbol{n}"),
        "kind": 13,
        "location": {
            "uri": "file:///ours/symbols.txt",
            "range": { "start": { "line": n, "character": 0 }, "end": { "line": n, "character": 1 } }
        }
    })
}

#[tokio::test]
async fn the_official_client_reads_our_partial_results_and_cancels_them() {
    if !node_available(
        "lsp::partial::the_official_client_reads_our_partial_results_and_cancels_them",
    ) {
        return;
    }
    install_server();
    let mut child =
        ChildProcess::spawn(ChildCommand::new("node").arg(lsp_dir().join("partial_client.js")))
            .unwrap();
    let stdio = child.stdio().unwrap().framing(Framing::ContentLength);
    let (report_tx, report_rx) = futures::channel::oneshot::channel::<Value>();
    let mut report_tx = Some(report_tx);
    // What the cancelled request's producer had sent when it stopped, and why it stopped.
    let (stopped_tx, stopped_rx) = futures::channel::oneshot::channel::<(u64, i32)>();
    let mut stopped_tx = Some(stopped_tx);
    let server = UntypedRole
        .builder()
        .cancellation(LSP_CANCELLATION)
        .streaming(LSP_STREAMING)
        .on_receive_streaming_request(
            move |request: UntypedMessage,
                  mut items: switchboard::stream::ItemSink<Vec<Value>>,
                  responder: switchboard::Responder<Value>,
                  _cx| {
                let query = request.params_value().unwrap_or_default()["query"]
                    .as_str()
                    .unwrap_or("0")
                    .to_owned();
                let count: u64 = query.parse().unwrap_or(0);
                // Only the long request is cancelled; the short one runs to its end.
                let stopped = if count > 100 { stopped_tx.take() } else { None };
                async move {
                    for n in 0..count {
                        if let Err(error) = items.send(vec![symbol(n)]).await {
                            if let Some(stopped) = stopped {
                                let _ = stopped.send((items.sent(), error.code()));
                            }
                            return Err(error);
                        }
                    }
                    responder.respond(json!([]))
                }
            },
        )
        .on_receive_notification(move |report: UntypedMessage, _cx| {
            if report.method() == "report"
                && let Some(tx) = report_tx.take()
            {
                let _ = tx.send(report.params_value().unwrap());
            }
            std::future::ready(Ok(()))
        })
        .connect_with(stdio, async move |_cx| {
            report_rx
                .await
                .map_err(|_| Error::internal_error("the client ended without a report"))
        });
    let report = tokio::time::timeout(HANG_GUARD, server)
        .await
        .expect("the session with the official client hung")
        .unwrap_or_else(|error| panic!("{error}\nclient stderr:\n{}", child.stderr_tail()));
    let _ = tokio::time::timeout(HANG_GUARD, child.wait()).await;

    // Everything: 100 batches in order, each before the final answer.
    let whole = report["whole"].as_array().unwrap();
    assert_eq!(whole.len(), 101, "{whole:?}");
    for (n, seen) in whole[..100].iter().enumerate() {
        assert_eq!(seen["batch"][0]["name"], format!("symbol{n}"));
    }
    assert_eq!(whole[100], json!({ "answer": [] }));

    // Cancelled by the library after 3 batches: our producer's send failed with -32800, and
    // the library's request ended with -32800 after the batches that came before it.
    let cancelled = report["cancelled"].as_array().unwrap();
    let (last, batches) = cancelled.split_last().unwrap();
    assert_eq!(last, &json!({ "error": -32800 }), "{last}");
    assert!(batches.len() >= 3, "{} batches", batches.len());
    assert!(batches.iter().all(|seen| seen.get("batch").is_some()));
    let (sent, code) = stopped_rx
        .await
        .expect("the producer noticed the cancellation");
    assert_eq!(code, -32800);
    assert!(sent < 1_000_000, "the producer stopped early: {sent} sent");
}
