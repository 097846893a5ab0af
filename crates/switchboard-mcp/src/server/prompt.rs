//! Prompts: templates of messages a client asks for by name, with typed arguments.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use switchboard::Error;

use super::context::RequestContext;
use super::json_schema::object_schema;
use super::tool::BoxFuture;
use crate::schema::{
    self, ContentBlock, GetPromptResult, PromptArgument, PromptMessage, Role, TextContent,
};

type GetPrompt = dyn Fn(
        BTreeMap<String, String>,
        RequestContext,
    ) -> Result<BoxFuture<Result<GetPromptResult, Error>>, Error>
    + Send
    + Sync;

/// A prompt: its name, its arguments (from the fields of a type), and what it produces.
#[derive(Clone)]
pub struct Prompt {
    definition: schema::Prompt,
    get: Arc<GetPrompt>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.definition.name)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt named `name`, whose arguments are the fields of `Args` (prompt arguments are
    /// strings; a field is required unless it is an `Option` or has a default).
    ///
    /// ```
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    /// use switchboard_mcp::server::{Prompt, user_text};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Greet { name: String }
    ///
    /// let greet = Prompt::new("greet", "Greets someone", async |args: Greet, _cx| {
    ///     Ok(vec![user_text(format!("Say hello to {}", args.name))])
    /// });
    /// assert_eq!(greet.definition().arguments[0].name, "name");
    /// assert_eq!(greet.definition().arguments[0].required, Some(true));
    /// ```
    pub fn new<Args, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        get: F,
    ) -> Prompt
    where
        Args: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<PromptMessage>, Error>> + Send + 'static,
    {
        let (required, properties, _) = object_schema::<Args>();
        let arguments = properties
            .unwrap_or_default()
            .into_iter()
            .map(|(name, schema)| PromptArgument {
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                required: Some(required.contains(&name)),
                title: None,
                name,
            })
            .collect();
        let description = description.into();
        let shown = description.clone();
        let get = Arc::new(
            move |arguments: BTreeMap<String, String>, cx: RequestContext| {
                let object: Map<String, Value> = arguments
                    .into_iter()
                    .map(|(name, value)| (name, Value::String(value)))
                    .collect();
                let args: Args =
                    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
                        Error::invalid_params(format_args!("bad prompt arguments: {error}"))
                    })?;
                let getting = get(args, cx);
                let description = shown.clone();
                let future: BoxFuture<Result<GetPromptResult, Error>> = Box::pin(async move {
                    Ok(GetPromptResult {
                        description: Some(description),
                        messages: getting.await?,
                        meta: None,
                    })
                });
                Ok(future)
            },
        );
        Prompt {
            definition: schema::Prompt {
                arguments,
                description: Some(description),
                icons: Vec::new(),
                meta: None,
                name: name.into(),
                title: None,
            },
            get,
        }
    }

    /// The definition `prompts/list` shows.
    pub fn definition(&self) -> &schema::Prompt {
        &self.definition
    }

    pub(crate) fn start(
        &self,
        arguments: BTreeMap<String, String>,
        cx: RequestContext,
    ) -> Result<BoxFuture<Result<GetPromptResult, Error>>, Error> {
        (self.get)(arguments, cx)
    }
}

/// A prompt message from the user, of one text block.
pub fn user_text(text: impl Into<String>) -> PromptMessage {
    PromptMessage {
        content: ContentBlock::TextContent(TextContent::new(text.into(), None, None)),
        role: Role::User,
    }
}
