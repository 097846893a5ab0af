//! The client side: typed calls on a connection to a server ([`McpClientExt`], implemented
//! for `ConnectionTo<McpServer>`), paged lists as streams, progress.
//!
//! - this file: the calls;
//! - `paging.rs`: [`Paged`] and the streams that follow `nextCursor`;
//! - `progress.rs`: tool calls that report progress to a callback.
//!
//! Cancelling is the core's: `cancel()` a [`SentRequest`] (or drop it before its answer)
//! and the server is told with `notifications/cancelled`.
//!
//! What the server sends on its own is served by handlers on the client's builder:
//! `notifications/tools/list_changed` and its siblings ([`ToolListChanged`](crate::messages::ToolListChanged),
//! ...), log messages ([`LoggingMessageNotificationParams`](crate::schema::LoggingMessageNotificationParams)),
//! and the requests of the capabilities the client announced with
//! [`initialize_with`](McpClientExt::initialize_with): `roots/list`
//! ([`ListRoots`](crate::messages::ListRoots)), `sampling/createMessage`
//! ([`CreateMessageRequestParams`](crate::schema::CreateMessageRequestParams)),
//! `elicitation/create` ([`ElicitRequestParams`](crate::schema::ElicitRequestParams)). A
//! `ping` is answered by the role itself.
//!
//! ```
//! use futures::StreamExt;
//! use switchboard::Channel;
//! use switchboard_mcp::client::{McpClientExt, client_info};
//! use switchboard_mcp::server::{NoArguments, Service, Tool, ToolError};
//! use switchboard_mcp::McpClient;
//!
//! # futures::executor::block_on(async {
//! let service = Service::new("hello-server", "1.0.0").tool(Tool::new(
//!     "hello",
//!     "Says hello",
//!     async |_: NoArguments, _cx| Ok::<_, ToolError>("hello".to_owned()),
//! ));
//! let (client_end, server_end) = Channel::duplex();
//! let client = McpClient.builder().connect_with(client_end, async |cx| {
//!     cx.initialize(client_info("doc-client", "1.0.0")).await?;
//!     let tools: Vec<_> = cx.tools().collect().await;
//!     assert_eq!(tools.len(), 1);
//!     cx.call_tool("hello", serde_json::json!({})).block_task().await
//! });
//! let (result, _) = futures::future::join(client, service.serve(server_end)).await;
//! assert_eq!(result.unwrap().is_error, None);
//! # });
//! ```

mod paging;
mod progress;

use std::collections::BTreeMap;
use std::future::Future;

use futures::Stream;
use serde::Serialize;
use serde_json::{Map, Value};
use switchboard::message::table::write_serde;
use switchboard::{
    ConnectionTo, Error, JsonRpcMessage, JsonRpcRequest, SentRequest, UntypedMessage,
};

pub use paging::{MAX_PAGES, Paged, paged};

use crate::messages::{
    Initialized, ListPrompts, ListResourceTemplates, ListResources, ListTools, Ping,
};
use crate::role::McpServer;
use crate::schema::{
    CallToolResult, ClientCapabilities, EmptyResult, GetPromptRequestParams, GetPromptResult,
    Implementation, InitializeRequestParams, InitializeResult, LoggingLevel,
    ProgressNotificationParams, Prompt, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceTemplate, SetLevelRequestParams, Tool,
};
use crate::version::{HANDSHAKE_VERSIONS, LATEST, is_handshake_version};

/// How a client introduces itself in `initialize`.
pub fn client_info(name: impl Into<String>, version: impl Into<String>) -> Implementation {
    Implementation {
        description: None,
        icons: Vec::new(),
        name: name.into(),
        title: None,
        version: version.into(),
        website_url: None,
    }
}

/// The calls a client makes on its connection to a server.
///
/// The ones that return a [`SentRequest`] work anywhere (inside handlers with its callback
/// methods); the ones that return a future or a stream wait for answers, so they belong
/// outside the dispatch loop: the `connect_with` closure, or a spawned task.
pub trait McpClientExt {
    /// The handshake: `initialize` asking for the latest version this crate speaks, with no
    /// client capabilities, a check that the server chose a version this crate speaks, then
    /// `notifications/initialized`.
    fn initialize(
        &self,
        client: Implementation,
    ) -> impl Future<Output = Result<InitializeResult, Error>> + Send;

    /// The handshake with `params` as they are: to ask for another version (2025-06-18), or
    /// to announce capabilities (`roots`, `sampling`, `elicitation`) whose requests this
    /// client's handlers serve. Checks the server's choice and sends
    /// `notifications/initialized` like [`initialize`](McpClientExt::initialize).
    fn initialize_with(
        &self,
        params: InitializeRequestParams,
    ) -> impl Future<Output = Result<InitializeResult, Error>> + Send;

    /// `ping`.
    fn ping(&self) -> SentRequest<EmptyResult>;

    /// One page of `tools/list`, from `cursor` (`None`: the first).
    fn list_tools(&self, cursor: Option<String>) -> SentRequest<crate::schema::ListToolsResult>;

    /// Every tool, page after page.
    fn tools(&self) -> impl Stream<Item = Result<Tool, Error>> + Unpin + Send + 'static;

    /// Every resource, page after page.
    fn resources(&self) -> impl Stream<Item = Result<Resource, Error>> + Unpin + Send + 'static;

    /// Every resource template, page after page.
    fn resource_templates(
        &self,
    ) -> impl Stream<Item = Result<ResourceTemplate, Error>> + Unpin + Send + 'static;

    /// Every prompt, page after page.
    fn prompts(&self) -> impl Stream<Item = Result<Prompt, Error>> + Unpin + Send + 'static;

    /// `tools/call` of the tool `name` with `arguments` (anything that serializes to a JSON
    /// object). A tool that ran and failed is an `Ok` result with `is_error: Some(true)`.
    fn call_tool(
        &self,
        name: &str,
        arguments: impl Serialize + Send + 'static,
    ) -> SentRequest<CallToolResult>;

    /// `tools/call`, with each `notifications/progress` the server sends for it given to
    /// `on_progress` as it comes.
    fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: impl Serialize + Send + 'static,
        on_progress: impl FnMut(ProgressNotificationParams) + Send + 'static,
    ) -> impl Future<Output = Result<CallToolResult, Error>> + Send;

    /// `resources/read` of `uri`.
    fn read_resource(&self, uri: &str) -> SentRequest<ReadResourceResult>;

    /// `prompts/get` of the prompt `name` with string `arguments`.
    fn get_prompt<'a>(
        &self,
        name: &str,
        arguments: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> SentRequest<GetPromptResult>;

    /// `logging/setLevel`: the least severe level of log messages the server should send.
    fn set_log_level(&self, level: LoggingLevel) -> SentRequest<EmptyResult>;
}

impl McpClientExt for ConnectionTo<McpServer> {
    async fn initialize(&self, client: Implementation) -> Result<InitializeResult, Error> {
        self.initialize_with(InitializeRequestParams {
            capabilities: ClientCapabilities::default(),
            client_info: client,
            meta: None,
            protocol_version: LATEST.to_owned(),
        })
        .await
    }

    async fn initialize_with(
        &self,
        params: InitializeRequestParams,
    ) -> Result<InitializeResult, Error> {
        let result = self.send_request(params).block_task().await?;
        if !is_handshake_version(&result.protocol_version) {
            return Err(Error::invalid_request(format_args!(
                "the server chose MCP version {}, which this client does not speak (it speaks {}); \
                 close the connection",
                result.protocol_version,
                HANDSHAKE_VERSIONS.join(", ")
            )));
        }
        self.send_notification(Initialized::default())?;
        Ok(result)
    }

    fn ping(&self) -> SentRequest<EmptyResult> {
        self.send_request(Ping::default())
    }

    fn list_tools(&self, cursor: Option<String>) -> SentRequest<crate::schema::ListToolsResult> {
        self.send_request(ListTools::at(cursor))
    }

    fn tools(&self) -> impl Stream<Item = Result<Tool, Error>> + Unpin + Send + 'static {
        paged::<ListTools>(self.clone())
    }

    fn resources(&self) -> impl Stream<Item = Result<Resource, Error>> + Unpin + Send + 'static {
        paged::<ListResources>(self.clone())
    }

    fn resource_templates(
        &self,
    ) -> impl Stream<Item = Result<ResourceTemplate, Error>> + Unpin + Send + 'static {
        paged::<ListResourceTemplates>(self.clone())
    }

    fn prompts(&self) -> impl Stream<Item = Result<Prompt, Error>> + Unpin + Send + 'static {
        paged::<ListPrompts>(self.clone())
    }

    fn call_tool(
        &self,
        name: &str,
        arguments: impl Serialize + Send + 'static,
    ) -> SentRequest<CallToolResult> {
        self.send_request(ToolCall {
            name: name.to_owned(),
            arguments,
            meta: None,
        })
    }

    fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: impl Serialize + Send + 'static,
        on_progress: impl FnMut(ProgressNotificationParams) + Send + 'static,
    ) -> impl Future<Output = Result<CallToolResult, Error>> + Send {
        progress::call_tool_with_progress(self, name, arguments, on_progress)
    }

    fn read_resource(&self, uri: &str) -> SentRequest<ReadResourceResult> {
        self.send_request(ReadResourceRequestParams {
            meta: None,
            uri: uri.to_owned(),
        })
    }

    fn get_prompt<'a>(
        &self,
        name: &str,
        arguments: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> SentRequest<GetPromptResult> {
        let arguments: BTreeMap<String, String> = arguments
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        self.send_request(GetPromptRequestParams {
            arguments: Some(arguments),
            meta: None,
            name: name.to_owned(),
        })
    }

    fn set_log_level(&self, level: LoggingLevel) -> SentRequest<EmptyResult> {
        self.send_request(SetLevelRequestParams { level, meta: None })
    }
}

/// `tools/call` with arguments of any serializable type, written straight from it (no
/// intermediate JSON value). Only ever sent, so never read back.
#[derive(Serialize)]
pub(crate) struct ToolCall<A> {
    pub(crate) name: String,
    pub(crate) arguments: A,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub(crate) meta: Option<Map<String, Value>>,
}

impl<A: Serialize + Send + 'static> JsonRpcMessage<McpServer> for ToolCall<A> {
    fn matches_method(_method: &str) -> bool {
        // Only sent: incoming messages are never read as this type.
        false
    }

    fn method(&self) -> &str {
        "tools/call"
    }

    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        write_serde(self, out)
    }

    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        Err(Error::method_not_found(message.method()))
    }
}

impl<A: Serialize + Send + 'static> JsonRpcRequest<McpServer> for ToolCall<A> {
    type Response = CallToolResult;
}
