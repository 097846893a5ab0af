//! The official SDK's client spawns the `acp_echo_agent` example binary (through its own
//! `AcpAgent`) and drives it across processes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agent_client_protocol as sdk;
use sdk::v1::SessionSetup;
use switchboard_acp::schema::{InitializeRequest, ProtocolVersion};

use crate::example_binaries::build_examples;
use crate::support::guard;

/// The `acp_echo_agent` binary, built once per test run (the examples are the main
/// workspace's).
fn echo_agent_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut built = build_examples(workspace, &["acp_echo_agent"]);
        built.pop().expect("one binary for one example")
    })
}

#[tokio::test]
async fn the_sdk_client_spawns_and_drives_the_echo_agent_binary() {
    let agent = sdk::AcpAgent::new(sdk::AcpAgentConfig::new(echo_agent_binary()));
    let (init, reply) = guard(
        "the SDK client and the agent process",
        sdk::Client.v1().connect_with(agent, async |cx| {
            let init = cx
                .send_request(InitializeRequest::new(ProtocolVersion::V1))
                .block_task()
                .await?;
            let reply = cx
                .build_session(std::env::temp_dir())
                .block_task()
                .run_until(async |SessionSetup { mut session, .. }| {
                    session.send_prompt("across two processes")?;
                    session.read_to_string().await
                })
                .await?;
            Ok((init, reply))
        }),
    )
    .await
    .unwrap_or_else(|error| panic!("the SDK client failed: {error:?}"));
    assert_eq!(init.protocol_version, ProtocolVersion::V1);
    assert_eq!(
        init.agent_info.map(|info| info.name).as_deref(),
        Some("acp_echo_agent")
    );
    assert_eq!(reply, "across two processes ");
}
