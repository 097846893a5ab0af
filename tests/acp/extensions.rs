//! Extension methods (names starting with `_`) and `_meta` pass through end to end, in both
//! directions, untouched.

use std::sync::Arc;

use futures::StreamExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use switchboard::ConnectionTo;
use switchboard::error::codes::METHOD_NOT_FOUND;
use switchboard_acp::initialize::agent_response;
use switchboard_acp::schema::{
    ContentChunk, ExtNotification, ExtRequest, ExtResponse, InitializeRequest, Meta,
    NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse, SessionNotification,
    SessionUpdate, StopReason,
};
use switchboard_acp::{AcpClient, Agent, Client, SessionEvent};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{hello, talk, text};

fn raw(value: Value) -> Arc<serde_json::value::RawValue> {
    Arc::from(serde_json::value::to_raw_value(&value).unwrap())
}

fn parse(raw: &serde_json::value::RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap()
}

fn meta(value: Value) -> Meta {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn an_extension_request_and_notification_pass_through_with_their_meta() {
    let (told_tx, mut told) = mpsc::unbounded::<(String, Value)>();
    // The echo agent, plus a handler for every extension request: it tells the client what
    // it got (an extension notification the other way), then answers with the same.
    let agent = echo_agent().on_receive_request(
        async |request: ExtRequest, responder, cx: ConnectionTo<Client>| {
            let got = json!({"method": &*request.method, "params": parse(&request.params)});
            cx.send_notification(ExtNotification::new("_test/told", raw(got.clone())))?;
            responder.respond(ExtResponse::new(raw(got)))
        },
    );
    let client = Client.builder().on_receive_notification(
        move |told: ExtNotification, _cx: ConnectionTo<Agent>| {
            let _ = told_tx.unbounded_send((told.method.to_string(), parse(&told.params)));
            std::future::ready(Ok(()))
        },
    );
    let params = json!({"question": 42, "_meta": {"trace": "t-1", "nested": {"a": [1, 2]}}});
    let sent = params.clone();
    let answer = talk(agent, client, async move |cx| {
        cx.initialize(hello()).block_task().await?;
        let answer = cx
            .send_request(ExtRequest::new("_test/echo", raw(sent)))
            .block_task()
            .await?;
        Ok(parse(&answer.0))
    })
    .await;
    let expected = json!({"method": "_test/echo", "params": params});
    assert_eq!(answer, expected);
    let (method, told) = told.next().await.expect("the agent told the client");
    assert_eq!(method, "_test/told");
    assert_eq!(told, expected);
}

#[tokio::test]
async fn an_extension_method_no_handler_takes_gets_method_not_found() {
    let error = talk(echo_agent(), Client.builder(), async |cx| {
        cx.initialize(hello()).block_task().await?;
        let request = ExtRequest::new("_test/nobody", raw(json!({"_meta": {"x": 1}})));
        Ok(cx.send_request(request).block_task().await)
    })
    .await
    .expect_err("the echo agent has no extensions");
    assert_eq!(error.code(), METHOD_NOT_FOUND);
}

#[tokio::test]
async fn meta_on_standard_messages_reaches_the_other_side() {
    // An agent that hands every `_meta` it gets back: in the `session/new` answer, and in
    // an update and the answer of each prompt.
    let agent = Agent
        .builder()
        .on_receive_request(async |request: InitializeRequest, responder, _cx| {
            responder.respond(agent_response(&request).meta(request.meta.clone()))
        })
        .on_receive_request(async |request: NewSessionRequest, responder, _cx| {
            responder.respond(NewSessionResponse::new("m").meta(request.meta))
        })
        .on_receive_request(
            async |prompt: PromptRequest, responder, cx: ConnectionTo<Client>| {
                let update = SessionUpdate::AgentMessageChunk(
                    ContentChunk::new(text("seen")).meta(prompt.meta.clone()),
                );
                let notification =
                    SessionNotification::new(prompt.session_id, update).meta(prompt.meta.clone());
                cx.send_notification(notification)?;
                responder.respond(PromptResponse::new(StopReason::EndTurn).meta(prompt.meta))
            },
        );
    let (init, opened, update, answer) = talk(agent, Client.builder(), async |cx| {
        let init = cx
            .initialize(hello().meta(meta(json!({"who": "init"}))))
            .block_task()
            .await?;
        let request = NewSessionRequest::new("/").meta(meta(json!({"who": "new"})));
        let (mut session, opened) = cx.new_session(request).await?;
        let prompt = PromptRequest::new(session.id().clone(), vec![text("hi")])
            .meta(meta(json!({"who": "prompt", "n": [1, {"deep": true}]})));
        let answer = cx.send_request(prompt).block_task().await?;
        // The update was sent before the answer, so it is already on the session's stream.
        let update = match session.next().await {
            Some(SessionEvent::Update(update)) => update,
            other => panic!("expected the update, got {other:?}"),
        };
        Ok((init, opened, update, answer))
    })
    .await;
    assert_eq!(init.meta, Some(meta(json!({"who": "init"}))));
    assert_eq!(opened.meta, Some(meta(json!({"who": "new"}))));
    let prompt_meta = Some(meta(json!({"who": "prompt", "n": [1, {"deep": true}]})));
    assert_eq!(update.meta, prompt_meta);
    match &update.update {
        SessionUpdate::AgentMessageChunk(chunk) => assert_eq!(chunk.meta, prompt_meta),
        other => panic!("unexpected update {other:?}"),
    }
    assert_eq!(answer.meta, prompt_meta);
}
