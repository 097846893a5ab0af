//! Resources (fixed URIs) and resource templates (URIs with `{variables}`), and how a
//! `resources/read` finds the one that serves a URI.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use switchboard::Error;

use super::context::RequestContext;
use super::tool::BoxFuture;
use crate::schema::{self, ReadResourceContent, ReadResourceResult, TextResourceContents};

/// MCP's error code for a resource that does not exist.
pub const RESOURCE_NOT_FOUND: i32 = -32002;

/// The error for a URI that no resource or template serves: -32002 with `{"uri": uri}`.
pub fn resource_not_found(uri: &str) -> Error {
    Error::new(RESOURCE_NOT_FOUND, format!("no resource `{uri}`"))
        .with_data(serde_json::json!({ "uri": uri }))
}

type ReadResource = dyn Fn(
        String,
        HashMap<String, String>,
        RequestContext,
    ) -> BoxFuture<Result<ReadResourceResult, Error>>
    + Send
    + Sync;

/// A resource at a fixed URI.
#[derive(Clone)]
pub struct Resource {
    definition: schema::Resource,
    read: Arc<ReadResource>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.definition.uri)
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// A resource read by calling `read` with its URI.
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Resource
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, Error>> + Send + 'static,
    {
        Resource {
            definition: schema::Resource {
                annotations: None,
                description: None,
                icons: Vec::new(),
                meta: None,
                mime_type: None,
                name: name.into(),
                size: None,
                title: None,
                uri: uri.into(),
            },
            read: Arc::new(move |uri, _vars, cx| Box::pin(read(uri, cx))),
        }
    }

    /// A resource whose content is `text`, always the same.
    ///
    /// ```
    /// use switchboard_mcp::server::Resource;
    ///
    /// let readme = Resource::text("mem://readme", "readme", "Hello").mime_type("text/plain");
    /// assert_eq!(readme.definition().mime_type.as_deref(), Some("text/plain"));
    /// ```
    pub fn text(
        uri: impl Into<String>,
        name: impl Into<String>,
        text: impl Into<String>,
    ) -> Resource {
        let text: Arc<str> = Arc::from(text.into());
        Resource::new(uri, name, move |uri, _cx| {
            let text = Arc::clone(&text);
            async move { Ok(text_contents(uri, None, &text)) }
        })
    }

    /// Sets the MIME type (also given to the contents of a [`Resource::text`]).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        let mime_type = mime_type.into();
        self.definition.mime_type = Some(mime_type.clone());
        let read = Arc::clone(&self.read);
        self.read = Arc::new(move |uri, vars, cx| {
            let reading = read(uri, vars, cx);
            let mime_type = mime_type.clone();
            Box::pin(async move {
                let mut result = reading.await?;
                for content in &mut result.contents {
                    if let ReadResourceContent::TextResourceContents(text) = content {
                        text.mime_type.get_or_insert_with(|| mime_type.clone());
                    }
                }
                Ok(result)
            })
        });
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition.description = Some(description.into());
        self
    }

    /// The definition `resources/list` shows.
    pub fn definition(&self) -> &schema::Resource {
        &self.definition
    }

    pub(crate) fn read(
        &self,
        uri: String,
        cx: RequestContext,
    ) -> BoxFuture<Result<ReadResourceResult, Error>> {
        (self.read)(uri, HashMap::new(), cx)
    }
}

/// The contents of a text resource.
pub fn text_contents(
    uri: impl Into<String>,
    mime_type: Option<&str>,
    text: &str,
) -> ReadResourceResult {
    ReadResourceResult {
        contents: vec![ReadResourceContent::TextResourceContents(
            TextResourceContents {
                meta: None,
                mime_type: mime_type.map(str::to_owned),
                text: text.to_owned(),
                uri: uri.into(),
            },
        )],
        meta: None,
    }
}

/// Resources whose URIs fit a template like `notes://{folder}/{name}`: each `{variable}`
/// stands for a non-empty run of characters without `/` (RFC 6570's simple expansion).
#[derive(Clone)]
pub struct ResourceTemplate {
    definition: schema::ResourceTemplate,
    read: Arc<ReadResource>,
}

impl fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("uri_template", &self.definition.uri_template)
            .finish_non_exhaustive()
    }
}

impl ResourceTemplate {
    /// A template read by calling `read` with the URI and the values of its variables.
    ///
    /// ```
    /// use switchboard_mcp::server::{ResourceTemplate, text_contents};
    ///
    /// let notes = ResourceTemplate::new("notes://{name}", "notes", async |uri, vars, _cx| {
    ///     Ok(text_contents(uri, Some("text/plain"), &format!("note {}", vars["name"])))
    /// });
    /// assert_eq!(notes.matches("notes://todo").unwrap()["name"], "todo");
    /// assert!(notes.matches("notes://a/b").is_none());
    /// ```
    pub fn new<F, Fut>(
        uri_template: impl Into<String>,
        name: impl Into<String>,
        read: F,
    ) -> ResourceTemplate
    where
        F: Fn(String, HashMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, Error>> + Send + 'static,
    {
        ResourceTemplate {
            definition: schema::ResourceTemplate {
                annotations: None,
                description: None,
                icons: Vec::new(),
                meta: None,
                mime_type: None,
                name: name.into(),
                title: None,
                uri_template: uri_template.into(),
            },
            read: Arc::new(move |uri, vars, cx| Box::pin(read(uri, vars, cx))),
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition.description = Some(description.into());
        self
    }

    /// The definition `resources/templates/list` shows.
    pub fn definition(&self) -> &schema::ResourceTemplate {
        &self.definition
    }

    /// The values of the template's variables in `uri`, if `uri` fits the template.
    pub fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        match_template(&self.definition.uri_template, uri)
    }

    pub(crate) fn read(
        &self,
        uri: String,
        vars: HashMap<String, String>,
        cx: RequestContext,
    ) -> BoxFuture<Result<ReadResourceResult, Error>> {
        (self.read)(uri, vars, cx)
    }
}

/// Matches `uri` against `template`, literal by literal and variable by variable.
fn match_template(template: &str, uri: &str) -> Option<HashMap<String, String>> {
    let mut vars = HashMap::new();
    let mut rest_template = template;
    let mut rest_uri = uri;
    loop {
        let Some(open) = rest_template.find('{') else {
            return (rest_template == rest_uri).then_some(vars);
        };
        let literal = &rest_template[..open];
        rest_uri = rest_uri.strip_prefix(literal)?;
        let close = open + rest_template[open..].find('}')?;
        let name = &rest_template[open + 1..close];
        rest_template = &rest_template[close + 1..];
        // The value runs to the next literal character of the template, or to a `/`.
        let stop = rest_template.chars().next();
        let end = rest_uri
            .char_indices()
            .find(|(_, c)| *c == '/' || Some(*c) == stop)
            .map_or(rest_uri.len(), |(at, _)| at);
        if end == 0 {
            return None;
        }
        vars.insert(name.to_owned(), rest_uri[..end].to_owned());
        rest_uri = &rest_uri[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_variables_between_literals() {
        let vars = match_template("repo://{owner}/{name}/readme", "repo://a/b/readme").unwrap();
        assert_eq!(vars["owner"], "a");
        assert_eq!(vars["name"], "b");
        assert!(match_template("repo://{owner}/{name}/readme", "repo://a/b/other").is_none());
        assert!(match_template("repo://{owner}", "repo://").is_none());
        assert!(match_template("plain://x", "plain://x").unwrap().is_empty());
    }
}
