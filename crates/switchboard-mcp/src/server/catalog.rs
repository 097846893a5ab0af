//! The lists a [`Service`](super::Service) offers, shared by its connections, and who to tell
//! when they change.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use switchboard::{ConnectionTo, Error, JsonRpcNotification};

use super::context::RequestContext;
use super::tool::BoxFuture;
use super::{Prompt, Resource, ResourceTemplate, Tool};
use crate::messages::{PromptListChanged, ResourceListChanged, ToolListChanged};
use crate::role::McpClient;
use crate::schema::ReadResourceResult;

/// The tools, resources, templates and prompts, in the order they were added (the order the
/// list methods page through).
#[derive(Debug, Default)]
pub(crate) struct Lists {
    pub(crate) tools: Vec<Tool>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) templates: Vec<ResourceTemplate>,
    pub(crate) prompts: Vec<Prompt>,
}

/// The lists and the initialized connections to tell of changes.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    lists: RwLock<Lists>,
    /// Connections that finished `initialize`, by a number of their own. Each one's handler
    /// takes its entry out when the connection ends (see [`Listening`]), so this holds the
    /// live connections only.
    listeners: Mutex<Listeners>,
}

#[derive(Debug, Default)]
struct Listeners {
    next: u64,
    connections: Vec<(u64, ConnectionTo<McpClient>)>,
}

/// A connection's place among the listeners: dropping it (with the connection's handler)
/// takes the connection out.
#[derive(Debug)]
pub(crate) struct Listening {
    catalog: Arc<Catalog>,
    id: u64,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.catalog
            .listeners()
            .connections
            .retain(|(id, _)| *id != self.id);
    }
}

impl Catalog {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Lists> {
        // A panic elsewhere cannot leave the lists half-changed: every change is one push
        // or one retain.
        self.lists.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Lists> {
        self.lists.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn listeners(&self) -> MutexGuard<'_, Listeners> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells `cx` of every change from now on, until the returned [`Listening`] is dropped.
    pub(crate) fn listen(self: &Arc<Self>, cx: ConnectionTo<McpClient>) -> Listening {
        let mut listeners = self.listeners();
        let id = listeners.next;
        listeners.next += 1;
        listeners.connections.push((id, cx));
        Listening {
            catalog: Arc::clone(self),
            id,
        }
    }

    /// Sends `notification` to every listener; one whose connection has closed is dropped.
    fn tell<N: JsonRpcNotification<McpClient> + Clone>(&self, notification: N) {
        self.listeners()
            .connections
            .retain(|(_, cx)| cx.send_notification(notification.clone()).is_ok());
    }

    #[cfg(test)]
    pub(crate) fn listener_count(&self) -> usize {
        self.listeners().connections.len()
    }

    /// The tool `name`, if there is one.
    pub(crate) fn tool(&self, name: &str) -> Option<Tool> {
        self.read()
            .tools
            .iter()
            .find(|tool| tool.name() == name)
            .cloned()
    }

    /// The prompt `name`, if there is one.
    pub(crate) fn prompt(&self, name: &str) -> Option<Prompt> {
        self.read()
            .prompts
            .iter()
            .find(|prompt| prompt.definition().name == name)
            .cloned()
    }

    /// Starts reading `uri`: the resource with that URI, else the first template it fits;
    /// `None` when nothing serves it.
    pub(crate) fn read_resource(
        &self,
        uri: &str,
        cx: RequestContext,
    ) -> Option<BoxFuture<Result<ReadResourceResult, Error>>> {
        let lists = self.read();
        if let Some(resource) = lists
            .resources
            .iter()
            .find(|resource| resource.definition().uri == uri)
        {
            return Some(resource.read(uri.to_owned(), cx));
        }
        lists.templates.iter().find_map(|template| {
            let vars = template.matches(uri)?;
            Some(template.read(uri.to_owned(), vars, cx.clone()))
        })
    }

    pub(crate) fn add_tool(&self, tool: Tool) {
        {
            let mut lists = self.write();
            lists.tools.retain(|old| old.name() != tool.name());
            lists.tools.push(tool);
        }
        self.tell(ToolListChanged::default());
    }

    pub(crate) fn remove_tool(&self, name: &str) -> bool {
        let removed = {
            let mut lists = self.write();
            let before = lists.tools.len();
            lists.tools.retain(|tool| tool.name() != name);
            lists.tools.len() != before
        };
        if removed {
            self.tell(ToolListChanged::default());
        }
        removed
    }

    pub(crate) fn add_resource(&self, resource: Resource) {
        {
            let mut lists = self.write();
            lists
                .resources
                .retain(|old| old.definition().uri != resource.definition().uri);
            lists.resources.push(resource);
        }
        self.tell(ResourceListChanged::default());
    }

    pub(crate) fn add_template(&self, template: ResourceTemplate) {
        self.write().templates.push(template);
        self.tell(ResourceListChanged::default());
    }

    pub(crate) fn add_prompt(&self, prompt: Prompt) {
        {
            let mut lists = self.write();
            lists
                .prompts
                .retain(|old| old.definition().name != prompt.definition().name);
            lists.prompts.push(prompt);
        }
        self.tell(PromptListChanged::default());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use switchboard::Channel;

    use super::Catalog;
    use crate::McpClient;
    use crate::client::{McpClientExt, client_info};
    use crate::server::Service;

    #[test]
    fn a_connection_stops_listening_when_it_ends() {
        let service = Service::new("s", "0");
        let catalog: Arc<Catalog> = Arc::clone(&service.catalog);
        futures::executor::block_on(async {
            for _ in 0..3 {
                let (client_end, server_end) = Channel::duplex();
                let client = McpClient.builder().connect_with(client_end, async |cx| {
                    cx.initialize(client_info("t", "0")).await.map(drop)
                });
                let (answer, served) = futures::join!(client, service.serve(server_end));
                answer.unwrap();
                served.unwrap();
            }
        });
        assert_eq!(catalog.listener_count(), 0);
    }
}
