// A client written with the official vscode-jsonrpc library, for tests/lsp/partial.rs: on
// stdin/stdout (Content-Length framing) it asks our server for `workspace/symbol` with a
// `partialResultToken` twice, collecting the `$/progress` batches through the library's
// `onProgress`:
// 1. query "100": everything, then the final answer;
// 2. query "1000000": cancelled through the library's CancellationTokenSource (which sends
//    `$/cancelRequest`) once 3 batches are in.
// Then it sends what it saw, in the order it saw it, as a `report` notification and exits.
const {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  ProgressType,
  CancellationTokenSource,
} = require("vscode-jsonrpc/node");

const connection = createMessageConnection(
  new StreamMessageReader(process.stdin),
  new StreamMessageWriter(process.stdout),
);
connection.listen();

async function collect(query, token, cancelAfter) {
  const seen = [];
  const source = new CancellationTokenSource();
  const progress = connection.onProgress(new ProgressType(), token, (batch) => {
    seen.push({ batch });
    if (cancelAfter !== undefined && seen.length === cancelAfter) {
      source.cancel();
    }
  });
  try {
    const answer = await connection.sendRequest(
      "workspace/symbol",
      { query, partialResultToken: token },
      source.token,
    );
    seen.push({ answer });
  } catch (error) {
    seen.push({ error: error.code });
  }
  progress.dispose();
  return seen;
}

async function main() {
  const whole = await collect("100", "whole", undefined);
  const cancelled = await collect("1000000", "cancelled", 3);
  await connection.sendNotification("report", { whole, cancelled });
  connection.dispose();
  process.exit(0);
}

main();
