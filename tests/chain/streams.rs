//! A stream (`switchboard::stream`) from an ACP client to an agent through the conductor and
//! 0, 1 or 3 transparent proxies: the items arrive in order before the answer, the producer is
//! never more than the window ahead of the consumer (its credits cross every hop), and
//! dropping the stream stops the producer.
//!
//! Neither the conductor nor the ACP proxies open streams of their own: the request crosses
//! them as an ordinary request (its token unchanged), and the items and credits, as
//! notifications, the way every other notification crosses them. The window is then held end
//! to end by the client's credits alone.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use futures::channel::oneshot;
use serde_json::{Value, json};
use switchboard::error::codes;
use switchboard::stream::{ItemSink, Streamed};
use switchboard::{ConnectTo, ConnectionTo, Error, Responder, UntypedMessage};
use switchboard_acp::schema::InitializeRequest;
use switchboard_acp::{Agent, Client, initialize};

use crate::support::{PROXY_COUNTS, drive, hello, transparent};

const WINDOW: u32 = 4;

/// An agent that answers `initialize`, and streams `0..count` for `_numbers {"count"}`,
/// counting in `sent` what it has sent and telling `ended` how its producing ended.
fn numbers_agent(
    sent: Arc<AtomicU64>,
    ended: Option<oneshot::Sender<i32>>,
) -> impl ConnectTo<Client> {
    let mut ended = ended;
    Agent
        .builder()
        .on_receive_request(
            |request: InitializeRequest, responder: Responder<_>, _cx: ConnectionTo<Client>| {
                ready(responder.respond(initialize::agent_response(&request)))
            },
        )
        .on_receive_streaming_request(
            move |request: UntypedMessage,
                  mut items: ItemSink<u64>,
                  responder: Responder<Value>,
                  _cx: ConnectionTo<Client>| {
                let sent = Arc::clone(&sent);
                let ended = ended.take();
                async move {
                    let count = request.params_value()?["count"].as_u64().unwrap_or(0);
                    for n in 0..count {
                        if let Err(error) = items.send(n).await {
                            if let Some(ended) = ended {
                                let _ = ended.send(error.code());
                            }
                            return Err(error);
                        }
                        sent.fetch_add(1, Ordering::SeqCst);
                    }
                    responder.respond(json!("done"))
                }
            },
        )
}

fn numbers(count: u64) -> UntypedMessage {
    UntypedMessage::new("_numbers", json!({ "count": count })).unwrap()
}

#[tokio::test]
async fn a_stream_crosses_the_conductor_with_its_window() {
    for n in PROXY_COUNTS {
        let sent = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&sent);
        let (items, widest, answer) = drive(
            transparent(numbers_agent(Arc::clone(&sent), None), n),
            switchboard_acp::Client.builder(),
            async move |cx| {
                cx.send_request(hello()).block_task().await?;
                let mut stream = cx.send_streaming_request::<u64, _>(numbers(300), WINDOW);
                let mut items = Vec::new();
                let mut widest = 0;
                let mut answer = None;
                while let Some(next) = stream.next().await {
                    match next? {
                        Streamed::Item(item) => {
                            items.push(item);
                            // Sent counts what the producer's credits let out; at any moment
                            // it is at most what was read plus the window.
                            let ahead = counted.load(Ordering::SeqCst) - items.len() as u64;
                            assert!(ahead <= u64::from(WINDOW), "{ahead} ahead, {n} proxies");
                            widest = widest.max(ahead);
                            // A slow reader: the producer has time to run ahead.
                            for _ in 0..8 {
                                tokio::task::yield_now().await;
                            }
                        }
                        Streamed::Answer(value) => answer = Some(value),
                    }
                }
                Ok::<_, Error>((items, widest, answer))
            },
        )
        .await;
        assert_eq!(items, (0..300).collect::<Vec<_>>(), "{n} proxies");
        assert_eq!(answer, Some(json!("done")), "{n} proxies");
        assert!(widest > 0, "the producer never got ahead ({n} proxies)");
        assert_eq!(sent.load(Ordering::SeqCst), 300);
    }
}

#[tokio::test]
async fn dropping_the_stream_stops_the_agent() {
    for n in PROXY_COUNTS {
        let sent = Arc::new(AtomicU64::new(0));
        let (ended, agent_ended) = oneshot::channel();
        let code = drive(
            transparent(numbers_agent(Arc::clone(&sent), Some(ended)), n),
            switchboard_acp::Client.builder(),
            async move |cx| {
                cx.send_request(hello()).block_task().await?;
                let mut stream = cx.send_streaming_request::<u64, _>(numbers(1_000_000), WINDOW);
                for expected in 0..5 {
                    match stream.next().await {
                        Some(Ok(Streamed::Item(item))) => assert_eq!(item, expected),
                        other => panic!("expected item {expected}, got {other:?}"),
                    }
                }
                drop(stream);
                agent_ended
                    .await
                    .map_err(|_| Error::internal_error("the agent never noticed"))
            },
        )
        .await;
        assert_eq!(code, codes::REQUEST_CANCELLED, "{n} proxies");
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent <= 5 + u64::from(WINDOW), "{sent} sent, {n} proxies");
    }
}
