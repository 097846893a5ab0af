//! The server side: a [`Service`] (what the server offers: tools, resources, resource
//! templates, prompts) and the handler that serves it on each connection.
//!
//! - `tool.rs`: [`Tool`], typed arguments and results, [`ToolError`];
//! - `resource.rs`: [`Resource`], [`ResourceTemplate`];
//! - `prompt.rs`: [`Prompt`];
//! - `context.rs`: [`RequestContext`], for progress and logging from a handler;
//! - `paging.rs`: cursor pagination of the list methods;
//! - `catalog.rs`: the lists, changeable while serving, with list-changed notifications;
//! - `handler.rs`: [`ServiceHandler`], which answers the protocol's requests.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use switchboard::Channel;
//! use switchboard_mcp::server::{RequestContext, Service, Tool, ToolError};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Echo { text: String }
//!
//! let service = Service::new("echo-server", "1.0.0").tool(Tool::new(
//!     "echo",
//!     "Says the text back",
//!     async |args: Echo, _cx: RequestContext| Ok::<_, ToolError>(args.text),
//! ));
//! let (_client_end, server_end) = Channel::duplex();
//! let serving = service.serve(server_end); // a future: run it on any executor
//! # drop(serving);
//! ```

mod catalog;
mod context;
mod handler;
mod json_schema;
mod paging;
mod prompt;
mod resource;
mod tool;

use std::sync::Arc;

use switchboard::handler::{Chain, NullHandler};
use switchboard::{Builder, ConnectTo, Error};

pub use context::RequestContext;
pub use handler::ServiceHandler;
pub use paging::page;
pub use prompt::{Prompt, user_text};
pub use resource::{
    RESOURCE_NOT_FOUND, Resource, ResourceTemplate, resource_not_found, text_contents,
};
pub use tool::{Json, NoArguments, Tool, ToolError, ToolOutput, failed_result, text_result};

use crate::gate::InitializeGate;
use crate::role::McpServer;
use crate::schema::Implementation;
use catalog::Catalog;

/// How many items a list method returns per page unless set otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What an MCP server offers, and how it introduces itself.
///
/// Built once, served on any number of connections ([`serve`](Service::serve), or
/// [`handler`](Service::handler) in a builder of your own); clones share the same lists.
/// Tools, resources and prompts added or removed while serving reach every connection, which
/// is told with the matching `notifications/*/list_changed`.
#[derive(Clone, Debug)]
pub struct Service {
    info: Implementation,
    instructions: Option<String>,
    page_size: usize,
    catalog: Arc<Catalog>,
}

impl Service {
    /// A server that calls itself `name`, version `version`, offering nothing yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Service {
        Service {
            info: Implementation {
                description: None,
                icons: Vec::new(),
                name: name.into(),
                title: None,
                version: version.into(),
                website_url: None,
            },
            instructions: None,
            page_size: DEFAULT_PAGE_SIZE,
            catalog: Arc::default(),
        }
    }

    /// Sets the instructions sent with `initialize`'s answer: how to use this server.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Sets how many items a list method returns per page (at least 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Adds a tool (replacing one of the same name).
    pub fn tool(self, tool: Tool) -> Self {
        self.add_tool(tool);
        self
    }

    /// Adds a resource (replacing one with the same URI).
    pub fn resource(self, resource: Resource) -> Self {
        self.add_resource(resource);
        self
    }

    /// Adds a resource template.
    pub fn resource_template(self, template: ResourceTemplate) -> Self {
        self.add_resource_template(template);
        self
    }

    /// Adds a prompt (replacing one of the same name).
    pub fn prompt(self, prompt: Prompt) -> Self {
        self.add_prompt(prompt);
        self
    }

    /// Adds a tool while serving; connected clients get `notifications/tools/list_changed`.
    pub fn add_tool(&self, tool: Tool) {
        self.catalog.add_tool(tool);
    }

    /// Removes the tool `name`, telling connected clients; whether there was one.
    pub fn remove_tool(&self, name: &str) -> bool {
        self.catalog.remove_tool(name)
    }

    /// Adds a resource while serving; clients get `notifications/resources/list_changed`.
    pub fn add_resource(&self, resource: Resource) {
        self.catalog.add_resource(resource);
    }

    /// Adds a resource template while serving, telling connected clients.
    pub fn add_resource_template(&self, template: ResourceTemplate) {
        self.catalog.add_template(template);
    }

    /// Adds a prompt while serving; clients get `notifications/prompts/list_changed`.
    pub fn add_prompt(&self, prompt: Prompt) {
        self.catalog.add_prompt(prompt);
    }

    /// How this server introduces itself.
    pub fn info(&self) -> &Implementation {
        &self.info
    }

    /// A handler that serves this service on one connection. Put it after the
    /// [`InitializeGate`] that `McpServer.builder()` starts with.
    pub fn handler(&self) -> ServiceHandler {
        ServiceHandler::new(self.clone())
    }

    /// A server connection builder serving this service: `McpServer.builder()` with
    /// [`handler`](Service::handler); add handlers of your own before connecting.
    pub fn builder(
        &self,
    ) -> Builder<McpServer, Chain<Chain<NullHandler, InitializeGate>, ServiceHandler>> {
        McpServer
            .builder()
            .name(self.info.name.clone())
            .with_handler(self.handler())
    }

    /// Serves this service over `transport` until the client goes away.
    pub fn serve(
        &self,
        transport: impl ConnectTo<McpServer>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.builder().connect_to(transport)
    }
}
