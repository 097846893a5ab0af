//! Two small ACP proxies, behind `cargo run --example acp_prefix_proxy` and
//! `acp_logging_proxy`, as pieces the tests can run in process.
//!
//! - [`prefix_proxy`] changes one kind of message: it puts a line of its own first in every
//!   prompt. It is the shape to copy for a proxy of your own: a handler for what you change,
//!   the [`Proxy`] role's default for everything else.
//! - [`logged`] changes nothing: wrapped around the component a proxy with no handlers
//!   connects to, it reports every message that crosses, as one line from [`describe`].
//!
//! A proxy runs under a conductor, which starts the chain and shows the client one agent
//! (see `switchboard_acp::proxy` for how the two sides of a proxy travel on its one
//! connection).

use serde::Deserialize;
use serde_json::value::RawValue;
use switchboard::transport::{FrameDirection, Inspect};
use switchboard::{Builder, Handler};
use switchboard_acp::proxy::SUCCESSOR_METHOD;
use switchboard_acp::schema::{ContentBlock, PromptRequest};
use switchboard_acp::{Agent, Client, Conductor, Proxy};

/// A proxy that puts `prefix` first in every prompt, as a text block of its own, and passes
/// the prompt on to the agent side. The agent's answer travels back unchanged, and a client
/// that cancels its prompt (`$/cancel_request`) cancels the one passed on. Everything else
/// is passed on by the [`Proxy`] role's default.
///
/// Give it a component with `.connect_to(..)`: `Stdio::new()` under a conductor, or one end
/// of `Channel::duplex()` in a test.
pub fn prefix_proxy(
    prefix: impl Into<String>,
) -> Builder<Proxy, impl Handler<Conductor> + 'static> {
    let prefix = prefix.into();
    Proxy
        .builder()
        .name("acp_prefix_proxy")
        .on_receive_request_from(Client, move |mut prompt: PromptRequest, responder, cx| {
            prompt.prompt.insert(0, ContentBlock::from(prefix.clone()));
            cx.send_request_to(Agent, prompt)
                .forward_response_to(responder);
            std::future::ready(Ok(()))
        })
}

/// `component`, with every frame that crosses it described by [`describe`] and given to
/// `log`, one line per frame.
///
/// Around the component a proxy connects to, it logs the proxy's traffic; with no handlers
/// the proxy forwards everything, so this is a transparent, logging proxy:
///
/// ```no_run
/// use switchboard::Stdio;
/// use switchboard_acp::Proxy;
/// use switchboard_examples::acp_proxies::logged;
///
/// # async fn serve() -> Result<(), switchboard::Error> {
/// Proxy
///     .builder()
///     .connect_to(logged(Stdio::new(), |line| eprintln!("{line}")))
///     .await
/// # }
/// ```
///
/// `log` runs on the connection's path, as each frame is read or handed to the transport:
/// keep it quick.
pub fn logged<C>(
    component: C,
    log: impl Fn(&str) + Send + Sync + 'static,
) -> Inspect<C, impl Fn(FrameDirection, &[u8]) + Send + Sync + 'static> {
    Inspect::new(component, move |direction: FrameDirection, frame: &[u8]| {
        log(&describe(direction, frame));
    })
}

/// One line about one frame of a proxy's connection to its conductor.
///
/// The arrow is the direction as the proxy sees it (`←` read, `→` written); then which side
/// the message belongs to, its method, and its id if it is a request:
///
/// | frame | line |
/// |---|---|
/// | `session/prompt` request, id 3, read | `← client: session/prompt #3` |
/// | `proxy/successor` carrying `session/update`, read | `← agent: session/update` |
/// | `proxy/successor` carrying a request, id 7, written | `→ agent: session/prompt #7` |
/// | an answer to id 7, read | `← answer #7` |
/// | an error answer to id 3, written | `→ error #3: -32800 "Request cancelled"` |
///
/// `agent:` means the message travels inside a `proxy/successor` envelope (to or from the
/// proxy's successor); `client:` that it travels as it is. An answer names no side: only
/// its id ties it to its request. A batch is described element by element, and a frame
/// that is not JSON-RPC as `unreadable` with its size. Peer-supplied text is escaped, so the
/// result is always one line.
///
/// It reads only the envelope (`method`, `id`, `error`, and for `proxy/successor` the carried
/// `method`); params and results are skipped, not parsed.
///
/// ```
/// use switchboard::transport::FrameDirection;
/// use switchboard_examples::acp_proxies::describe;
///
/// let frame = br#"{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{}}"#;
/// assert_eq!(describe(FrameDirection::Received, frame), "← client: session/prompt #3");
/// ```
pub fn describe(direction: FrameDirection, frame: &[u8]) -> String {
    let arrow = match direction {
        FrameDirection::Received => '←',
        FrameDirection::Sent => '→',
    };
    let text = match serde_json::from_slice::<Vec<&RawValue>>(frame) {
        Ok(batch) => {
            let parts: Vec<String> = batch
                .iter()
                .map(|element| summary(element.get().as_bytes()))
                .collect();
            format!("batch [{}]", parts.join(", "))
        }
        Err(_) => summary(frame),
    };
    format!("{arrow} {text}")
}

/// What [`describe`] reads of a message: the envelope, with params kept raw and unparsed.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorPart>,
}

/// The parts of an error answer a log line shows.
#[derive(Deserialize)]
struct ErrorPart {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// The method inside a `proxy/successor` envelope.
#[derive(Deserialize)]
struct Carried {
    #[serde(default)]
    method: Option<String>,
}

/// One message, without the arrow.
fn summary(frame: &[u8]) -> String {
    let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(frame) else {
        return format!("unreadable ({} bytes)", frame.len());
    };
    let id = match &envelope.id {
        Some(id) => format!(" #{id}"),
        None => String::new(),
    };
    let Some(method) = &envelope.method else {
        return match envelope.error {
            None => format!("answer{id}"),
            Some(error) => {
                let code = error.code.map_or_else(|| "?".to_owned(), |c| c.to_string());
                let message = error.message.unwrap_or_default();
                format!("error{id}: {code} {message:?}")
            }
        };
    };
    if method != SUCCESSOR_METHOD {
        return format!("client: {}{id}", method.escape_debug());
    }
    let carried = envelope
        .params
        .and_then(|params| serde_json::from_str::<Carried>(params.get()).ok())
        .and_then(|carried| carried.method);
    match carried {
        Some(inner) => format!("agent: {}{id}", inner.escape_debug()),
        None => format!("agent: {SUCCESSOR_METHOD} without a method{id}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use serde_json::json;
    use switchboard::{Channel, Error, UntypedMessage};
    use switchboard_acp::proxy::wrap_successor;

    use super::*;

    /// The conductor, played by hand: it answers what the proxy sends its successor with
    /// the envelope it saw, in the answer's `_meta`.
    fn conductor() -> Builder<Conductor, impl Handler<Proxy> + 'static> {
        Conductor
            .builder()
            .on_receive_request(async |wrapped: UntypedMessage, responder, _cx| {
                let seen = wrapped.params_value()?;
                responder.respond(json!({"stopReason": "end_turn", "_meta": {"seen": seen}}))
            })
    }

    /// A prompt from the client side, as the conductor sends it to a proxy.
    fn prompt(text: &str) -> Result<UntypedMessage, Error> {
        let prompt = PromptRequest::new("s-1", vec![ContentBlock::from(text)]);
        UntypedMessage::new("session/prompt", prompt)
    }

    #[test]
    fn the_prefix_proxy_puts_its_line_first_and_forwards_the_answer() {
        let (conductor_end, proxy_end) = Channel::duplex();
        let answer = conductor().connect_with(conductor_end, async |cx| {
            cx.send_request(prompt("hello")?).block_task().await
        });
        let proxy = prefix_proxy("(via a test)").connect_to(proxy_end);
        let (answer, served) = futures::executor::block_on(async { futures::join!(answer, proxy) });
        assert!(served.is_ok(), "{served:?}");
        let answer = answer.expect("the prompt was answered");
        assert_eq!(answer["stopReason"], "end_turn");
        let seen = &answer["_meta"]["seen"];
        assert_eq!(seen["method"], "session/prompt");
        let blocks = &seen["params"]["prompt"];
        assert_eq!(blocks[0]["text"], "(via a test)");
        assert_eq!(blocks[1]["text"], "hello");
        assert_eq!(blocks.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_logged_transparent_proxy_reports_each_message_once() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let log = move |line: &str| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line.to_owned());
        };
        let (conductor_end, proxy_end) = Channel::duplex();
        let answer = conductor().connect_with(conductor_end, async |cx| {
            let update = UntypedMessage::new("session/update", json!({"sessionId": "s-1"}))?;
            cx.send_notification(wrap_successor(update)?)?;
            cx.send_request(prompt("hello")?).block_task().await
        });
        let proxy = Proxy.builder().connect_to(logged(proxy_end, log));
        let (answer, served) = futures::executor::block_on(async { futures::join!(answer, proxy) });
        assert!(served.is_ok(), "{served:?}");
        // Passed through untouched: no prefix.
        let seen = &answer.expect("the prompt was answered")["_meta"]["seen"];
        assert_eq!(seen["params"]["prompt"][0]["text"], "hello");
        let lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
        let read: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with('←'))
            .map(String::as_str)
            .collect();
        let wrote: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with('→'))
            .map(String::as_str)
            .collect();
        assert_eq!(read.len(), 3, "{lines:?}");
        assert_eq!(read[0], "← agent: session/update");
        assert!(
            read[1].starts_with("← client: session/prompt #"),
            "{lines:?}"
        );
        assert!(read[2].starts_with("← answer #"), "{lines:?}");
        assert_eq!(wrote.len(), 3, "{lines:?}");
        assert_eq!(wrote[0], "→ client: session/update");
        assert!(
            wrote[1].starts_with("→ agent: session/prompt #"),
            "{lines:?}"
        );
        assert!(wrote[2].starts_with("→ answer #"), "{lines:?}");
    }

    fn read(frame: &str) -> String {
        describe(FrameDirection::Received, frame.as_bytes())
    }

    fn wrote(frame: &str) -> String {
        describe(FrameDirection::Sent, frame.as_bytes())
    }

    #[test]
    fn a_request_from_the_client_side() {
        let frame = r#"{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"s","prompt":[]}}"#;
        assert_eq!(read(frame), "← client: session/prompt #3");
    }

    #[test]
    fn a_wrapped_request_to_and_from_the_agent_side() {
        let frame = r#"{"jsonrpc":"2.0","id":7,"method":"proxy/successor","params":{"method":"session/prompt","params":{"prompt":[]}}}"#;
        assert_eq!(wrote(frame), "→ agent: session/prompt #7");
        let frame = r#"{"jsonrpc":"2.0","id":"r-1","method":"proxy/successor","params":{"method":"fs/read_text_file"}}"#;
        assert_eq!(read(frame), r#"← agent: fs/read_text_file #"r-1""#);
    }

    #[test]
    fn notifications_have_no_id() {
        let frame = r#"{"jsonrpc":"2.0","method":"proxy/successor","params":{"method":"session/update","params":{}}}"#;
        assert_eq!(read(frame), "← agent: session/update");
        let frame = r#"{"jsonrpc":"2.0","method":"session/update","params":{}}"#;
        assert_eq!(wrote(frame), "→ client: session/update");
    }

    #[test]
    fn answers_and_error_answers() {
        let frame = r#"{"jsonrpc":"2.0","id":7,"result":{"stopReason":"end_turn"}}"#;
        assert_eq!(read(frame), "← answer #7");
        let frame =
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32800,"message":"Request cancelled"}}"#;
        assert_eq!(wrote(frame), r#"→ error #3: -32800 "Request cancelled""#);
        let frame = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad\nJSON"}}"#;
        assert_eq!(wrote(frame), r#"→ error: -32700 "bad\nJSON""#);
    }

    #[test]
    fn a_batch_is_described_element_by_element() {
        let frame =
            r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"result":null}]"#;
        assert_eq!(read(frame), "← batch [client: a #1, answer #2]");
    }

    #[test]
    fn odd_frames_do_not_panic_and_stay_on_one_line() {
        assert_eq!(read("not json"), "← unreadable (8 bytes)");
        assert_eq!(
            describe(FrameDirection::Received, &[0xff, 0xfe, b'{']),
            "← unreadable (3 bytes)"
        );
        assert_eq!(read("42"), "← unreadable (2 bytes)");
        assert_eq!(read(r#"{"method":7}"#), "← unreadable (12 bytes)");
        let frame = r#"{"method":"proxy/successor","params":[1,2]}"#;
        assert_eq!(read(frame), "← agent: proxy/successor without a method");
        let frame = r#"{"method":"two\nlines","id":1}"#;
        assert_eq!(read(frame), r"← client: two\nlines #1");
        assert!(!read("[1, {}]").contains('\n'));
    }
}
