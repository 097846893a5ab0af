//! One raw frame dispatched through a real connection.
//!
//! A server with a few typed handlers (`add`, `echo`, `ask`, the notification `log`) runs over
//! `ByteStreams` on `futures::executor::block_on`; the fuzz input, followed by a newline, is
//! all it reads. The run must end (no hang: libFuzzer's `-timeout` catches one), without a
//! panic, with the connection closing cleanly, and everything written must be well-formed
//! JSON-RPC answers. When the input is one line, what is answered is checked too: a request
//! with a valid id gets exactly one answer with that id, invalid JSON exactly one -32700 with
//! id `null`, a blank line nothing, and so on (see `expected`).

#![no_main]

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::io::{AsyncWrite, Cursor};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use switchboard::{
    ByteStreams, Error, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, UntypedRole,
};

/// Small, so that long inputs reach the "frame too large" answer.
const MAX_FRAME: usize = 256;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "add", response = Sum)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Sum {
    sum: i64,
}

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Value)]
struct Echo {
    text: String,
    #[serde(default)]
    extra: Option<Value>,
}

/// Answered with the peer's answer to `peer/echo`, which never comes: the input ends first,
/// so the pending request must fail and the failure be forwarded as the answer.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ask", response = Value)]
struct Ask {
    text: String,
}

/// The request `ask` sends to the peer.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "peer/echo", response = Value)]
struct PeerEcho {
    text: String,
}

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
struct Log {
    line: String,
}

/// Where the connection writes; read after the run.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Serves `input` to the end and returns what was written.
fn serve(input: Vec<u8>) -> Vec<u8> {
    let output = Output::default();
    let server = UntypedRole
        .builder()
        .max_frame_bytes(MAX_FRAME)
        .on_receive_request(
            async |add: Add, responder, _cx| match add.a.checked_add(add.b) {
                Some(sum) => responder.respond(Sum { sum }),
                None => Err(Error::invalid_params("the sum does not fit an i64")),
            },
        )
        .on_receive_request(async |echo: Echo, responder, _cx| {
            responder.respond(serde_json::json!({ "text": echo.text, "extra": echo.extra }))
        })
        .on_receive_request(async |ask: Ask, responder, cx| {
            cx.send_request(PeerEcho { text: ask.text })
                .forward_response_to(responder);
            Ok(())
        })
        .on_receive_notification(async |log: Log, _cx| {
            drop(log.line);
            Ok(())
        });
    let run = server.connect_to(ByteStreams::new(output.clone(), Cursor::new(input)));
    if let Err(error) = futures::executor::block_on(run) {
        panic!("the connection failed: {error}");
    }
    output.0.lock().expect("not poisoned").clone()
}

/// What one line of input must be answered with.
#[derive(Debug)]
enum Expected {
    Nothing,
    /// One error answer with id `null` and this code.
    NullError(i64),
    /// One answer (result or error) with this id.
    AnswerTo(Value),
    /// Nothing, or one error answer with id `null` (a malformed notification or response).
    NothingOrNullError,
    /// Not predicted here (a batch, JSON too deep for serde_json's `Value`): any well-formed
    /// answers.
    Unknown,
}

/// The top-level members of a JSON object in order, repeats kept.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Each)
    }
}

/// An id JSON-RPC allows and Switchboard reads: an integer in `i64` or `u64`, a string, null.
fn is_valid_id(id: &Value) -> bool {
    match id {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::String(_) | Value::Null => true,
        _ => false,
    }
}

/// The answer JSON-RPC 2.0 prescribes for `line` (without its newline).
fn expected(line: &[u8]) -> Expected {
    let content = line.strip_suffix(b"\r").unwrap_or(line);
    if content.iter().all(u8::is_ascii_whitespace) {
        return Expected::Nothing;
    }
    if content.len() > MAX_FRAME {
        return Expected::NullError(-32600);
    }
    let Ok(text) = std::str::from_utf8(content) else {
        return Expected::NullError(-32700);
    };
    if serde_json::from_str::<&RawValue>(text).is_err() {
        return Expected::NullError(-32700);
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Expected::Unknown;
    };
    match value {
        Value::Array(items) if items.is_empty() => Expected::NullError(-32600),
        Value::Array(_) => Expected::Unknown,
        Value::Object(_) => {
            let Ok(Members(members)) = serde_json::from_str::<Members>(text) else {
                return Expected::Unknown;
            };
            let envelope = ["jsonrpc", "id", "method", "params", "result", "error"];
            let repeated = envelope
                .iter()
                .any(|key| members.iter().filter(|(name, _)| name == key).count() > 1);
            if repeated {
                return Expected::NullError(-32600);
            }
            let member = |key: &str| members.iter().find(|(name, _)| name == key).map(|(_, v)| v);
            match member("id") {
                Some(id) if !is_valid_id(id) => Expected::NullError(-32600),
                Some(id) if member("method").is_some() => Expected::AnswerTo(id.clone()),
                Some(_) if member("result").is_some() || member("error").is_some() => {
                    Expected::NothingOrNullError
                }
                Some(id) => Expected::AnswerTo(id.clone()),
                None if member("method").is_some() => Expected::NothingOrNullError,
                None if member("result").is_some() || member("error").is_some() => {
                    Expected::NothingOrNullError
                }
                None => Expected::NullError(-32600),
            }
        }
        _ => Expected::NullError(-32600),
    }
}

/// One answer: `{"jsonrpc":"2.0","id":..,"result":..}` or `..,"error":{"code":..,"message":..}}`.
fn check_answer(answer: &Value) {
    let object = answer.as_object().expect("an answer is an object");
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")), "{answer}");
    let id = object.get("id").expect("an answer has an id");
    assert!(is_valid_id(id), "{answer}");
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            assert!(error["code"].is_i64(), "{answer}");
            assert!(error["message"].is_string(), "{answer}");
        }
        _ => panic!("an answer needs a result or an error: {answer}"),
    }
    assert!(
        object
            .keys()
            .all(|key| ["jsonrpc", "id", "result", "error"].contains(&key.as_str())),
        "{answer}"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut input = data.to_vec();
    input.push(b'\n');
    let written = serve(input);

    // Everything written is whole lines of well-formed answers (or batches of them).
    let text = std::str::from_utf8(&written).expect("the connection writes UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "an unfinished line: {text:?}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("the connection writes JSON"))
        .collect();
    // The server's own requests (`ask` sends one) are requests, not answers.
    let (requests, answers): (Vec<Value>, Vec<Value>) = lines
        .into_iter()
        .partition(|line| line.get("method").is_some());
    for request in &requests {
        assert_eq!(request["method"], "peer/echo", "{request}");
        assert!(request["id"].is_u64(), "{request}");
    }
    for answer in &answers {
        match answer {
            Value::Array(batch) => {
                assert!(!batch.is_empty(), "an empty batch answer");
                batch.iter().for_each(check_answer);
            }
            single => check_answer(single),
        }
    }

    if data.contains(&b'\n') {
        return;
    }
    let single_error = |code: i64| matches!(&answers[..], [answer] if answer["id"].is_null() && answer["error"]["code"] == code);
    match expected(data) {
        Expected::Nothing => assert!(answers.is_empty(), "{answers:?}"),
        Expected::NullError(code) => assert!(single_error(code), "expected {code}: {answers:?}"),
        Expected::AnswerTo(id) => {
            assert!(
                matches!(&answers[..], [answer] if answer["id"] == id),
                "expected one answer to {id}: {answers:?}"
            );
        }
        Expected::NothingOrNullError => {
            assert!(
                answers.is_empty()
                    || matches!(&answers[..], [answer] if answer["id"].is_null() && answer.get("error").is_some()),
                "{answers:?}"
            );
        }
        Expected::Unknown => {}
    }
});
