//! Tools: typed arguments in, a result out, with JSON Schemas generated from the types.
//!
//! Two kinds of failure, as MCP separates them. A tool that ran and failed returns a
//! [`ToolError::failed`]: the client gets a result with `isError: true` and the reason as
//! text, which the model can read and act on. A call that cannot run (an unknown tool,
//! arguments that do not fit the type, a [`ToolError::protocol`]) is answered with a
//! JSON-RPC error.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard::Error;

use super::context::RequestContext;
use super::json_schema::object_schema;
use crate::schema::{
    self, CallToolResult, ContentBlock, TextContent, ToolInputSchema, ToolOutputSchema,
};

/// A boxed future, as the type-erased handlers return.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a tool's handler becomes once its argument and result types are erased.
type RunTool = dyn Fn(
        Map<String, Value>,
        RequestContext,
    ) -> Result<BoxFuture<Result<CallToolResult, Error>>, Error>
    + Send
    + Sync;

/// A tool: its definition (name, description, schemas) and its handler.
#[derive(Clone)]
pub struct Tool {
    definition: schema::Tool,
    run: Arc<RunTool>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.definition.name)
            .finish_non_exhaustive()
    }
}

/// The arguments of a tool that takes none: `{}`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct NoArguments {}

impl Tool {
    /// A tool named `name` that runs `run` on its arguments, read as `Args`.
    ///
    /// The input schema comes from `Args`, the output schema (when the result is
    /// [`Json`]) from the result type. Arguments that do not fit `Args` are refused with
    /// -32602 naming the field, before `run` is called.
    ///
    /// ```
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    /// use switchboard_mcp::server::{Json, RequestContext, Tool, ToolError};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// #[derive(Serialize, JsonSchema)]
    /// struct Sum { sum: i64 }
    ///
    /// let add = Tool::new("add", "Adds two integers", async |args: Add, _cx: RequestContext| {
    ///     let sum = args.a.checked_add(args.b).ok_or_else(|| ToolError::failed("overflow"))?;
    ///     Ok(Json(Sum { sum }))
    /// });
    /// assert_eq!(add.definition().input_schema.required, ["a", "b"]);
    /// assert!(add.definition().output_schema.is_some());
    /// ```
    pub fn new<Args, Out, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        run: F,
    ) -> Tool
    where
        Args: DeserializeOwned + JsonSchema + Send + 'static,
        Out: ToolOutput,
        F: Fn(Args, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Out, ToolError>> + Send + 'static,
    {
        let (required, properties, dialect) = object_schema::<Args>();
        let definition = schema::Tool {
            annotations: None,
            description: Some(description.into()),
            execution: None,
            icons: Vec::new(),
            input_schema: ToolInputSchema::new(required, properties, dialect),
            meta: None,
            name: name.into(),
            output_schema: Out::output_schema(),
            title: None,
        };
        let run = Arc::new(move |arguments: Map<String, Value>, cx: RequestContext| {
            let args: Args = parse_arguments(arguments)?;
            let running = run(args, cx);
            let future: BoxFuture<Result<CallToolResult, Error>> = Box::pin(async move {
                match running.await {
                    Ok(output) => output.into_result(),
                    Err(ToolError::Failed(why)) => Ok(failed_result(why)),
                    Err(ToolError::Protocol(error)) => Err(error),
                }
            });
            Ok(future)
        });
        Tool { definition, run }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.definition.title = Some(title.into());
        self
    }

    /// The definition `tools/list` shows.
    pub fn definition(&self) -> &schema::Tool {
        &self.definition
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// Reads `arguments` and starts the tool: -32602 when they do not fit its type.
    pub(crate) fn start(
        &self,
        arguments: Map<String, Value>,
        cx: RequestContext,
    ) -> Result<BoxFuture<Result<CallToolResult, Error>>, Error> {
        (self.run)(arguments, cx)
    }
}

/// Reads a tool's arguments as `Args`; -32602 naming the field that does not fit.
fn parse_arguments<Args: DeserializeOwned>(arguments: Map<String, Value>) -> Result<Args, Error> {
    serde_path_to_error::deserialize(Value::Object(arguments)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            Error::invalid_params(format_args!("bad tool arguments: {inner}"))
        } else {
            Error::invalid_params(format_args!("bad tool argument `{path}`: {inner}"))
        }
    })
}

/// Why a tool call did not produce its result.
#[derive(Debug)]
pub enum ToolError {
    /// The tool ran and failed: the client gets an `isError: true` result with this text.
    Failed(String),
    /// The call could not be served: the client gets this JSON-RPC error.
    Protocol(Error),
}

impl ToolError {
    /// The tool failed, for the reason given (shown to the model).
    pub fn failed(why: impl fmt::Display) -> Self {
        ToolError::Failed(why.to_string())
    }

    /// The call is refused with a JSON-RPC error.
    pub fn protocol(error: Error) -> Self {
        ToolError::Protocol(error)
    }
}

/// A connection error (say, while sending progress) makes the call fail with it.
impl From<Error> for ToolError {
    fn from(error: Error) -> Self {
        ToolError::Protocol(error)
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Failed(why) => write!(f, "the tool failed: {why}"),
            ToolError::Protocol(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// What a tool's handler may return: how it becomes a `tools/call` result, and the output
/// schema it implies.
pub trait ToolOutput: Send + 'static {
    /// The `outputSchema` of tools returning this type; `None` for unstructured output.
    fn output_schema() -> Option<ToolOutputSchema> {
        None
    }

    /// The result sent to the client.
    ///
    /// # Errors
    ///
    /// When the output cannot be serialized.
    fn into_result(self) -> Result<CallToolResult, Error>;
}

/// Text: one text block.
impl ToolOutput for String {
    fn into_result(self) -> Result<CallToolResult, Error> {
        Ok(text_result(self))
    }
}

/// A result built by hand, sent as it is.
impl ToolOutput for CallToolResult {
    fn into_result(self) -> Result<CallToolResult, Error> {
        Ok(self)
    }
}

/// Structured output: `structuredContent` holds the value (which must serialize to a JSON
/// object), a text block holds the same as JSON for clients that read only text, and the
/// tool's `outputSchema` is `T`'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize + JsonSchema + Send + 'static> ToolOutput for Json<T> {
    fn output_schema() -> Option<ToolOutputSchema> {
        let (required, properties, dialect) = object_schema::<T>();
        Some(ToolOutputSchema::new(required, properties, dialect))
    }

    fn into_result(self) -> Result<CallToolResult, Error> {
        let value = serde_json::to_value(&self.0).map_err(Error::serialization)?;
        let Value::Object(object) = value else {
            return Err(Error::internal_error(
                "structured tool output must serialize to a JSON object",
            ));
        };
        let text = Value::Object(object.clone()).to_string();
        Ok(CallToolResult {
            structured_content: Some(object),
            ..text_result(text)
        })
    }
}

/// A result of one text block.
pub fn text_result(text: impl Into<String>) -> CallToolResult {
    CallToolResult {
        content: vec![ContentBlock::TextContent(TextContent::new(
            text.into(),
            None,
            None,
        ))],
        is_error: None,
        meta: None,
        structured_content: None,
    }
}

/// An `isError: true` result saying why.
pub fn failed_result(why: impl Into<String>) -> CallToolResult {
    CallToolResult {
        is_error: Some(true),
        ..text_result(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[expect(dead_code, reason = "only read")]
    struct Add {
        a: i64,
        b: i64,
    }

    #[test]
    fn arguments_that_do_not_fit_name_the_field() {
        let mut arguments = Map::new();
        arguments.insert("a".into(), Value::from(1));
        arguments.insert("b".into(), Value::from("two"));
        let error = parse_arguments::<Add>(arguments).unwrap_err();
        assert_eq!(error.code(), -32602);
        assert!(error.message().contains("`b`"), "{}", error.message());
    }

    #[test]
    fn structured_output_carries_the_same_value_as_text() {
        #[derive(Serialize, JsonSchema)]
        struct Sum {
            sum: i64,
        }
        let result = Json(Sum { sum: 5 }).into_result().unwrap();
        assert_eq!(result.structured_content.unwrap()["sum"], 5);
        let ContentBlock::TextContent(text) = &result.content[0] else {
            panic!("text expected");
        };
        assert_eq!(text.text, r#"{"sum":5}"#);
        assert!(
            Json::<Sum>::output_schema()
                .unwrap()
                .required
                .contains(&"sum".to_owned())
        );
    }

    #[test]
    fn a_non_object_structured_output_is_an_error() {
        assert!(Json(3).into_result().is_err());
    }
}
