//! The echo service on stdin/stdout: newline-delimited JSON-RPC 2.0.
//!
//! ```text
//! cargo run --example echo_server
//! {"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}
//! {"jsonrpc":"2.0","id":1,"result":{"text":"hi"}}
//! ```
//!
//! The contract is in `examples/echo_service.rs`. At end of input the requests still in
//! flight are answered, then the process exits 0.

use switchboard::Stdio;
use switchboard_examples::echo_service::echo_service;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match echo_service().connect_to(Stdio::new()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo_server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
