//! The protocol's rules on our server, seen by a client that sends what it likes: the
//! initialize gate, version negotiation, `server/discover` and stateless requests, error
//! codes, pagination, list-changed notifications, progress (log levels: `logging.rs`).

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::{Channel, ConnectionTo, Error, UntypedMessage};
use switchboard_mcp::client::{McpClientExt, client_info};
use switchboard_mcp::messages::ToolListChanged;
use switchboard_mcp::schema::ReadResourceContent;
use switchboard_mcp::server::{
    NoArguments, RequestContext, ResourceTemplate, Service, Tool, ToolError, text_contents,
};
use switchboard_mcp::{McpClient, McpServer};

/// Runs `main` as a client of `service`, over an in-process channel.
async fn client_of<T, F, Fut>(service: Service, main: F) -> T
where
    T: Send + 'static,
    F: FnOnce(ConnectionTo<McpServer>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (client_end, server_end) = Channel::duplex();
    let client = McpClient.builder().connect_with(client_end, main);
    let (answer, served) = futures::join!(client, service.serve(server_end));
    served.unwrap();
    answer.unwrap()
}

/// Sends `method` with `params` as it is and waits for the answer.
pub(super) async fn raw(
    cx: &ConnectionTo<McpServer>,
    method: &str,
    params: Value,
) -> Result<Value, Error> {
    cx.send_request(UntypedMessage::new(method, params)?)
        .block_task()
        .await
}

fn example() -> Service {
    switchboard_examples::mcp_example::service()
}

fn initialize_params(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"}
    })
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_and_discover_are_answered() {
    client_of(example(), async |cx| {
        let refused = raw(&cx, "tools/list", json!({})).await.unwrap_err();
        assert_eq!(refused.code(), -32600);
        assert!(
            refused.message().contains("before `initialize`"),
            "{}",
            refused.message()
        );
        let refused = raw(
            &cx,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "x"}}),
        )
        .await;
        assert_eq!(refused.unwrap_err().code(), -32600);

        assert_eq!(raw(&cx, "ping", json!({})).await?, json!({}));
        let discovered = raw(&cx, "server/discover", json!({})).await?;
        assert_eq!(
            discovered["supportedVersions"],
            json!(["2026-07-28", "2025-11-25", "2025-06-18"])
        );
        assert_eq!(
            discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "switchboard-mcp-example"
        );
        assert!(discovered["capabilities"]["tools"].is_object());

        raw(&cx, "initialize", initialize_params("2025-11-25")).await?;
        assert!(raw(&cx, "tools/list", json!({})).await?["tools"].is_array());
        let again = raw(&cx, "initialize", initialize_params("2025-11-25"))
            .await
            .unwrap_err();
        assert_eq!(again.code(), -32600);
        assert!(again.message().contains("already"), "{}", again.message());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_malformed_initialize_is_invalid_params_and_leaves_the_gate_closed() {
    client_of(example(), async |cx| {
        let bad = raw(&cx, "initialize", json!({"protocolVersion": 3}))
            .await
            .unwrap_err();
        assert_eq!(bad.code(), -32602);
        assert_eq!(
            raw(&cx, "tools/list", json!({})).await.unwrap_err().code(),
            -32600
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn initialize_keeps_a_version_it_speaks_and_answers_2025_11_25_to_any_other() {
    for (asked, answered) in [
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2026-07-28", "2025-11-25"),
        ("2099-01-01", "2025-11-25"),
        ("not a date", "2025-11-25"),
    ] {
        let result = client_of(example(), async move |cx| {
            raw(&cx, "initialize", initialize_params(asked)).await
        })
        .await;
        assert_eq!(result["protocolVersion"], answered, "asked for {asked}");
        assert_eq!(result["serverInfo"]["name"], "switchboard-mcp-example");
    }
}

#[tokio::test]
async fn a_stateless_request_naming_its_version_is_served_without_initialize() {
    client_of(example(), async |cx| {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        });
        let tools = raw(&cx, "tools/list", json!({"_meta": meta})).await?;
        assert_eq!(tools["tools"].as_array().unwrap().len(), 4);
        let call = json!({"name": "echo", "arguments": {"text": "stateless"}, "_meta": meta});
        assert_eq!(
            raw(&cx, "tools/call", call).await?["content"][0]["text"],
            "stateless"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn unknown_methods_get_method_not_found_before_and_after_initialize() {
    client_of(example(), async |cx| {
        assert_eq!(
            raw(&cx, "tools/frobnicate", json!({}))
                .await
                .unwrap_err()
                .code(),
            -32601
        );
        cx.initialize(client_info("test", "0")).await?;
        assert_eq!(
            raw(&cx, "tools/frobnicate", json!({}))
                .await
                .unwrap_err()
                .code(),
            -32601
        );
        assert_eq!(
            raw(&cx, "resources/subscribe", json!({"uri": "mem://readme"}))
                .await
                .unwrap_err()
                .code(),
            -32601
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn unknown_tools_prompts_and_bad_arguments_get_invalid_params() {
    client_of(example(), async |cx| {
        cx.initialize(client_info("test", "0")).await?;
        let unknown = cx
            .call_tool("nope", json!({}))
            .block_task()
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), -32602);
        assert!(unknown.message().contains("nope"), "{}", unknown.message());
        let missing = cx
            .call_tool("add", json!({"a": 1}))
            .block_task()
            .await
            .unwrap_err();
        assert_eq!(missing.code(), -32602);
        assert!(missing.message().contains('b'), "{}", missing.message());
        let wrong = cx
            .call_tool("add", json!({"a": 1, "b": "2"}))
            .block_task()
            .await
            .unwrap_err();
        assert!(wrong.message().contains("`b`"), "{}", wrong.message());
        let no_prompt = cx.get_prompt("nope", []).block_task().await.unwrap_err();
        assert_eq!(no_prompt.code(), -32602);
        let no_name = cx.get_prompt("greet", []).block_task().await.unwrap_err();
        assert_eq!(no_name.code(), -32602);
        let no_resource = cx
            .read_resource("mem://nothing")
            .block_task()
            .await
            .unwrap_err();
        assert_eq!(no_resource.code(), -32002);
        Ok(())
    })
    .await;
}

fn numbered_tools(count: usize, page_size: usize) -> Service {
    let mut service = Service::new("pages", "0").page_size(page_size);
    for n in 0..count {
        service = service.tool(Tool::new(
            format!("tool-{n}"),
            "one of many",
            async |_: NoArguments, _cx| Ok::<_, ToolError>(String::new()),
        ));
    }
    service
}

#[tokio::test]
async fn lists_are_paged_by_cursor_and_the_stream_follows_every_page() {
    client_of(numbered_tools(5, 2), async |cx| {
        cx.initialize(client_info("test", "0")).await?;
        let first = cx.list_tools(None).block_task().await?;
        assert_eq!(first.tools.len(), 2);
        let second = cx
            .list_tools(first.next_cursor.clone())
            .block_task()
            .await?;
        assert_eq!(second.tools[0].name, "tool-2");
        let third = cx
            .list_tools(second.next_cursor.clone())
            .block_task()
            .await?;
        assert_eq!((third.tools.len(), third.next_cursor), (1, None));

        let names: Vec<String> = cx.tools().map(|tool| tool.unwrap().name).collect().await;
        assert_eq!(names, ["tool-0", "tool-1", "tool-2", "tool-3", "tool-4"]);

        let bad = cx
            .list_tools(Some("not-a-cursor".into()))
            .block_task()
            .await
            .unwrap_err();
        assert_eq!(bad.code(), -32602);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn adding_a_tool_while_serving_tells_the_client() {
    let service = numbered_tools(1, 10);
    let adder = service.clone();
    let (changed, told) = futures::channel::oneshot::channel();
    let changed = Mutex::new(Some(changed));
    let (client_end, server_end) = Channel::duplex();
    let client = McpClient
        .builder()
        .on_receive_notification(move |_: ToolListChanged, _cx| {
            if let Some(changed) = changed.lock().unwrap().take() {
                let _ = changed.send(());
            }
            std::future::ready(Ok(()))
        })
        .connect_with(client_end, async move |cx| {
            cx.initialize(client_info("test", "0")).await?;
            adder.add_tool(Tool::new(
                "late",
                "added while serving",
                async |_: NoArguments, _cx| Ok::<_, ToolError>(String::new()),
            ));
            told.await.expect("notifications/tools/list_changed");
            let names: Vec<String> = cx.tools().map(|tool| tool.unwrap().name).collect().await;
            Ok(names)
        });
    let (names, served) = futures::join!(client, service.serve(server_end));
    served.unwrap();
    assert_eq!(names.unwrap(), ["tool-0", "late"]);
}

#[tokio::test]
async fn our_client_sees_progress_before_the_result() {
    let reports = client_of(example(), async |cx| {
        cx.initialize(client_info("test", "0")).await?;
        let reports = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&reports);
        let result = cx
            .call_tool_with_progress("sleep", json!({"ms": 120}), move |progress| {
                collected
                    .lock()
                    .unwrap()
                    .push((progress.progress, progress.total));
            })
            .await?;
        assert_eq!(result.is_error, None);
        let reports = reports.lock().unwrap().clone();
        Ok(reports)
    })
    .await;
    assert_eq!(reports.first(), Some(&(0.0, Some(120.0))));
    assert_eq!(reports.last(), Some(&(120.0, Some(120.0))));
    assert!(
        reports.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "{reports:?}"
    );
}

#[tokio::test]
async fn a_resource_template_serves_the_uris_it_matches() {
    let service = Service::new("templates", "0").resource_template(ResourceTemplate::new(
        "notes://{folder}/{name}",
        "notes",
        async |uri, vars, _cx| {
            Ok(text_contents(
                uri,
                None,
                &format!("{} in {}", vars["name"], vars["folder"]),
            ))
        },
    ));
    client_of(service, async |cx| {
        cx.initialize(client_info("test", "0")).await?;
        let templates: Vec<_> = cx.resource_templates().collect().await;
        assert_eq!(
            templates[0].as_ref().unwrap().uri_template,
            "notes://{folder}/{name}"
        );
        let read = cx.read_resource("notes://work/todo").block_task().await?;
        let ReadResourceContent::TextResourceContents(text) = &read.contents[0] else {
            panic!("text expected");
        };
        assert_eq!(
            (text.text.as_str(), text.uri.as_str()),
            ("todo in work", "notes://work/todo")
        );
        assert_eq!(
            cx.read_resource("notes://work")
                .block_task()
                .await
                .unwrap_err()
                .code(),
            -32002
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn stateless_answers_say_result_type_complete_and_an_unknown_stateless_version_is_refused() {
    client_of(example(), async |cx| {
        let meta =
            |version: &str| json!({"_meta": {"io.modelcontextprotocol/protocolVersion": version}});
        let tools = raw(&cx, "tools/list", meta("2026-07-28")).await?;
        assert_eq!(tools["resultType"], "complete");
        let refused = raw(&cx, "tools/list", meta("2030-01-01"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), -32022);
        assert_eq!(refused.data().unwrap()["supported"], json!(["2026-07-28"]));
        // The handshake versions' answers have no `resultType`.
        cx.initialize(client_info("test", "0")).await?;
        let tools = raw(&cx, "tools/list", json!({})).await?;
        assert!(tools.get("resultType").is_none());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn our_client_dropping_a_call_cancels_it_on_the_server() {
    let (started, running) = futures::channel::oneshot::channel::<()>();
    let (stopped, dropped) = futures::channel::oneshot::channel::<()>();
    let started = Mutex::new(Some(started));
    let stopped = Arc::new(Mutex::new(Some(stopped)));
    /// Says, when dropped, that the tool's work was dropped.
    struct Stopped(Arc<Mutex<Option<futures::channel::oneshot::Sender<()>>>>);
    impl Drop for Stopped {
        fn drop(&mut self) {
            if let Some(stopped) = self.0.lock().unwrap().take() {
                let _ = stopped.send(());
            }
        }
    }
    let service = Service::new("waits", "0").tool(Tool::new(
        "wait",
        "waits until cancelled",
        move |_: NoArguments, _cx| {
            let started = started.lock().unwrap().take();
            let guard = Stopped(Arc::clone(&stopped));
            async move {
                let _guard = guard;
                if let Some(started) = started {
                    let _ = started.send(());
                }
                std::future::pending::<()>().await;
                Ok::<_, ToolError>(String::new())
            }
        },
    ));
    client_of(service, async move |cx| {
        cx.initialize(client_info("test", "0")).await?;
        let call = cx.call_tool("wait", json!({}));
        running.await.expect("the tool runs");
        // Cancelling sends `notifications/cancelled`; the server drops the tool's work.
        call.cancel();
        dropped.await.expect("the tool's work is dropped");
        // The connection carries on.
        cx.ping().block_task().await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_tool_can_ping_the_client_and_the_client_answers() {
    use switchboard_mcp::messages::Ping;

    let service = Service::new("pinger", "0").tool(Tool::new(
        "ping_back",
        "pings the client",
        async |_: NoArguments, cx: RequestContext| {
            cx.connection()
                .send_request(Ping::default())
                .block_task()
                .await?;
            Ok::<_, ToolError>("the client answered".to_owned())
        },
    ));
    let result = client_of(service, async |cx| {
        cx.initialize(client_info("test", "0")).await?;
        cx.call_tool("ping_back", json!({})).block_task().await
    })
    .await;
    assert_eq!(result.is_error, None);
}

#[tokio::test]
async fn a_client_asking_for_2025_06_18_gets_it_and_serves_the_roots_it_announced() {
    use switchboard_mcp::messages::ListRoots;
    use switchboard_mcp::schema::{
        ClientCapabilities, ClientRoots, InitializeRequestParams, ListRootsResult, Root,
    };

    // A tool that asks the client for its roots, and names them.
    let service = Service::new("roots", "0").tool(Tool::new(
        "roots",
        "lists the client's roots",
        async |_: NoArguments, cx: RequestContext| {
            let roots = cx
                .connection()
                .send_request(ListRoots::default())
                .block_task()
                .await?;
            Ok::<_, ToolError>(
                roots
                    .roots
                    .iter()
                    .map(|root| root.uri.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        },
    ));
    let (client_end, server_end) = Channel::duplex();
    let client = McpClient
        .builder()
        .on_receive_request(async |_: ListRoots, responder, _cx| {
            let root = Root {
                meta: None,
                name: Some("work".into()),
                uri: "file:///work".into(),
            };
            responder.respond(ListRootsResult {
                meta: None,
                roots: vec![root],
            })
        })
        .connect_with(client_end, async |cx| {
            let params = InitializeRequestParams {
                capabilities: ClientCapabilities {
                    roots: Some(ClientRoots {
                        list_changed: Some(false),
                    }),
                    ..Default::default()
                },
                client_info: client_info("rooted", "0"),
                meta: None,
                protocol_version: "2025-06-18".into(),
            };
            let info = cx.initialize_with(params).await?;
            let result = cx.call_tool("roots", json!({})).block_task().await?;
            Ok((info.protocol_version, result))
        });
    let (answer, served) = futures::join!(client, service.serve(server_end));
    served.unwrap();
    let (version, result) = answer.unwrap();
    assert_eq!(version, "2025-06-18");
    let switchboard_mcp::schema::ContentBlock::TextContent(text) = &result.content[0] else {
        panic!("text expected");
    };
    assert_eq!(text.text, "file:///work");
}
