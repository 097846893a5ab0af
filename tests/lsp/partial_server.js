// A language server written with the official vscode-languageserver library, whose
// `workspace/symbol` answers through partial results when the client gives a
// `partialResultToken`: each symbol is reported alone through the library's `resultProgress`
// reporter (`$/progress {token, value: [symbol]}`), and the final answer is then empty. The
// query is the number of symbols to produce. tests/lsp/partial.rs drives it.
const { createConnection } = require("vscode-languageserver/node");

const connection = createConnection();

connection.onInitialize(() => ({
  capabilities: { workspaceSymbolProvider: { resolveProvider: false } },
}));

connection.onWorkspaceSymbol((params, token, _workDone, resultProgress) => {
  const count = Number.parseInt(params.query, 10) || 0;
  const symbols = [];
  for (let n = 0; n < count; n++) {
    if (token.isCancellationRequested) {
      break;
    }
    const symbol = {
      name: `symbol${n}`,
      kind: 13,
      location: {
        uri: "file:///partial/symbols.txt",
        range: { start: { line: n, character: 0 }, end: { line: n, character: 1 } },
      },
    };
    if (resultProgress) {
      resultProgress.report([symbol]);
    } else {
      symbols.push(symbol);
    }
  }
  return symbols;
});

connection.listen();
