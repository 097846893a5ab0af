//! The echo agent and MCP servers over ACP: it advertises `mcpCapabilities.acp` and calls a
//! tool the client serves; built without it, it says so and refuses a session declaring one.

use switchboard_acp::mcp_over_acp::{is_supported_by, offer_service};
use switchboard_acp::schema::NewSessionRequest;
use switchboard_acp::{AcpClient, Client};
use switchboard_examples::acp_echo::{EchoOptions, echo_agent, echo_agent_with};
use switchboard_examples::acp_tools::tools_service;

use crate::support::{chunk_text, hello, talk};

#[tokio::test]
async fn the_echo_agent_calls_a_tool_the_client_serves() {
    let (supported, said) = talk(echo_agent(), Client.builder(), async |cx| {
        let supported = is_supported_by(&cx.initialize(hello()).block_task().await?);
        let mut request = NewSessionRequest::new("/");
        let served = offer_service(&cx, &mut request, "calc", &tools_service()).await?;
        let (mut session, _) = cx.new_session(request).await?;
        let mut said = String::new();
        session
            .prompt(r#"/tool calc add {"a": 40, "b": 2}"#, |update| {
                said.extend(chunk_text(&update))
            })
            .await?;
        drop(served);
        Ok((supported, said))
    })
    .await;
    assert!(supported, "the echo agent advertises mcpCapabilities.acp");
    assert_eq!(said, r#"{"sum":42}"#);
}

#[tokio::test]
async fn without_the_capability_a_session_declaring_an_acp_server_is_refused() {
    let agent = echo_agent_with(EchoOptions {
        reaches_acp_servers: false,
    });
    let (supported, refused) = talk(agent, Client.builder(), async |cx| {
        let supported = is_supported_by(&cx.initialize(hello()).block_task().await?);
        let mut request = NewSessionRequest::new("/");
        let _served = offer_service(&cx, &mut request, "calc", &tools_service()).await?;
        let refused = cx.new_session(request).await.map(|_| ());
        Ok((supported, refused))
    })
    .await;
    assert!(
        !supported,
        "built without it, the agent does not advertise it"
    );
    let error = refused.expect_err("the agent cannot reach the server");
    assert_eq!(error.code(), -32602);
    assert!(error.message().contains("mcpCapabilities.acp"), "{error}");
}
