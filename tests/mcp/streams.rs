//! A stream in MCP's convention ([`MCP_STREAMING`]), as it looks on the wire: the token in
//! the request's `_meta.progressToken`, each item a `notifications/progress` whose `progress`
//! counts the items and whose `_meta` carries the item; ordinary progress notifications on the
//! same token still reach the handlers.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::stream::{ItemSink, Streamed};
use switchboard::transport::{FrameDirection, Inspect};
use switchboard::{Channel, Responder, UntypedMessage, UntypedRole};
use switchboard_mcp::role::{MCP_CANCELLATION, MCP_STREAMING};

#[tokio::test]
async fn items_ride_on_progress_notifications_and_plain_progress_passes() {
    let (client_end, server_end) = Channel::duplex();
    let frames = Arc::new(Mutex::new(Vec::<Value>::new()));
    let tapped = Inspect::new(client_end, {
        let frames = Arc::clone(&frames);
        move |direction, frame: &[u8]| {
            if direction == FrameDirection::Received {
                frames
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(frame).unwrap());
            }
        }
    });
    let server = UntypedRole
        .builder()
        .streaming(MCP_STREAMING)
        .cancellation(MCP_CANCELLATION)
        .on_receive_streaming_request(
            |request: UntypedMessage,
             mut items: ItemSink<String>,
             responder: Responder<Value>,
             cx| async move {
                let token = request.params_value()?["_meta"]["progressToken"].clone();
                items.send("first".into()).await?;
                // Ordinary progress on the same token: not an item.
                cx.send_notification(UntypedMessage::new(
                    "notifications/progress",
                    json!({ "progressToken": token, "progress": 1.5, "message": "halfway" }),
                )?)?;
                items.send("second".into()).await?;
                responder.respond(json!({ "content": [] }))
            },
        );
    let seen_progress = Arc::new(Mutex::new(Vec::<Value>::new()));
    let client = UntypedRole
        .builder()
        .streaming(MCP_STREAMING)
        .cancellation(MCP_CANCELLATION)
        .on_receive_notification({
            let seen_progress = Arc::clone(&seen_progress);
            move |notification: UntypedMessage, _cx| {
                seen_progress
                    .lock()
                    .unwrap()
                    .push(notification.params_value().unwrap());
                std::future::ready(Ok(()))
            }
        })
        .connect_with(tapped, async |cx| {
            let request = UntypedMessage::new("tools/call", json!({ "name": "words" }))?;
            let mut stream = cx.send_streaming_request::<String, _>(request, 8);
            let mut seen = Vec::new();
            while let Some(next) = stream.next().await {
                seen.push(next?);
            }
            Ok(seen)
        });
    let (seen, _) = futures::join!(client, server.connect_to(server_end));
    assert_eq!(
        seen.unwrap(),
        [
            Streamed::Item("first".to_owned()),
            Streamed::Item("second".to_owned()),
            Streamed::Answer(json!({ "content": [] })),
        ]
    );
    let items: Vec<Value> = frames
        .lock()
        .unwrap()
        .iter()
        .filter(|frame| frame["params"]["_meta"].get("switchboard/item").is_some())
        .map(|frame| frame["params"].clone())
        .collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["progress"], 1);
    assert_eq!(items[1]["progress"], 2);
    assert_eq!(items[1]["_meta"]["switchboard/item"], "second");
    let plain = seen_progress.lock().unwrap().clone();
    assert_eq!(
        plain.len(),
        1,
        "only the ordinary progress reached the handler: {plain:?}"
    );
    assert_eq!(plain[0]["message"], "halfway");
}
