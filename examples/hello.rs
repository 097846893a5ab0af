//! Hello, Switchboard: a client and a server in one process, and every frame between them.
//!
//! ```text
//! cargo run --example hello
//! ```
//!
//! The client sends a `note` notification and a `greet` request. To answer `greet`, the server
//! first asks the client a question of its own (`who_are_you`), without waiting inside its
//! handler: the answer arrives through a callback. Each frame is printed as it crosses.

use futures::StreamExt;
use futures::channel::mpsc;
use serde::{Deserialize, Serialize};
use switchboard::{
    Error, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, Lines, UntypedRole,
};

/// Client → server: a notification, never answered.
#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "note")]
struct Note {
    text: String,
}

/// Client → server: asks for a greeting.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "greet", response = Greeting)]
struct Greet {
    text: String,
}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Greeting {
    greeting: String,
}

/// Server → client: the server asks a question back.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "who_are_you", response = Name)]
struct WhoAreYou {}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Name {
    name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Two line pipes, printed as they are read: the transcript of the conversation.
    let (client_writes, server_reads) = mpsc::channel::<String>(16);
    let (server_writes, client_reads) = mpsc::channel::<String>(16);
    let server_reads = server_reads
        .inspect(|line| println!("client → server  {line}"))
        .map(Ok::<_, std::io::Error>);
    let client_reads = client_reads
        .inspect(|line| println!("server → client  {line}"))
        .map(Ok::<_, std::io::Error>);

    let server = UntypedRole
        .builder()
        .name("server")
        .on_receive_notification(async |note: Note, _cx| {
            println!("                 (server notes: {:?})", note.text);
            Ok(())
        })
        .on_receive_request(async |greet: Greet, responder, cx| {
            // Ask the client first. The handler returns at once; the callback answers `greet`
            // when the client's answer comes in.
            cx.send_request(WhoAreYou {}).on_receiving_ok_result(
                responder,
                async move |name, responder| {
                    responder.respond(Greeting {
                        greeting: format!("Hello, {}! You said {:?}.", name.name, greet.text),
                    })
                },
            );
            Ok(())
        })
        .connect_to(Lines::new(server_writes, server_reads));

    let client = UntypedRole
        .builder()
        .name("client")
        .on_receive_request(async |_: WhoAreYou, responder, _cx| {
            responder.respond(Name { name: "Ada".into() })
        })
        .connect_with(Lines::new(client_writes, client_reads), async |cx| {
            cx.send_notification(Note {
                text: "first contact".into(),
            })?;
            let greeting = cx
                .send_request(Greet {
                    text: "hi there".into(),
                })
                .block_task()
                .await?;
            println!("\nclient got: {}", greeting.greeting);
            Ok(())
        });

    let (client, server) = tokio::join!(client, server);
    client?;
    server
}
