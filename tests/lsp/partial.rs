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
