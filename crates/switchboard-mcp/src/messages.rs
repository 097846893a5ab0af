//! Every MCP message as a Switchboard message.
//!
//! Where the schema has a params type of its own for a method (`tools/call` takes
//! [`CallToolRequestParams`](schema::CallToolRequestParams)), that type is the message: the
//! table below (the core's `message_table!`) pairs it with its method and its answer, for
//! both roles. Method names come from the schema's own whole-message types
//! (`CallToolRequest::method_value()`), so a rename upstream cannot leave a stale string here.
//!
//! Methods whose params the schema shares (the four list methods take the same paginated
//! params; `ping` and the list-changed notifications take almost nothing) get a small type of
//! their own here, named after the method: [`ListTools`], [`Ping`], [`ToolListChanged`]...

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::role::{McpClient, McpServer};
use crate::schema;

switchboard::message_table! {
    roles: [McpClient, McpServer],
    requests: {
        schema::InitializeRequestParams = schema::InitializeRequest::method_value() => schema::InitializeResult,
        schema::CallToolRequestParams = schema::CallToolRequest::method_value() => schema::CallToolResult,
        schema::ReadResourceRequestParams = schema::ReadResourceRequest::method_value() => schema::ReadResourceResult,
        schema::SubscribeRequestParams = schema::SubscribeRequest::method_value() => schema::EmptyResult,
        schema::UnsubscribeRequestParams = schema::UnsubscribeRequest::method_value() => schema::EmptyResult,
        schema::GetPromptRequestParams = schema::GetPromptRequest::method_value() => schema::GetPromptResult,
        schema::SetLevelRequestParams = schema::SetLevelRequest::method_value() => schema::EmptyResult,
        schema::CompleteRequestParams = schema::CompleteRequest::method_value() => schema::CompleteResult,
        schema::CreateMessageRequestParams = schema::CreateMessageRequest::method_value() => schema::CreateMessageResult,
        schema::ElicitRequestParams = schema::ElicitRequest::method_value() => schema::ElicitResult,
    },
    notifications: {
        schema::CancelledNotificationParams = schema::CancelledNotification::method_value(),
        schema::ProgressNotificationParams = schema::ProgressNotification::method_value(),
        schema::LoggingMessageNotificationParams = schema::LoggingMessageNotification::method_value(),
        schema::ResourceUpdatedNotificationParams = schema::ResourceUpdatedNotification::method_value(),
        schema::ElicitCompleteParams = schema::ElicitationCompleteNotification::method_value(),
    },
}

/// `ping`, either way: answered `{}` while the peer is alive.
#[derive(Clone, Debug, Default, Serialize, Deserialize, switchboard::JsonRpcRequest)]
#[request(method = "ping", response = schema::EmptyResult)]
pub struct Ping {
    /// Metadata (`_meta`), passed through.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// Declares one paginated list request: its method, its answer, and the cursor it carries.
macro_rules! list_request {
    ($(#[$doc:meta])* $name:ident, $method:tt, $response:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, Serialize, Deserialize, switchboard::JsonRpcRequest)]
        #[request(method = $method, response = schema::$response)]
        pub struct $name {
            /// Where the previous page ended (its `nextCursor`); `None` for the first page.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cursor: Option<String>,
            /// Metadata (`_meta`): a `progressToken`, or a stateless request's version.
            #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
            pub meta: Option<Map<String, Value>>,
        }

        impl $name {
            /// The page that starts at `cursor` (`None`: the first page).
            pub fn at(cursor: Option<String>) -> Self {
                $name { cursor, meta: None }
            }
        }
    };
}

list_request!(
    /// `tools/list`: a page of the server's tools.
    ListTools, "tools/list", ListToolsResult
);
list_request!(
    /// `resources/list`: a page of the server's resources.
    ListResources, "resources/list", ListResourcesResult
);
list_request!(
    /// `resources/templates/list`: a page of the server's resource templates.
    ListResourceTemplates, "resources/templates/list", ListResourceTemplatesResult
);
list_request!(
    /// `prompts/list`: a page of the server's prompts.
    ListPrompts, "prompts/list", ListPromptsResult
);
list_request!(
    /// `roots/list` (server to client): the client's roots.
    ListRoots, "roots/list", ListRootsResult
);

/// Declares one notification whose params are only `_meta`.
macro_rules! bare_notification {
    ($(#[$doc:meta])* $name:ident, $method:tt) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, Serialize, Deserialize, switchboard::JsonRpcNotification)]
        #[notification(method = $method)]
        pub struct $name {
            /// Metadata (`_meta`), passed through.
            #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
            pub meta: Option<Map<String, Value>>,
        }
    };
}

bare_notification!(
    /// `notifications/initialized`: the client is done with the handshake.
    Initialized, "notifications/initialized"
);
bare_notification!(
    /// `notifications/tools/list_changed`: the server's tools changed; list them again.
    ToolListChanged, "notifications/tools/list_changed"
);
bare_notification!(
    /// `notifications/resources/list_changed`: the server's resources changed.
    ResourceListChanged, "notifications/resources/list_changed"
);
bare_notification!(
    /// `notifications/prompts/list_changed`: the server's prompts changed.
    PromptListChanged, "notifications/prompts/list_changed"
);
bare_notification!(
    /// `notifications/roots/list_changed`: the client's roots changed.
    RootsListChanged, "notifications/roots/list_changed"
);

/// The methods of the requests a client sends a server, as this crate knows them: what the
/// [`InitializeGate`](crate::gate::InitializeGate) holds back until `initialize`.
pub const CLIENT_REQUEST_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    crate::discover::DISCOVER_METHOD,
];

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::JsonRpcMessage;

    fn method_of<M: JsonRpcMessage<McpServer>>(message: &M) -> String {
        message.method().to_owned()
    }

    #[test]
    fn schema_types_carry_their_methods() {
        let call: schema::CallToolRequestParams =
            serde_json::from_value(serde_json::json!({"name": "add"})).unwrap();
        assert_eq!(method_of(&call), "tools/call");
        assert!(<schema::ProgressNotificationParams as JsonRpcMessage<
            McpClient,
        >>::matches_method("notifications/progress"));
    }

    #[test]
    fn every_method_the_table_knows_is_gated() {
        for method in [
            schema::CallToolRequest::method_value(),
            schema::ReadResourceRequest::method_value(),
            schema::GetPromptRequest::method_value(),
            schema::SetLevelRequest::method_value(),
            schema::CompleteRequest::method_value(),
            schema::SubscribeRequest::method_value(),
            schema::UnsubscribeRequest::method_value(),
            schema::InitializeRequest::method_value(),
            schema::ListToolsRequest::method_value(),
            schema::ListPromptsRequest::method_value(),
            schema::ListResourcesRequest::method_value(),
            schema::ListResourceTemplatesRequest::method_value(),
            schema::PingRequest::method_value(),
        ] {
            assert!(CLIENT_REQUEST_METHODS.contains(&method), "{method}");
        }
    }

    #[test]
    fn a_list_request_without_params_is_the_first_page() {
        use switchboard::UntypedMessage;

        let untyped = UntypedMessage::from_raw("tools/list".into(), None);
        let list = <ListTools as JsonRpcMessage<McpClient>>::from_untyped(untyped).unwrap();
        assert_eq!(list.cursor, None);
    }
}
