//! rmcp's client drives our example server (`switchboard_examples::mcp_example`): in
//! process over a tokio pipe, and the `mcp_server` program as a child process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, ClientRequest, GetPromptRequestParams, ProgressNotificationParam,
    ReadResourceRequestParams, Request,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};
use switchboard::ByteStreams;
use switchboard_examples::mcp_example::{README_TEXT, README_URI, SERVER_NAME};
use switchboard_mcp::server::{NoArguments, RequestContext, Service, Tool, ToolError};
use tokio::sync::mpsc;

/// Bounds every wait, so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// An rmcp client that passes on the progress notifications it receives.
struct ProgressWatcher(mpsc::Sender<ProgressNotificationParam>);

impl ClientHandler for ProgressWatcher {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params).await;
    }
}

type Client = RunningService<RoleClient, ProgressWatcher>;

/// `service` on one end of an in-process pipe; rmcp's client on the other. Also returns
/// where the client's progress notifications arrive.
async fn connect(service: Service) -> (Client, mpsc::Receiver<ProgressNotificationParam>) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(ours);
    tokio::spawn(service.serve(ByteStreams::tokio(write, read)));
    let (progress, arrived) = mpsc::channel(64);
    let client = ProgressWatcher(progress)
        .serve(theirs)
        .await
        .expect("rmcp's client initializes with our server");
    (client, arrived)
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

async fn call(client: &Client, name: &str, args: Value) -> Result<Value, ServiceError> {
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments(args));
    let result = client.call_tool(params).await?;
    Ok(serde_json::to_value(result).unwrap())
}

fn error_code(error: ServiceError) -> i32 {
    match error {
        ServiceError::McpError(error) => error.code.0,
        other => panic!("a JSON-RPC error expected, got {other}"),
    }
}

#[tokio::test]
async fn rmcp_initializes_with_our_server_at_2025_11_25() {
    let (client, _) = connect(switchboard_examples::mcp_example::service()).await;
    let info = client
        .peer_info()
        .expect("the server's answer to initialize");
    assert_eq!(info.protocol_version.as_str(), "2025-11-25");
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(server.name, SERVER_NAME);
    assert!(info.capabilities.tools.is_some());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_lists_and_calls_our_tools() {
    let (client, _) = connect(switchboard_examples::mcp_example::service()).await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(names, ["add", "echo", "sleep", "fail"]);
    let add = &tools[0];
    assert_eq!(add.input_schema["required"], json!(["a", "b"]));
    let output = add
        .output_schema
        .as_ref()
        .expect("add has an output schema");
    assert_eq!(output["properties"]["sum"]["type"], "integer");

    let sum = call(&client, "add", json!({"a": 2, "b": 3})).await.unwrap();
    assert_eq!(sum["structuredContent"], json!({"sum": 5}));
    assert!(sum["content"][0]["text"].as_str().unwrap().contains('5'));

    let echoed = call(&client, "echo", json!({"text": "hello"}))
        .await
        .unwrap();
    assert_eq!(echoed["content"][0]["text"], "hello");
    assert_ne!(echoed["isError"], true);

    let failed = call(&client, "fail", json!({})).await.unwrap();
    assert_eq!(failed["isError"], true);
    assert!(
        failed["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("always fails")
    );

    let unknown = call(&client, "nope", json!({})).await.unwrap_err();
    assert_eq!(error_code(unknown), -32602);
    let bad = call(&client, "add", json!({"a": "two", "b": 3}))
        .await
        .unwrap_err();
    assert_eq!(error_code(bad), -32602);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_reads_our_resource_and_gets_our_prompt() {
    let (client, _) = connect(switchboard_examples::mcp_example::service()).await;
    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, README_URI);

    let read = client
        .read_resource(ReadResourceRequestParams::new(README_URI))
        .await
        .unwrap();
    let read = serde_json::to_value(read).unwrap();
    assert_eq!(read["contents"][0]["text"], README_TEXT);
    assert_eq!(read["contents"][0]["mimeType"], "text/plain");

    let prompts = client.list_all_prompts().await.unwrap();
    assert_eq!(prompts[0].name, "greet");
    let mut greet = GetPromptRequestParams::new("greet");
    greet.arguments = Some(arguments(json!({"name": "Ada"})));
    let prompt = serde_json::to_value(client.get_prompt(greet).await.unwrap()).unwrap();
    assert_eq!(prompt["messages"].as_array().unwrap().len(), 1);
    assert_eq!(prompt["messages"][0]["role"], "user");
    assert!(
        prompt["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("Ada")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_sees_progress_from_sleep_before_its_result() {
    let (client, mut progress) = connect(switchboard_examples::mcp_example::service()).await;
    let slept = tokio::time::timeout(PATIENCE, call(&client, "sleep", json!({"ms": 150})))
        .await
        .expect("sleep answers")
        .unwrap();
    assert_eq!(slept["content"][0]["text"], "slept");
    // rmcp sends every request with a progress token; the server reports from 0 up to the
    // total, the last report ("awake") sent before the answer.
    let first = progress.recv().await.expect("a first report");
    assert_eq!(first.progress, 0.0);
    assert_eq!(first.total, Some(150.0));
    let mut last = first;
    while last.progress < 150.0 {
        last = tokio::time::timeout(PATIENCE, progress.recv())
            .await
            .expect("the reports reach the total")
            .expect("more reports");
    }
    assert_eq!(last.message.as_deref(), Some("awake"));
    client.cancel().await.unwrap();
}

/// Sets its flag when dropped: shows that a cancelled tool's work was dropped.
struct SetOnDrop(Arc<AtomicBool>, Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        if let Some(done) = self.1.take() {
            let _ = done.send(());
        }
    }
}

#[tokio::test]
async fn rmcp_cancels_a_running_tool_and_its_work_is_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (done, on_drop) = tokio::sync::oneshot::channel();
    let guard = std::sync::Mutex::new(Some(SetOnDrop(Arc::clone(&dropped), Some(done))));
    let guard = Arc::new(guard);
    let service = switchboard_examples::mcp_example::service().tool(Tool::new(
        "wait_forever",
        "Reports progress once, then waits until cancelled",
        move |_: NoArguments, cx: RequestContext| {
            let guard = guard.lock().unwrap().take();
            async move {
                let _guard = guard;
                cx.progress(0.0, None, Some("waiting"))?;
                std::future::pending::<()>().await;
                Ok::<_, ToolError>("never".to_owned())
            }
        },
    ));
    let (client, mut progress) = connect(service).await;
    let request =
        ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("wait_forever")));
    let handle = client
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
        .unwrap();
    // Running for sure once it has reported.
    let report = tokio::time::timeout(PATIENCE, progress.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.message.as_deref(), Some("waiting"));
    assert!(!dropped.load(Ordering::SeqCst));
    handle
        .cancel(Some("the test is done waiting".into()))
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, on_drop)
        .await
        .expect("the cancelled tool's work is dropped")
        .unwrap();
    // The server carries on.
    let echoed = call(&client, "echo", json!({"text": "still here"}))
        .await
        .unwrap();
    assert_eq!(echoed["content"][0]["text"], "still here");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_drives_the_mcp_server_program() {
    let server = crate::binaries().server.clone();
    let transport =
        rmcp::transport::TokioChildProcess::new(tokio::process::Command::new(server)).unwrap();
    let client = ().serve(transport).await.expect("initialize with the mcp_server program");
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, SERVER_NAME);
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    let params =
        CallToolRequestParams::new("add").with_arguments(arguments(json!({"a": 40, "b": 2})));
    let sum = serde_json::to_value(client.call_tool(params).await.unwrap()).unwrap();
    assert_eq!(sum["structuredContent"]["sum"], 42);
    let read = client
        .read_resource(ReadResourceRequestParams::new(README_URI))
        .await
        .unwrap();
    assert!(
        serde_json::to_value(read).unwrap()["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Switchboard")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_discovers_our_server_and_speaks_2026_07_28_to_it() {
    use rmcp::ClientServiceExt;
    use rmcp::model::ProtocolVersion;

    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(ours);
    tokio::spawn(
        switchboard_examples::mcp_example::service().serve(ByteStreams::tokio(write, read)),
    );
    let lifecycle = rmcp::ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client =
        ().serve_with_lifecycle(theirs, lifecycle)
            .await
            .expect("server/discover answered");
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
    assert_eq!(info.server_info.as_ref().unwrap().name, SERVER_NAME);
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    let params =
        CallToolRequestParams::new("add").with_arguments(arguments(json!({"a": 1, "b": 1})));
    let sum = serde_json::to_value(client.call_tool(params).await.unwrap()).unwrap();
    assert_eq!(sum["structuredContent"]["sum"], 2);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_in_auto_mode_finds_our_server_at_once() {
    use rmcp::ClientServiceExt;
    use rmcp::model::ProtocolVersion;

    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(ours);
    tokio::spawn(
        switchboard_examples::mcp_example::service().serve(ByteStreams::tokio(write, read)),
    );
    let lifecycle = rmcp::ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: Some(ProtocolVersion::V_2025_11_25),
    };
    // Auto mode falls back to `initialize` after 10 s of silence; our answer comes first.
    let started = std::time::Instant::now();
    let client = ().serve_with_lifecycle(theirs, lifecycle).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "discover was not answered at once"
    );
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    client.cancel().await.unwrap();
}
