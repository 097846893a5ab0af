//! [`ServiceHandler`]: answers the protocol's requests for one connection from a
//! [`Service`](super::Service).
//!
//! Quick answers (initialize, the lists, ping) are given in the handler. Tool calls, reads
//! and prompts run in tasks of the connection (`ConnectionTo::spawn`), so a slow tool does
//! not hold up the messages behind it, a cancellation among them: a cancelled request's work
//! is dropped where it stands and nothing is answered, as MCP requires.

use std::sync::Arc;

use futures::future::{Either, select};
use serde_json::Value;
use switchboard::{
    ConnectionTo, Dispatch, Error, Handled, Handler, JsonRpcResponse, Responder, UntypedMessage,
};

use super::catalog::Listening;
use super::context::{LogLevel, RequestContext};
use super::paging::page;
use super::resource::resource_not_found;
use super::tool::BoxFuture;
use super::{Prompt, Resource, ResourceTemplate, Service, Tool};
use crate::discover::{DISCOVER_METHOD, DiscoverResult};
use crate::gate::stateless_version;
use crate::role::McpClient;
use crate::schema::{
    CallToolRequestParams, EmptyResult, GetPromptRequestParams, InitializeRequestParams,
    InitializeResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, ReadResourceRequestParams, Result as EmptyObject, ServerCapabilities,
    ServerCapabilitiesPrompts, ServerCapabilitiesResources, ServerCapabilitiesTools,
    SetLevelRequestParams,
};
use crate::version::negotiate;

/// Serves a [`Service`] on one connection: `initialize`, `ping`, `server/discover`, the four
/// list methods, `tools/call`, `resources/read`, `prompts/get` and `logging/setLevel`.
/// Everything else passes on down the chain (and is answered -32601 if nothing takes it).
#[derive(Debug)]
pub struct ServiceHandler {
    service: Service,
    /// The least severe log level this connection's client wants.
    log_level: Arc<LogLevel>,
    /// Set at `initialize`: the connection hears of changes to the lists until this handler
    /// (and so the connection) is gone.
    listening: Option<Listening>,
}

impl ServiceHandler {
    pub(crate) fn new(service: Service) -> Self {
        ServiceHandler {
            service,
            log_level: Arc::default(),
            listening: None,
        }
    }

    fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            completions: None,
            experimental: None,
            logging: Some(Default::default()),
            prompts: Some(ServerCapabilitiesPrompts {
                list_changed: Some(true),
            }),
            resources: Some(ServerCapabilitiesResources {
                list_changed: Some(true),
                subscribe: Some(false),
            }),
            tasks: None,
            tools: Some(ServerCapabilitiesTools {
                list_changed: Some(true),
            }),
        }
    }

    fn context(&self, cx: &ConnectionTo<McpClient>, request: &UntypedMessage) -> RequestContext {
        RequestContext::new(cx.clone(), request, Arc::clone(&self.log_level))
    }

    /// Answers `request` if it is one of the protocol's; gives it back if not.
    fn serve(
        &mut self,
        request: UntypedMessage,
        responder: Responder<Value>,
        cx: &ConnectionTo<McpClient>,
    ) -> Result<Option<(UntypedMessage, Responder<Value>)>, Error> {
        let page_size = self.service.page_size;
        let cursor = || cursor_of(&request);
        let stateless = stateless_version(&request).is_some();
        match request.method() {
            "initialize" => {
                let params: InitializeRequestParams = request.parse_params()?;
                self.listening = Some(self.service.catalog.listen(cx.clone()));
                answer(
                    responder,
                    stateless,
                    InitializeResult {
                        capabilities: self.capabilities(),
                        instructions: self.service.instructions.clone(),
                        meta: None,
                        protocol_version: negotiate(&params.protocol_version).to_owned(),
                        server_info: self.service.info.clone(),
                    },
                )?;
            }
            "ping" => answer(responder, stateless, EmptyResult(empty()))?,
            DISCOVER_METHOD => {
                let mut result = DiscoverResult::new(&self.service.info, self.capabilities());
                result.instructions = self.service.instructions.clone();
                answer(responder, stateless, result)?;
            }
            "logging/setLevel" => {
                let params: SetLevelRequestParams = request.parse_params()?;
                self.log_level.set(params.level);
                answer(responder, stateless, EmptyResult(empty()))?;
            }
            "tools/list" => {
                let (tools, next_cursor) = definitions(
                    &self.service.catalog.read().tools,
                    cursor()?,
                    page_size,
                    Tool::definition,
                )?;
                let result = ListToolsResult {
                    meta: None,
                    next_cursor,
                    tools,
                };
                answer(responder, stateless, result)?;
            }
            "resources/list" => {
                let (resources, next_cursor) = definitions(
                    &self.service.catalog.read().resources,
                    cursor()?,
                    page_size,
                    Resource::definition,
                )?;
                let result = ListResourcesResult {
                    meta: None,
                    next_cursor,
                    resources,
                };
                answer(responder, stateless, result)?;
            }
            "resources/templates/list" => {
                let (resource_templates, next_cursor) = definitions(
                    &self.service.catalog.read().templates,
                    cursor()?,
                    page_size,
                    ResourceTemplate::definition,
                )?;
                let result = ListResourceTemplatesResult {
                    meta: None,
                    next_cursor,
                    resource_templates,
                };
                answer(responder, stateless, result)?;
            }
            "prompts/list" => {
                let (prompts, next_cursor) = definitions(
                    &self.service.catalog.read().prompts,
                    cursor()?,
                    page_size,
                    Prompt::definition,
                )?;
                let result = ListPromptsResult {
                    meta: None,
                    next_cursor,
                    prompts,
                };
                answer(responder, stateless, result)?;
            }
            "tools/call" => {
                let params: CallToolRequestParams = request.parse_params()?;
                let tool = self.service.catalog.tool(&params.name).ok_or_else(|| {
                    Error::invalid_params(format_args!("no tool `{}`", params.name))
                })?;
                let arguments = params.arguments.unwrap_or_default();
                let work = tool.start(arguments, self.context(cx, &request))?;
                run_cancellable(cx, responder, stateless, work);
            }
            "resources/read" => {
                let params: ReadResourceRequestParams = request.parse_params()?;
                let work = self
                    .service
                    .catalog
                    .read_resource(&params.uri, self.context(cx, &request))
                    .ok_or_else(|| resource_not_found(&params.uri))?;
                run_cancellable(cx, responder, stateless, work);
            }
            "prompts/get" => {
                let params: GetPromptRequestParams = request.parse_params()?;
                let prompt = self.service.catalog.prompt(&params.name).ok_or_else(|| {
                    Error::invalid_params(format_args!("no prompt `{}`", params.name))
                })?;
                let arguments = params.arguments.unwrap_or_default();
                let work = prompt.start(arguments, self.context(cx, &request))?;
                run_cancellable(cx, responder, stateless, work);
            }
            _ => return Ok(Some((request, responder))),
        }
        Ok(None)
    }
}

impl Handler<McpClient> for ServiceHandler {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<McpClient>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            // An error returned here answers the request, since the responder went unused.
            Dispatch::Request(request, responder) => match self.serve(request, responder, cx)? {
                None => Ok(Handled::Yes),
                Some((request, responder)) => Ok(Handled::No {
                    message: Dispatch::Request(request, responder),
                    retry: false,
                }),
            },
            Dispatch::Notification(notification)
                if notification.method() == "notifications/initialized" =>
            {
                Ok(Handled::Yes)
            }
            other => Ok(Handled::pass(other)),
        }
    }
}

/// Runs `work` in a task of the connection and answers with its result, unless the client
/// cancels first: then the work is dropped unfinished and the responder with it.
fn run_cancellable<T: JsonRpcResponse>(
    cx: &ConnectionTo<McpClient>,
    responder: Responder<Value>,
    stateless: bool,
    work: BoxFuture<Result<T, Error>>,
) {
    let cancelled = Box::pin(responder.cancelled());
    cx.spawn(async move {
        match select(work, cancelled).await {
            Either::Left((Ok(value), _)) => answer(responder, stateless, value),
            Either::Left((Err(error), _)) => responder.respond_with_error(error),
            Either::Right(((), _)) => Ok(()),
        }
    });
}

/// Answers `value`. A stateless (2026-07-28) request gets it with `resultType: "complete"`,
/// which that version requires of every result and the older ones do not know; only then is
/// the value built as JSON first, the other answers are written straight from the type.
fn answer<T: JsonRpcResponse>(
    responder: Responder<Value>,
    stateless: bool,
    value: T,
) -> Result<(), Error> {
    if !stateless {
        return responder.cast::<T>().respond(value);
    }
    let mut value = serde_json::to_value(value).map_err(Error::serialization)?;
    if let Value::Object(object) = &mut value {
        object.insert("resultType".to_owned(), Value::from("complete"));
    }
    responder.respond(value)
}

/// The definitions of one page of `items`, and the cursor of the next page.
fn definitions<T: Clone, D: Clone>(
    items: &[T],
    cursor: Option<String>,
    size: usize,
    definition: fn(&T) -> &D,
) -> Result<(Vec<D>, Option<String>), Error> {
    let (items, next_cursor) = page(items, cursor.as_deref(), size)?;
    Ok((
        items.iter().map(|item| definition(item).clone()).collect(),
        next_cursor,
    ))
}

/// The `cursor` of a list request's params (absent params: the first page).
fn cursor_of(request: &UntypedMessage) -> Result<Option<String>, Error> {
    #[derive(serde::Deserialize)]
    struct Paged {
        cursor: Option<String>,
    }
    if request.params().is_none() {
        return Ok(None);
    }
    Ok(request.parse_params::<Paged>()?.cursor)
}

fn empty() -> EmptyObject {
    EmptyObject {
        meta: None,
        extra: None,
    }
}
