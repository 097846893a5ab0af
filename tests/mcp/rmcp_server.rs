//! Our client drives a server written with rmcp: lists (its tools come in two pages), tool
//! calls, a resource, a prompt.

use std::sync::Arc;

use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, Prompt, PromptArgument, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, Role, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::json;
use switchboard::ByteStreams;
use switchboard_mcp::McpClient;
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::schema::{ContentBlock as OurContent, ReadResourceContent};

/// An rmcp server with three tools over two pages, one resource and one prompt.
#[derive(Clone)]
struct RmcpServer;

fn tool(name: &'static str) -> Tool {
    let schema = json!({"type": "object", "properties": {"text": {"type": "string"}}});
    Tool::new(
        name,
        format!("the {name} tool"),
        Arc::new(schema.as_object().unwrap().clone()),
    )
}

impl ServerHandler for RmcpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = request.and_then(|request| request.cursor);
        let mut page = match cursor.as_deref() {
            None => ListToolsResult::with_all_items(vec![tool("upper"), tool("lower")]),
            Some("page-2") => ListToolsResult::with_all_items(vec![tool("reverse")]),
            Some(other) => return Err(ErrorData::invalid_params(format!("cursor {other}"), None)),
        };
        if cursor.is_none() {
            page.next_cursor = Some("page-2".into());
        }
        Ok(page)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let text = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get("text"))
            .and_then(|text| text.as_str())
            .unwrap_or_default()
            .to_owned();
        let changed = match request.name.as_ref() {
            "upper" => text.to_uppercase(),
            "lower" => text.to_lowercase(),
            "reverse" => text.chars().rev().collect(),
            other => return Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(changed)]).into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![Resource::new(
            "rmcp://hello",
            "hello",
        )]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != "rmcp://hello" {
            return Err(ErrorData::resource_not_found(request.uri, None));
        }
        Ok(
            ReadResourceResult::new(vec![ResourceContents::text("hello from rmcp", request.uri)])
                .into(),
        )
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut topic = PromptArgument::new("topic");
        topic.required = Some(true);
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "explain",
            Some("Explains a topic"),
            Some(vec![topic]),
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let topic = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get("topic"))
            .and_then(|topic| topic.as_str())
            .ok_or_else(|| ErrorData::invalid_params("topic is required", None))?
            .to_owned();
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Explain {topic}"),
        )])
        .into())
    }
}

/// Starts the rmcp server on one end of an in-process pipe; returns the other end.
fn rmcp_server() -> impl switchboard::ConnectTo<McpClient> {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = RmcpServer.serve(theirs).await?;
        running.waiting().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    let (read, write) = tokio::io::split(ours);
    ByteStreams::tokio(write, read)
}

#[tokio::test]
async fn our_client_initializes_and_lists_both_pages_of_rmcp_tools() {
    let (info, names) = McpClient
        .builder()
        .connect_with(rmcp_server(), async |cx| {
            let info = cx
                .initialize(client_info("switchboard-test", "0.0.0"))
                .await?;
            let mut names = Vec::new();
            let mut tools = cx.tools();
            while let Some(tool) = tools.next().await {
                names.push(tool?.name);
            }
            Ok((info, names))
        })
        .await
        .unwrap();
    assert_eq!(info.protocol_version, "2025-11-25");
    assert!(info.capabilities.tools.is_some());
    assert_eq!(names, ["upper", "lower", "reverse"]);
}

#[tokio::test]
async fn our_client_calls_rmcp_tools() {
    let (upper, reverse, unknown) = McpClient
        .builder()
        .connect_with(rmcp_server(), async |cx| {
            cx.initialize(client_info("switchboard-test", "0.0.0"))
                .await?;
            let upper = cx
                .call_tool("upper", json!({"text": "shout"}))
                .block_task()
                .await?;
            let reverse = cx
                .call_tool("reverse", json!({"text": "abc"}))
                .block_task()
                .await?;
            let unknown = cx.call_tool("nope", json!({})).block_task().await;
            Ok((upper, reverse, unknown))
        })
        .await
        .unwrap();
    let text = |result: &switchboard_mcp::schema::CallToolResult| match &result.content[0] {
        OurContent::TextContent(text) => text.text.clone(),
        other => panic!("text expected, got {other:?}"),
    };
    assert_eq!(text(&upper), "SHOUT");
    assert_eq!(text(&reverse), "cba");
    assert_eq!(unknown.unwrap_err().code(), -32602);
}

#[tokio::test]
async fn our_client_reads_an_rmcp_resource_and_gets_an_rmcp_prompt() {
    let (resources, read, prompts, prompt) = McpClient
        .builder()
        .connect_with(rmcp_server(), async |cx| {
            cx.initialize(client_info("switchboard-test", "0.0.0"))
                .await?;
            let resources: Vec<_> = cx.resources().collect().await;
            let read = cx.read_resource("rmcp://hello").block_task().await?;
            let prompts: Vec<_> = cx.prompts().collect().await;
            let prompt = cx
                .get_prompt("explain", [("topic", "monads")])
                .block_task()
                .await?;
            Ok((resources, read, prompts, prompt))
        })
        .await
        .unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].as_ref().unwrap().uri, "rmcp://hello");
    match &read.contents[0] {
        ReadResourceContent::TextResourceContents(text) => assert_eq!(text.text, "hello from rmcp"),
        other => panic!("text expected, got {other:?}"),
    }
    let explain = prompts[0].as_ref().unwrap();
    assert_eq!(explain.name, "explain");
    assert_eq!(explain.arguments[0].required, Some(true));
    match &prompt.messages[0].content {
        OurContent::TextContent(text) => assert_eq!(text.text, "Explain monads"),
        other => panic!("text expected, got {other:?}"),
    }
}
