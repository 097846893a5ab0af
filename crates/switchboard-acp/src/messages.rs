//! Every ACP v1 message as a Switchboard message: the schema's types, with their method names
//! and response types, implement the core traits for each ACP role.
//!
//! The table below is the one place that pairs a type with its method and its answer; each
//! entry becomes an entry of the core's [`message_table!`](switchboard::message_table). It is
//! expanded once per role (Rust's coherence rules let this crate implement the core's traits
//! for the schema's types only with a role of its own as the trait parameter; see the core's
//! [`JsonRpcMessage`]). Method names come from the schema's own constants, so a rename
//! upstream cannot leave a stale string here.
//!
//! Besides the single messages, the schema's four routing enums are messages too:
//! [`ClientRequest`](schema::ClientRequest), [`ClientNotification`](schema::ClientNotification),
//! [`AgentRequest`](schema::AgentRequest) and [`AgentNotification`](schema::AgentNotification).
//! A handler for one of them takes every message of that group, and extension methods (those
//! whose name starts with `_`) as its `Ext…` variant. Their answer type is
//! `serde_json::Value`: use [`Responder::cast`](switchboard::Responder::cast) to answer with
//! the precise type.

use std::sync::Arc;

use serde_json::value::RawValue;
use switchboard::message::table::{parse_serde, write_serde};
use switchboard::{Error, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, UntypedMessage};

use crate::role::{Agent, Client, Conductor, Proxy};
use crate::schema;

/// One request: its method and its response type, declared with the core's message table.
macro_rules! request {
    ($role:ty, $ty:ident, $names:ident . $field:ident, $response:ty) => {
        switchboard::message_table! {
            roles: [$role],
            check: crate::checks::check,
            requests: { schema::$ty = schema::$names.$field => $response },
            notifications: {},
        }
    };
}

/// One notification: its method, declared with the core's message table.
macro_rules! notification {
    ($role:ty, $ty:ident, $names:ident . $field:ident) => {
        switchboard::message_table! {
            roles: [$role],
            check: crate::checks::check,
            requests: {},
            notifications: { schema::$ty = schema::$names.$field },
        }
    };
}

/// A routing enum of the schema: it matches the methods of its variants, and `_`-prefixed
/// extension methods as `$ext`. The variants carry the name of the type they hold.
macro_rules! routing_enum {
    ($role:ty, $enum:ident, $ext:ident($ext_type:ident), $names:ident {
        $( $(#[$attr:meta])* $ty:ident($field:ident) ),*
    }) => {
        impl JsonRpcMessage<$role> for schema::$enum {
            fn matches_method(method: &str) -> bool {
                $( $(#[$attr])* if method == schema::$names.$field { return true; } )*
                is_extension(method)
            }

            fn method(&self) -> &str {
                schema::$enum::method(self)
            }

            fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                // The enum is untagged: it writes the params of the variant it holds.
                write_serde(self, out)
            }

            fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
                $(
                    $(#[$attr])*
                    if message.method() == schema::$names.$field {
                        let value: schema::$ty = parse_serde(&message)?;
                        crate::checks::check(&value)?;
                        return Ok(schema::$enum::$ty(value));
                    }
                )*
                if is_extension(message.method()) {
                    return <schema::$ext_type as JsonRpcMessage<$role>>::from_untyped(message)
                        .map(schema::$enum::$ext);
                }
                Err(Error::method_not_found(message.method()))
            }
        }
    };
}

/// The whole table, for one role. Requests list `Type(method) -> Response`, grouped under the
/// routing enum that holds them, with that enum's extension variant in brackets.
macro_rules! table {
    ($role:ty) => {
        table!(@requests $role, ClientRequest [ExtMethodRequest] AGENT_METHOD_NAMES {
            InitializeRequest(initialize) -> InitializeResponse,
            AuthenticateRequest(authenticate) -> AuthenticateResponse,
            LogoutRequest(logout) -> LogoutResponse,
            NewSessionRequest(session_new) -> NewSessionResponse,
            LoadSessionRequest(session_load) -> LoadSessionResponse,
            ListSessionsRequest(session_list) -> ListSessionsResponse,
            DeleteSessionRequest(session_delete) -> DeleteSessionResponse,
            ResumeSessionRequest(session_resume) -> ResumeSessionResponse,
            CloseSessionRequest(session_close) -> CloseSessionResponse,
            SetSessionModeRequest(session_set_mode) -> SetSessionModeResponse,
            SetSessionConfigOptionRequest(session_set_config_option) -> SetSessionConfigOptionResponse,
            PromptRequest(session_prompt) -> PromptResponse,
            #[cfg(feature = "unstable_llm_providers")]
            ListProvidersRequest(providers_list) -> ListProvidersResponse,
            #[cfg(feature = "unstable_llm_providers")]
            SetProviderRequest(providers_set) -> SetProviderResponse,
            #[cfg(feature = "unstable_llm_providers")]
            DisableProviderRequest(providers_disable) -> DisableProviderResponse,
            #[cfg(feature = "unstable_auth_status")]
            AuthStatusRequest(auth_status) -> AuthStatusResponse,
            #[cfg(feature = "unstable_session_fork")]
            ForkSessionRequest(session_fork) -> ForkSessionResponse,
            #[cfg(feature = "unstable_session_archive")]
            ArchiveSessionRequest(session_archive) -> ArchiveSessionResponse,
            #[cfg(feature = "unstable_session_archive")]
            UnarchiveSessionRequest(session_unarchive) -> UnarchiveSessionResponse,
            #[cfg(feature = "unstable_session_status")]
            SessionStatusRequest(session_status) -> SessionStatusResponse,
            #[cfg(feature = "unstable_session_set_title")]
            SetSessionTitleRequest(session_set_title) -> SetSessionTitleResponse,
            #[cfg(feature = "unstable_session_options")]
            SessionOptionsRequest(session_options) -> SessionOptionsResponse
        });
        table!(@requests $role, AgentRequest [ExtMethodRequest] CLIENT_METHOD_NAMES {
            WriteTextFileRequest(fs_write_text_file) -> WriteTextFileResponse,
            ReadTextFileRequest(fs_read_text_file) -> ReadTextFileResponse,
            RequestPermissionRequest(session_request_permission) -> RequestPermissionResponse,
            CreateTerminalRequest(terminal_create) -> CreateTerminalResponse,
            TerminalOutputRequest(terminal_output) -> TerminalOutputResponse,
            ReleaseTerminalRequest(terminal_release) -> ReleaseTerminalResponse,
            WaitForTerminalExitRequest(terminal_wait_for_exit) -> WaitForTerminalExitResponse,
            KillTerminalRequest(terminal_kill) -> KillTerminalResponse,
            CreateElicitationRequest(elicitation_create) -> CreateElicitationResponse,
            #[cfg(feature = "unstable_mcp_over_acp")]
            MessageMcpRequest(mcp_message) -> MessageMcpResponse
        });
        table!(@notifications $role, ClientNotification [ExtNotification] AGENT_METHOD_NAMES {
            CancelNotification(session_cancel),
            #[cfg(feature = "unstable_mcp_over_acp")]
            MessageMcpNotification(mcp_message)
        });
        table!(@notifications $role, AgentNotification [ExtNotification] CLIENT_METHOD_NAMES {
            SessionNotification(session_update),
            CompleteElicitationNotification(elicitation_complete),
            #[cfg(feature = "unstable_auth_status")]
            AuthStatusUpdateNotification(auth_status_update)
        });
        notification!($role, CancelRequestNotification, PROTOCOL_LEVEL_METHOD_NAMES.cancel_request);
        #[cfg(feature = "unstable_proxy_chains")]
        request!($role, InitializeProxyRequest, PROXY_METHOD_NAMES.proxy_initialize, schema::InitializeProxyResponse);
        #[cfg(feature = "unstable_proxy_chains")]
        request!($role, ProxySuccessorRequest, PROXY_METHOD_NAMES.proxy_successor, schema::ProxySuccessorResponse);
        #[cfg(feature = "unstable_proxy_chains")]
        notification!($role, ProxySuccessorNotification, PROXY_METHOD_NAMES.proxy_successor);
        extension_impls!($role);
    };
    (@requests $role:ty, $enum:ident [$ext:ident] $names:ident {
        $( $(#[$attr:meta])* $ty:ident($field:ident) -> $response:ident ),* $(,)?
    }) => {
        $( $(#[$attr])* request!($role, $ty, $names.$field, schema::$response); )*
        routing_enum!($role, $enum, $ext(ExtRequest), $names { $( $(#[$attr])* $ty($field) ),* });
        impl JsonRpcRequest<$role> for schema::$enum {
            type Response = serde_json::Value;
        }
    };
    (@notifications $role:ty, $enum:ident [$ext:ident] $names:ident {
        $( $(#[$attr:meta])* $ty:ident($field:ident) ),* $(,)?
    }) => {
        $( $(#[$attr])* notification!($role, $ty, $names.$field); )*
        routing_enum!($role, $enum, $ext(ExtNotification), $names { $( $(#[$attr])* $ty($field) ),* });
        impl JsonRpcNotification<$role> for schema::$enum {}
    };
}

/// Extension requests and notifications: any method that starts with `_`, params passed
/// through as raw JSON, `_meta` and all.
macro_rules! extension_impls {
    ($role:ty) => {
        extension!($role, ExtRequest);
        extension!($role, ExtNotification);

        impl JsonRpcRequest<$role> for schema::ExtRequest {
            type Response = schema::ExtResponse;
        }

        impl JsonRpcNotification<$role> for schema::ExtNotification {}
    };
}

/// One extension type (`ExtRequest` or `ExtNotification`: the same two fields).
macro_rules! extension {
    ($role:ty, $ty:ident) => {
        impl JsonRpcMessage<$role> for schema::$ty {
            fn matches_method(method: &str) -> bool {
                is_extension(method)
            }

            fn method(&self) -> &str {
                &self.method
            }

            fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                out.extend_from_slice(self.params.get().as_bytes());
                Ok(())
            }

            fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
                let (method, params) = raw_parts(message)?;
                Ok(schema::$ty::new(method, params))
            }
        }
    };
}

table!(Client);
table!(Agent);
table!(Proxy);
table!(Conductor);

/// Extension methods are the ones ACP leaves to implementations: names that start with `_`.
pub fn is_extension(method: &str) -> bool {
    method.starts_with('_')
}

/// The method and the params of an extension message, the params as the schema keeps them
/// (`null` when absent).
fn raw_parts(message: UntypedMessage) -> Result<(String, Arc<RawValue>), Error> {
    let (method, params) = message.into_parts();
    let text = params.map_or_else(|| "null".to_owned(), |params| params.get().to_owned());
    let params = RawValue::from_string(text).map_err(Error::invalid_params)?;
    Ok((method, Arc::from(params)))
}

#[cfg(test)]
mod tests;
