//! The table checked against the method names as the ACP v1 specification spells them.

use serde_json::json;
use switchboard::{JsonRpcMessage, JsonRpcRequest, UntypedMessage};

use crate::role::{Agent, Client, Conductor, Proxy};
use crate::schema::*;

/// `M` matches exactly `method`, for every role, and says so of itself.
fn assert_method<M>(method: &str)
where
    M: JsonRpcMessage<Client> + JsonRpcMessage<Agent> + JsonRpcMessage<Proxy>,
    M: JsonRpcMessage<Conductor>,
{
    assert!(
        <M as JsonRpcMessage<Client>>::matches_method(method),
        "{method}"
    );
    assert!(
        <M as JsonRpcMessage<Agent>>::matches_method(method),
        "{method}"
    );
    assert!(
        <M as JsonRpcMessage<Proxy>>::matches_method(method),
        "{method}"
    );
    assert!(
        <M as JsonRpcMessage<Conductor>>::matches_method(method),
        "{method}"
    );
    assert!(!<M as JsonRpcMessage<Client>>::matches_method(&format!(
        "{method}x"
    )));
    assert!(!<M as JsonRpcMessage<Client>>::matches_method("_ext"));
}

/// Compile-time: the response type of `R`.
fn answered_with<
    R: JsonRpcRequest<Agent, Response = T> + JsonRpcRequest<Client, Response = T>,
    T,
>() {
}

#[test]
fn client_to_agent_requests_have_the_spec_methods_and_answers() {
    assert_method::<InitializeRequest>("initialize");
    assert_method::<AuthenticateRequest>("authenticate");
    assert_method::<LogoutRequest>("logout");
    assert_method::<NewSessionRequest>("session/new");
    assert_method::<LoadSessionRequest>("session/load");
    assert_method::<ListSessionsRequest>("session/list");
    assert_method::<DeleteSessionRequest>("session/delete");
    assert_method::<ResumeSessionRequest>("session/resume");
    assert_method::<CloseSessionRequest>("session/close");
    assert_method::<SetSessionModeRequest>("session/set_mode");
    assert_method::<SetSessionConfigOptionRequest>("session/set_config_option");
    assert_method::<PromptRequest>("session/prompt");
    answered_with::<InitializeRequest, InitializeResponse>();
    answered_with::<AuthenticateRequest, AuthenticateResponse>();
    answered_with::<LogoutRequest, LogoutResponse>();
    answered_with::<NewSessionRequest, NewSessionResponse>();
    answered_with::<LoadSessionRequest, LoadSessionResponse>();
    answered_with::<ListSessionsRequest, ListSessionsResponse>();
    answered_with::<DeleteSessionRequest, DeleteSessionResponse>();
    answered_with::<ResumeSessionRequest, ResumeSessionResponse>();
    answered_with::<CloseSessionRequest, CloseSessionResponse>();
    answered_with::<SetSessionModeRequest, SetSessionModeResponse>();
    answered_with::<SetSessionConfigOptionRequest, SetSessionConfigOptionResponse>();
    answered_with::<PromptRequest, PromptResponse>();
}

#[test]
fn agent_to_client_requests_have_the_spec_methods_and_answers() {
    assert_method::<ReadTextFileRequest>("fs/read_text_file");
    assert_method::<WriteTextFileRequest>("fs/write_text_file");
    assert_method::<RequestPermissionRequest>("session/request_permission");
    assert_method::<CreateTerminalRequest>("terminal/create");
    assert_method::<TerminalOutputRequest>("terminal/output");
    assert_method::<ReleaseTerminalRequest>("terminal/release");
    assert_method::<WaitForTerminalExitRequest>("terminal/wait_for_exit");
    assert_method::<KillTerminalRequest>("terminal/kill");
    assert_method::<CreateElicitationRequest>("elicitation/create");
    answered_with::<ReadTextFileRequest, ReadTextFileResponse>();
    answered_with::<WriteTextFileRequest, WriteTextFileResponse>();
    answered_with::<RequestPermissionRequest, RequestPermissionResponse>();
    answered_with::<CreateTerminalRequest, CreateTerminalResponse>();
    answered_with::<TerminalOutputRequest, TerminalOutputResponse>();
    answered_with::<ReleaseTerminalRequest, ReleaseTerminalResponse>();
    answered_with::<WaitForTerminalExitRequest, WaitForTerminalExitResponse>();
    answered_with::<KillTerminalRequest, KillTerminalResponse>();
    answered_with::<CreateElicitationRequest, CreateElicitationResponse>();
}

#[test]
fn notifications_have_the_spec_methods() {
    assert_method::<CancelNotification>("session/cancel");
    assert_method::<SessionNotification>("session/update");
    assert_method::<CompleteElicitationNotification>("elicitation/complete");
    assert_method::<CancelRequestNotification>("$/cancel_request");
}

fn untyped(method: &str, params: serde_json::Value) -> UntypedMessage {
    UntypedMessage::new(method, params).unwrap()
}

#[test]
fn a_routing_enum_reads_each_method_as_its_variant() {
    let prompt = untyped(
        "session/prompt",
        json!({"sessionId": "s", "prompt": [{"type": "text", "text": "hi"}]}),
    );
    let read = <ClientRequest as JsonRpcMessage<Agent>>::from_untyped(prompt).unwrap();
    let ClientRequest::PromptRequest(request) = &read else {
        panic!("read as {read:?}");
    };
    assert_eq!(request.session_id.0.as_ref(), "s");
    assert_eq!(JsonRpcMessage::<Agent>::method(&read), "session/prompt");

    let cancel = untyped("session/cancel", json!({"sessionId": "s"}));
    let read = <ClientNotification as JsonRpcMessage<Agent>>::from_untyped(cancel).unwrap();
    assert!(matches!(read, ClientNotification::CancelNotification(_)));

    let unknown = untyped("session/unknown", json!({}));
    assert!(!<ClientRequest as JsonRpcMessage<Agent>>::matches_method(
        "session/unknown"
    ));
    let error = <ClientRequest as JsonRpcMessage<Agent>>::from_untyped(unknown).unwrap_err();
    assert_eq!(error.code(), switchboard::error::codes::METHOD_NOT_FOUND);
}

#[test]
fn extension_methods_pass_through_with_their_params() {
    let params = json!({"deep": {"list": [1, 2]}, "_meta": {"trace": "t-1"}});
    let ext = untyped("_acme/reindex", params.clone());
    assert!(<AgentRequest as JsonRpcMessage<Client>>::matches_method(
        "_acme/reindex"
    ));
    let read = <AgentRequest as JsonRpcMessage<Client>>::from_untyped(ext).unwrap();
    let AgentRequest::ExtMethodRequest(request) = &read else {
        panic!("read as {read:?}");
    };
    assert_eq!(&*request.method, "_acme/reindex");
    let back = JsonRpcMessage::<Client>::into_untyped(read).unwrap();
    assert_eq!(back.method(), "_acme/reindex");
    assert_eq!(back.params_value().unwrap(), params);

    let note = untyped("_acme/ping", json!(null));
    let read = <ExtNotification as JsonRpcMessage<Agent>>::from_untyped(note).unwrap();
    assert_eq!(&*read.method, "_acme/ping");
}

#[test]
fn meta_survives_a_read_and_a_write() {
    let params = json!({
        "sessionId": "s",
        "prompt": [{"type": "text", "text": "hi", "_meta": {"inner": true}}],
        "_meta": {"traceparent": "00-abc-01"}
    });
    let read = <PromptRequest as JsonRpcMessage<Agent>>::from_untyped(untyped(
        "session/prompt",
        params.clone(),
    ))
    .unwrap();
    let back = JsonRpcMessage::<Agent>::into_untyped(read).unwrap();
    assert_eq!(back.params_value().unwrap(), params);
}

#[test]
fn params_that_do_not_fit_name_the_field() {
    let bad = untyped("session/prompt", json!({"sessionId": 5, "prompt": []}));
    let error = <PromptRequest as JsonRpcMessage<Agent>>::from_untyped(bad).unwrap_err();
    assert_eq!(error.code(), switchboard::error::codes::INVALID_PARAMS);
    assert!(error.to_string().contains("sessionId"), "{error}");
}

#[cfg(feature = "unstable_session_fork")]
#[test]
fn an_unstable_feature_adds_its_messages() {
    assert_method::<ForkSessionRequest>("session/fork");
    answered_with::<ForkSessionRequest, ForkSessionResponse>();
    assert!(<ClientRequest as JsonRpcMessage<Agent>>::matches_method(
        "session/fork"
    ));
}

#[cfg(feature = "unstable_proxy_chains")]
#[test]
fn the_proxy_chain_messages_are_in_the_table() {
    assert_method::<InitializeProxyRequest>("proxy/initialize");
    assert_method::<ProxySuccessorRequest>("proxy/successor");
    assert_method::<ProxySuccessorNotification>("proxy/successor");
    answered_with::<InitializeProxyRequest, InitializeProxyResponse>();
}
