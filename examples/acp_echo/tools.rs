//! The echo agent's `/tool SERVER TOOL JSON`: a call to a tool of one of the session's MCP
//! servers, whose result text the agent echoes.
//!
//! A server declared `acp` (the client or a proxy serves it, over `mcp/message`) is reached
//! with [`use_server`]; a `stdio` one is started for the call and ended after it. Each call
//! opens its own MCP connection: an example's simplicity, not a recommendation.

use switchboard::{ChildCommand, ConnectionTo, Error};
use switchboard_acp::Client;
use switchboard_acp::mcp_over_acp::use_server;
use switchboard_acp::schema::{McpServer, McpServerStdio};
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::process::ServerProcess;
use switchboard_mcp::schema::{CallToolResult, ContentBlock};

/// The word that starts a tool call in a prompt's text block.
pub const TOOL_COMMAND: &str = "/tool";

/// A tool call a prompt asks for.
#[derive(Debug, PartialEq)]
pub(super) struct ToolCall {
    server: String,
    tool: String,
    arguments: serde_json::Value,
}

impl ToolCall {
    /// The call in `text` if it starts with `/tool`: `Some(Err(why))` when the rest is not
    /// `SERVER TOOL JSON`.
    pub(super) fn parse(text: &str) -> Option<Result<ToolCall, String>> {
        let rest = text.trim_start().strip_prefix(TOOL_COMMAND)?;
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let mut words = rest.trim_start().splitn(3, char::is_whitespace);
        let (Some(server), Some(tool)) = (words.next().filter(|w| !w.is_empty()), words.next())
        else {
            return Some(Err(format!("usage: {TOOL_COMMAND} SERVER TOOL JSON")));
        };
        let arguments = match words.next().map(str::trim).filter(|json| !json.is_empty()) {
            None => Ok(serde_json::json!({})),
            Some(json) => serde_json::from_str(json)
                .map_err(|error| format!("the arguments of {TOOL_COMMAND} are not JSON: {error}")),
        };
        Some(arguments.map(|arguments| ToolCall {
            server: server.to_owned(),
            tool: tool.to_owned(),
            arguments,
        }))
    }

    /// Calls the tool on the session's server of that name; what to say about it.
    pub(super) async fn run(&self, servers: &[McpServer], acp: &ConnectionTo<Client>) -> String {
        let Some(server) = servers
            .iter()
            .find(|server| name_of(server) == Some(&self.server))
        else {
            return format!("[no MCP server `{}` in this session]", self.server);
        };
        let called = match server {
            McpServer::Acp(acp_server) => {
                let component = use_server(acp, acp_server.server_id.clone());
                McpClient
                    .builder()
                    .connect_with(component, self.on_connection())
                    .await
            }
            McpServer::Stdio(stdio) => self.call_process(stdio).await,
            _ => {
                return format!(
                    "[the MCP server `{}` is reached over HTTP, which this agent does not do]",
                    self.server
                );
            }
        };
        match called {
            Ok(result) => text_of(&result),
            Err(error) => format!("[{} on `{}` failed: {}]", self.tool, self.server, error),
        }
    }

    /// What the MCP client connection does: initialize, then call the tool.
    fn on_connection(
        &self,
    ) -> impl FnOnce(
        ConnectionTo<switchboard_mcp::McpServer>,
    ) -> futures::future::BoxFuture<'static, Result<CallToolResult, Error>>
    + Send
    + 'static {
        let (tool, arguments) = (self.tool.clone(), self.arguments.clone());
        move |mcp| {
            Box::pin(async move {
                mcp.initialize(client_info("acp_echo_agent", env!("CARGO_PKG_VERSION")))
                    .await?;
                mcp.call_tool(&tool, arguments).block_task().await
            })
        }
    }

    async fn call_process(&self, stdio: &McpServerStdio) -> Result<CallToolResult, Error> {
        let command = ChildCommand::new(&stdio.command)
            .args(&stdio.args)
            .echo_stderr(true);
        let command = stdio
            .env
            .iter()
            .fold(command, |command, var| command.env(&var.name, &var.value));
        let mut process = ServerProcess::spawn(command)?;
        let called = McpClient
            .builder()
            .connect_with(process.stdio()?, self.on_connection())
            .await;
        match called {
            Ok(result) => {
                process.end().await?;
                Ok(result)
            }
            Err(error) => Err(process.explain(error).await),
        }
    }
}

fn name_of(server: &McpServer) -> Option<&String> {
    match server {
        McpServer::Acp(server) => Some(&server.name),
        McpServer::Stdio(server) => Some(&server.name),
        McpServer::Http(server) => Some(&server.name),
        McpServer::Sse(server) => Some(&server.name),
        _ => None,
    }
}

/// The result's text blocks, joined; an error result says so.
fn text_of(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::TextContent(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect();
    let text = texts.join(" ");
    if result.is_error == Some(true) {
        format!("[the tool failed: {text}]")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_tool_and_json_arguments() {
        let call = ToolCall::parse(r#"/tool tools add {"a": 2, "b": 3}"#);
        assert_eq!(
            call,
            Some(Ok(ToolCall {
                server: "tools".into(),
                tool: "add".into(),
                arguments: serde_json::json!({"a": 2, "b": 3}),
            }))
        );
        let bare = ToolCall::parse("/tool tools now").and_then(Result::ok);
        assert_eq!(bare.map(|call| call.arguments), Some(serde_json::json!({})));
    }

    #[test]
    fn other_text_is_no_call_and_bad_calls_say_why() {
        assert_eq!(ToolCall::parse("hello /tool"), None);
        assert_eq!(ToolCall::parse("/toolbox x y"), None);
        assert!(ToolCall::parse("/tool").is_some_and(|call| call.is_err()));
        assert!(ToolCall::parse("/tool tools add {oops").is_some_and(|call| call.is_err()));
    }
}
