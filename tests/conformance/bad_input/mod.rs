//! The bad-input table: malformed and hostile bytes sent over `ByteStreams`, each row with
//! the exact answer it must get (or silence), and after every row proof that the same
//! connection still serves an ordinary request.
//!
//! How a row is checked: the test writes the row's bytes, then a health request (`add`, with
//! an id naming the row). It then reads the row's expected answers, in order, and the very next
//! line must be the health answer. So silence is checked without any timing: had the row
//! produced anything, it would have come before the health answer, since messages are
//! dispatched in arrival order and everything in this table is answered while it is
//! dispatched. When the connection ends, nothing may be left unread.
//!
//! The main table runs on one connection with the default maximum frame size (64 MiB), so the
//! 100 MiB row meets the real limit. Its bytes are streamed in 1 MiB pieces and the server
//! drops an oversized frame as it arrives, holding at most one maximal frame; that bound is
//! checked by `NewlineDecoder`'s own unit tests, since an integration test cannot see the
//! server's allocations. Rows that must end the input (a last frame without a newline) each
//! get a fresh connection, in the second table.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard::handler::Handler;
use switchboard::{
    Builder, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, Responder, UntypedRole,
};

use crate::support::{Peer, assert_too_large, hang_up, serve};

mod table;

use table::*;

/// `add {a, b}` → `{sum}`: the typed method whose params the table gets wrong.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "add", response = Sum)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonRpcResponse)]
struct Sum {
    sum: i64,
}

/// `echo {text}` → `{text}`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Value)]
struct Echo {
    text: String,
}

/// `depth {value}` → how deeply `value` nests; reads any JSON into a `Value`.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "depth", response = Value)]
struct Depth {
    value: Value,
}

/// `hold {tag}`: the slow method. Its answer waits until a `release` notification arrives.
#[derive(Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "hold", response = Value)]
struct Hold {
    tag: String,
}

/// Answers every held request with `{tag}`, the most recent first.
#[derive(Debug, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "release")]
struct Release {}

/// The requests `hold` has not answered yet, with their tags.
type Held = Arc<Mutex<Vec<(String, Responder<Value>)>>>;

fn nesting(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn server(held: Held) -> Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    let release = Arc::clone(&held);
    UntypedRole
        .builder()
        .on_receive_request(async |add: Add, responder, _cx| {
            responder.respond(Sum {
                sum: add.a.wrapping_add(add.b),
            })
        })
        .on_receive_request(async |echo: Echo, responder, _cx| {
            responder.respond(json!({ "text": echo.text }))
        })
        .on_receive_request(async |depth: Depth, responder, _cx| {
            responder.respond(json!(nesting(&depth.value)))
        })
        .on_receive_request(move |hold: Hold, responder, _cx| {
            held.lock().unwrap().push((hold.tag, responder));
            async { Ok(()) }
        })
        .on_receive_notification(move |_: Release, _cx| {
            let waiting = std::mem::take(&mut *release.lock().unwrap());
            async move {
                for (tag, responder) in waiting.into_iter().rev() {
                    responder.respond(json!({ "tag": tag }))?;
                }
                Ok(())
            }
        })
}

/// What a row sends.
enum Input {
    /// These bytes, as they are.
    Bytes(Vec<u8>),
    /// A frame of `len` bytes: `head`, then `fill` bytes up to `len - tail.len()`, then
    /// `tail`, then a newline. Written in 1 MiB pieces, so the test never holds it whole.
    Streamed {
        head: &'static str,
        fill: u8,
        len: usize,
        tail: &'static str,
    },
}

/// The text of an error message.
enum Message {
    Is(String),
    /// Text that comes from serde or serde_json (after Switchboard's own prefix).
    StartsWith(String),
}

/// One expected answer.
enum Answer {
    Result {
        id: Value,
        result: Value,
    },
    Error {
        id: Value,
        code: i32,
        message: Message,
        /// The exact `data` member; `None` means the error must have none.
        data: Option<Value>,
    },
    /// The refusal of an oversized frame, with its sizes in `data`.
    TooLarge {
        frame_bytes: usize,
        max: usize,
    },
}

/// What a row must get back before the health answer.
enum Expect {
    /// Nothing at all.
    Silence,
    /// These frames, one single answer each, in this order.
    Lines(Vec<Answer>),
    /// One frame: an array of exactly these answers, in this order.
    Batch(Vec<Answer>),
}

struct Row {
    name: &'static str,
    input: Input,
    expect: Expect,
}

/// A row whose input is `text` and a newline.
fn row(name: &'static str, text: impl AsRef<[u8]>, expect: Expect) -> Row {
    let mut bytes = text.as_ref().to_vec();
    bytes.push(b'\n');
    Row {
        name,
        input: Input::Bytes(bytes),
        expect,
    }
}

/// A row whose input is exactly `bytes`.
fn raw(name: &'static str, bytes: impl AsRef<[u8]>, expect: Expect) -> Row {
    Row {
        name,
        input: Input::Bytes(bytes.as_ref().to_vec()),
        expect,
    }
}

fn one(answer: Answer) -> Expect {
    Expect::Lines(vec![answer])
}

fn result(id: Value, result: Value) -> Answer {
    Answer::Result { id, result }
}

fn sum(id: Value, sum: i64) -> Expect {
    one(result(id, json!({ "sum": sum })))
}

fn error(id: Value, code: i32, message: impl Into<String>, data: Option<Value>) -> Answer {
    Answer::Error {
        id,
        code,
        message: Message::Is(message.into()),
        data,
    }
}

/// -32700 with id `null`, with serde_json's description after the prefix.
fn parse_error() -> Answer {
    Answer::Error {
        id: Value::Null,
        code: -32700,
        message: Message::StartsWith("Parse error: ".to_owned()),
        data: None,
    }
}

/// -32700 with id `null` for bytes that are not UTF-8.
fn not_utf8() -> Answer {
    Answer::Error {
        id: Value::Null,
        code: -32700,
        message: Message::StartsWith("Parse error: the frame is not valid UTF-8 (".to_owned()),
        data: None,
    }
}

/// -32600 with `id` and exactly Switchboard's reason.
fn invalid(id: Value, why: &str) -> Answer {
    error(id, -32600, format!("Invalid Request: {why}"), None)
}

/// -32600 with `id`, the reason starting with `why` (serde's text follows).
fn invalid_starting(id: Value, why: &str) -> Answer {
    Answer::Error {
        id,
        code: -32600,
        message: Message::StartsWith(format!("Invalid Request: {why}")),
        data: None,
    }
}

/// -32602 naming `field` in the message (before serde's text) and in `data.field`.
fn bad_field(id: Value, field: &str) -> Answer {
    Answer::Error {
        id,
        code: -32602,
        message: Message::StartsWith(format!("Invalid params: {field}: ")),
        data: Some(json!({ "field": field })),
    }
}

fn not_found(id: Value, method: &str) -> Answer {
    error(
        id,
        -32601,
        format!("Method not found: {method}"),
        Some(json!({ "method": method })),
    )
}

impl Answer {
    #[track_caller]
    fn check(&self, answer: &Value, row: &str) {
        let short = || {
            let text = answer.to_string();
            match text.char_indices().nth(300) {
                Some((at, _)) => format!("{}...", &text[..at]),
                None => text,
            }
        };
        assert!(
            answer.is_object(),
            "{row}: not a single answer: {}",
            short()
        );
        match self {
            Answer::Result { id, result } => {
                let expected = json!({"jsonrpc": "2.0", "id": id, "result": result});
                assert!(*answer == expected, "{row}: got {}", short());
            }
            Answer::TooLarge { frame_bytes, max } => assert_too_large(answer, *frame_bytes, *max),
            Answer::Error {
                id,
                code,
                message,
                data,
            } => {
                let mut members: Vec<&str> = answer
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                members.sort_unstable();
                assert_eq!(members, ["error", "id", "jsonrpc"], "{row}: {}", short());
                assert_eq!(answer["jsonrpc"], "2.0", "{row}");
                assert!(answer["id"] == *id, "{row}: wrong id in {}", short());
                let error = &answer["error"];
                assert_eq!(error["code"], *code, "{row}: wrong code in {}", short());
                let text = error["message"].as_str().expect("a message");
                match message {
                    Message::Is(expected) => {
                        assert!(text == expected, "{row}: wrong message in {}", short());
                    }
                    Message::StartsWith(prefix) => assert!(
                        text.starts_with(prefix.as_str()),
                        "{row}: the message should start with {prefix:?}: {}",
                        short()
                    ),
                }
                assert_eq!(error.get("data"), data.as_ref(), "{row}: wrong data");
            }
        }
    }
}

/// Sends a row's input.
async fn send(peer: &mut Peer, input: &Input) {
    match input {
        Input::Bytes(bytes) => peer.send_bytes(bytes).await,
        Input::Streamed {
            head,
            fill,
            len,
            tail,
        } => {
            peer.send_bytes(head.as_bytes()).await;
            let piece = vec![*fill; MIB];
            let mut left = len - head.len() - tail.len();
            while left > 0 {
                let n = left.min(MIB);
                peer.send_bytes(&piece[..n]).await;
                left -= n;
            }
            peer.send_bytes(tail.as_bytes()).await;
            peer.send_bytes(b"\n").await;
        }
    }
}

/// Reads what a row must produce, and fails on anything else.
async fn expect(peer: &mut Peer, row: &Row) {
    match &row.expect {
        Expect::Silence => {}
        Expect::Lines(answers) => {
            for answer in answers {
                answer.check(&peer.recv().await, row.name);
            }
        }
        Expect::Batch(answers) => {
            let frame = peer.recv().await;
            let members = frame
                .as_array()
                .unwrap_or_else(|| panic!("{}: not an array: {frame}", row.name));
            assert_eq!(members.len(), answers.len(), "{}: {frame}", row.name);
            for (member, answer) in members.iter().zip(answers) {
                answer.check(member, row.name);
            }
        }
    }
}

/// The health request after row `index`, and the exact line that answers it.
fn health(index: usize) -> (String, String) {
    let id = format!("after-{index}");
    let n = index as i64;
    (
        crate::support::request(json!(id), "add", json!({"a": n, "b": 1})),
        format!(
            r#"{{"jsonrpc":"2.0","id":"{id}","result":{{"sum":{}}}}}"#,
            n + 1
        ),
    )
}

#[tokio::test]
async fn every_row_gets_its_exact_answer_and_the_connection_lives_on() {
    let table = main_table();
    assert!(table.len() >= 40, "only {} rows", table.len());
    let held = Held::default();
    let (mut peer, server) = serve(server(Arc::clone(&held)));
    for (index, row) in table.iter().enumerate() {
        send(&mut peer, &row.input).await;
        let (request, answer) = health(index);
        peer.send(&request).await;
        expect(&mut peer, row).await;
        let next = peer.recv_line().await;
        assert!(
            next == answer,
            "{}: expected the health answer {answer}, got {}",
            row.name,
            &next[..next.len().min(300)]
        );
    }
    assert!(held.lock().unwrap().is_empty(), "a held request was left");
    let rest = hang_up(peer, server).await;
    assert!(rest.is_empty(), "output after the last row: {rest:?}");
}

/// Rows that end the input. Each runs on a fresh connection with a maximum frame of 4 KiB: a
/// health request first (the connection serves), then the row's bytes, then end of input.
/// The row's answers must follow the health answer, and the connection must end cleanly.
fn end_of_input_table() -> Vec<Row> {
    vec![
        raw(
            "a last request without a newline",
            add_with_id("\"last\""),
            sum(json!("last"), 5),
        ),
        raw(
            "a last request ending in CR without LF",
            format!("{}\r", add_with_id("\"cr\"")),
            sum(json!("cr"), 5),
        ),
        raw(
            "a last batch without a newline",
            format!("[{},{}]", add_with_id("1"), add_with_id("2")),
            Expect::Batch(vec![
                result(json!(1), json!({"sum": 5})),
                result(json!(2), json!({"sum": 5})),
            ]),
        ),
        raw(
            "truncated JSON cut off by the end of input",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","par"#,
            one(parse_error()),
        ),
        raw(
            "invalid UTF-8 cut off by the end of input",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"\xe2\x82",
            one(not_utf8()),
        ),
        raw("a lone CR at the end of input", "\r", Expect::Silence),
        raw("spaces at the end of input", "   \t", Expect::Silence),
        raw(
            "an oversized frame cut off by the end of input",
            "y".repeat(10_000),
            one(Answer::TooLarge {
                frame_bytes: 10_000,
                max: 4096,
            }),
        ),
    ]
}

#[tokio::test]
async fn a_last_frame_cut_off_by_the_end_of_input_is_still_read() {
    for (index, row) in end_of_input_table().iter().enumerate() {
        let (mut peer, server) = serve(server(Held::default()).max_frame_bytes(4096));
        let (request, answer) = health(index);
        peer.send(&request).await;
        send(&mut peer, &row.input).await;
        peer.close_input();
        assert_eq!(peer.recv_line().await, answer, "{}", row.name);
        expect(&mut peer, row).await;
        let rest = hang_up(peer, server).await;
        assert!(rest.is_empty(), "{}: more output: {rest:?}", row.name);
    }
}
