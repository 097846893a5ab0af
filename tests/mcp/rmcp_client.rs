//! rmcp's client drives our example server (`switchboard_examples::mcp_example`).

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use switchboard::ByteStreams;

/// Our example server on one end of an in-process pipe; rmcp's client on the other.
async fn connect_in_process() -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(ours);
    tokio::spawn(switchboard_examples::mcp_example::service().serve(ByteStreams::tokio(write, read)));
    ().serve(theirs).await.expect("rmcp's client initializes with our server")
}

#[tokio::test]
async fn rmcp_lists_and_calls_our_tools() {
    let client = connect_in_process().await;
    let info = client.peer_info().expect("the server's answer to initialize");
    println!("{info:?}");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(names, ["add", "echo", "sleep", "fail"]);
    let args = serde_json::json!({"a": 2, "b": 3});
    let result = client
        .call_tool(CallToolRequestParams::new("add").with_arguments(args.as_object().unwrap().clone()))
        .await
        .unwrap();
    assert_eq!(result.structured_content, Some(serde_json::json!({"sum": 5})));
    client.cancel().await.unwrap();
}
