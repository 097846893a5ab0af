//! The ACP client and the echo agent in one process, over an in-process channel.
//!
//! ```text
//! cargo run --example acp_demo
//! ```
//!
//! The client initializes, opens a session in the current directory and sends one prompt.
//! The prompt names `@Cargo.toml`, so the agent asks the client to read that file
//! (`fs/read_text_file`) and echoes its first line; the reply streams in as
//! `agent_message_chunk` updates, then the prompt ends with `end_turn`.

use std::io::Write;

use switchboard::Channel;
use switchboard_examples::acp_client_app::{ClientOptions, client, run, stop_reason_name};
use switchboard_examples::acp_echo::echo_agent;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = ClientOptions {
        yes: false,
        cwd: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        prompt: "Hello, agent! Here is @Cargo.toml for you.".into(),
        cancel_after: None,
    };
    let (client_end, agent_end) = Channel::duplex();
    let agent = echo_agent().connect_to(agent_end);
    let builder = client(&options);
    let client = builder.connect_with(client_end, async move |cx| {
        println!("> {}", options.prompt);
        print!("< ");
        let reason = run(&cx, &options, |text| {
            print!("{text}");
            let _ = std::io::stdout().flush();
        })
        .await?;
        println!();
        Ok::<_, switchboard::Error>(reason)
    });
    // The agent serves until the client hangs up; the client's result is the demo's.
    let (reason, _) = futures::future::join(client, agent).await;
    match reason {
        Ok(reason) => eprintln!("stop reason: {}", stop_reason_name(&reason)),
        Err(error) => {
            eprintln!("acp_demo: {error}");
            std::process::exit(1);
        }
    }
}
