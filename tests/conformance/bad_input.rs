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
//! checked by `FrameDecoder`'s own unit tests, since an integration test cannot see the
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

const NOT_AN_OBJECT: &str = "a message must be a JSON object";
const NO_METHOD: &str =
    "a message needs a method (request, notification) or a result or error (response)";
const BAD_ID: &str = "the id must be an integer, a string or null";
const BAD_PARAMS: &str = "params must be an object or an array";
const BAD_VERSION: &str = "the jsonrpc member must be \"2.0\"";
const NOT_A_STRING: &str = "the method must be a string";
const CARRIES_AN_ANSWER: &str = "a request cannot carry a result or an error";

/// A request frame with `id` and `method` written as raw JSON text, and `params` as given.
fn call(id: &str, method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{params}}}"#)
}

/// A request to `add` with the id written as raw JSON text.
fn add_with_id(id: &str) -> String {
    call(id, r#""add""#, r#"{"a":2,"b":3}"#)
}

/// A request to `add` with the params written as raw JSON text.
fn add_with_params(id: u64, params: &str) -> String {
    call(&id.to_string(), r#""add""#, params)
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

const MIB: usize = 1024 * 1024;

/// The rows that share one connection, in the order they are sent.
fn main_table() -> Vec<Row> {
    let long_method = "m".repeat(MIB);
    let long_id = format!("\"{}\"", "i".repeat(64 * 1024));
    let deep = nested_arrays(10_000);
    let too_deep = format!("value{}", "[0]".repeat(126));
    vec![
        // Framing and encoding.
        row(
            "truncated object",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1"#,
            one(parse_error()),
        ),
        row(
            "truncated string",
            r#"{"jsonrpc":"2.0","id":1,"method":"ad"#,
            one(parse_error()),
        ),
        row(
            // One parse error for the frame, not an array of them.
            "truncated batch",
            r#"[{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}},"#,
            one(parse_error()),
        ),
        row("a lone closing brace", "}", one(parse_error())),
        row(
            "two messages on one line",
            format!("{}{}", add_with_id("1"), add_with_id("2")),
            one(parse_error()),
        ),
        row(
            "invalid UTF-8 inside a string",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"\xff\"}}",
            one(not_utf8()),
        ),
        row("an overlong UTF-8 encoding", b"\xc0\xaf", one(not_utf8())),
        row(
            "a UTF-8-encoded surrogate",
            b"\xed\xa0\x80",
            one(not_utf8()),
        ),
        row(
            "a multi-byte character cut short",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"\xe2\x82\"}",
            one(not_utf8()),
        ),
        raw(
            // Only `\n` ends a frame: this `\r` becomes leading whitespace of the health
            // request that follows it, which is read normally.
            "a lone CR is not a line break",
            "\r",
            Expect::Silence,
        ),
        raw(
            "a CR between two messages joins them into one frame",
            format!("{}\r{}\n", add_with_id("1"), add_with_id("2")),
            one(parse_error()),
        ),
        raw("a line of only CR", "\r\r\n", Expect::Silence),
        row("a line of NUL bytes", b"\0\0\0", one(parse_error())),
        row(
            "a raw NUL inside a string",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"a\0b\"}}",
            one(parse_error()),
        ),
        row(
            "an escaped NUL is ordinary text",
            r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a\u0000b"}}"#,
            one(result(json!(1), json!({"text": "a\u{0}b"}))),
        ),
        row(
            // A byte order mark is not JSON whitespace; RFC 8259 lets a parser refuse it.
            "a byte order mark before a request",
            format!("\u{feff}{}", add_with_id("1")),
            one(parse_error()),
        ),
        raw("a line of spaces and tabs", " \t  \t \n", Expect::Silence),
        raw("several empty lines", "\n\n\r\n\n", Expect::Silence),
        raw(
            "a mebibyte of spaces",
            format!("{}\n", " ".repeat(MIB)),
            Expect::Silence,
        ),
        // Valid JSON that is not a message.
        row("a number", "42", one(invalid(Value::Null, NOT_AN_OBJECT))),
        row(
            "a string",
            r#""add""#,
            one(invalid(Value::Null, NOT_AN_OBJECT)),
        ),
        row("null", "null", one(invalid(Value::Null, NOT_AN_OBJECT))),
        row("true", "true", one(invalid(Value::Null, NOT_AN_OBJECT))),
        row(
            "an empty object",
            "{}",
            one(invalid(Value::Null, NO_METHOD)),
        ),
        // The version.
        row(
            "jsonrpc missing",
            r#"{"id":1,"method":"add","params":{"a":1,"b":2}}"#,
            one(invalid(
                json!(1),
                "the jsonrpc member is missing (it must be \"2.0\")",
            )),
        ),
        row(
            "jsonrpc \"1.0\"",
            r#"{"jsonrpc":"1.0","id":2,"method":"add","params":{"a":1,"b":2}}"#,
            one(invalid(json!(2), BAD_VERSION)),
        ),
        row(
            "jsonrpc 2.0 as a number",
            r#"{"jsonrpc":2.0,"id":3,"method":"add","params":{"a":1,"b":2}}"#,
            one(invalid(json!(3), BAD_VERSION)),
        ),
        row(
            // Malformed, so nothing says it was meant as a notification: answered, id null.
            "a notification with jsonrpc \"1.0\"",
            r#"{"jsonrpc":"1.0","method":"add","params":{"a":1,"b":2}}"#,
            one(invalid(Value::Null, BAD_VERSION)),
        ),
        // The method.
        row(
            "method missing",
            r#"{"jsonrpc":"2.0","id":4,"params":{"a":1,"b":2}}"#,
            one(invalid(json!(4), NO_METHOD)),
        ),
        row(
            "method a number",
            call("5", "5", "{}"),
            one(invalid(json!(5), NOT_A_STRING)),
        ),
        row(
            "method null",
            call("6", "null", "{}"),
            one(invalid(json!(6), NOT_A_STRING)),
        ),
        row(
            "method an array",
            call("7", r#"["add"]"#, "{}"),
            one(invalid(json!(7), NOT_A_STRING)),
        ),
        row(
            // Well-formed JSON, but no string can hold half a surrogate pair.
            "method a lone surrogate escape",
            call("8", r#""\ud800""#, "{}"),
            one(invalid(json!(8), NOT_A_STRING)),
        ),
        row(
            "a method name of one mebibyte",
            call("9", &format!("\"{long_method}\""), "{}"),
            one(not_found(json!(9), &long_method)),
        ),
        row(
            // The answer names the method with the line break escaped: still one frame.
            "a method name with an escaped line break",
            call("10", r#""a\nb""#, "{}"),
            one(not_found(json!(10), "a\nb")),
        ),
        row(
            "an empty method name",
            call("11", r#""""#, "{}"),
            one(not_found(json!(11), "")),
        ),
        // Ids.
        row(
            "id a fraction",
            add_with_id("1.5"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id with an exponent",
            add_with_id("1e3"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id an object",
            add_with_id(r#"{"n":1}"#),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id an array",
            add_with_id("[1]"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id a boolean",
            add_with_id("true"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id one above u64::MAX",
            add_with_id("18446744073709551616"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id one below i64::MIN",
            add_with_id("-9223372036854775809"),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id a number far beyond u64",
            add_with_id(&"9".repeat(400)),
            one(invalid(Value::Null, BAD_ID)),
        ),
        row(
            "id with a leading zero (not JSON)",
            add_with_id("01"),
            one(parse_error()),
        ),
        row("id negative", add_with_id("-5"), sum(json!(-5), 5)),
        row(
            "id u64::MAX",
            add_with_id("18446744073709551615"),
            sum(json!(u64::MAX), 5),
        ),
        row(
            // JSON's grammar makes `-0` an integer; numerically it is the id 0.
            "id minus zero",
            add_with_id("-0"),
            sum(json!(0), 5),
        ),
        row("id a string", add_with_id(r#""abc""#), sum(json!("abc"), 5)),
        row("id null", add_with_id("null"), sum(Value::Null, 5)),
        row(
            "id a string of 64 KiB",
            add_with_id(&long_id),
            sum(serde_json::from_str(&long_id).unwrap(), 5),
        ),
        // Params of the wrong shape for JSON-RPC.
        row(
            "params a string",
            add_with_params(1, r#""a=1&b=2""#),
            one(invalid(json!(1), BAD_PARAMS)),
        ),
        row(
            "params a number",
            add_with_params(2, "12"),
            one(invalid(json!(2), BAD_PARAMS)),
        ),
        row(
            "params true",
            add_with_params(3, "true"),
            one(invalid(json!(3), BAD_PARAMS)),
        ),
        // Params that are valid JSON-RPC but do not fit `add`.
        row(
            // `"params": null` reads as no params, which `add` needs.
            "params null",
            add_with_params(4, "null"),
            one(error(
                json!(4),
                -32602,
                "Invalid params: missing field `a`",
                Some(json!({"field": "a"})),
            )),
        ),
        row(
            "params with a field missing",
            add_with_params(5, r#"{"a":1}"#),
            one(error(
                json!(5),
                -32602,
                "Invalid params: missing field `b`",
                Some(json!({"field": "b"})),
            )),
        ),
        row(
            "params with a string for an integer",
            add_with_params(6, r#"{"a":1,"b":"two"}"#),
            one(bad_field(json!(6), "b")),
        ),
        row(
            "params with a fraction for an integer",
            add_with_params(7, r#"{"a":1.5,"b":2}"#),
            one(bad_field(json!(7), "a")),
        ),
        row(
            "params with an integer beyond i64",
            add_with_params(8, r#"{"a":1,"b":9223372036854775808}"#),
            one(bad_field(json!(8), "b")),
        ),
        row(
            "params with an extra field (ignored)",
            add_with_params(9, r#"{"a":1,"b":2,"c":3}"#),
            sum(json!(9), 3),
        ),
        row(
            // By position, params fill the fields in the order they are declared.
            "params by position",
            add_with_params(10, "[1,2]"),
            sum(json!(10), 3),
        ),
        row(
            // Known gap: the book says `data.field` names the field, but serde reports a
            // short array against the whole struct, so there is no `data` at all (`b` is the
            // field that is missing). Kept as it is, to be settled outside the wire module.
            "params by position, one short",
            add_with_params(11, "[1]"),
            one(Answer::Error {
                id: json!(11),
                code: -32602,
                message: Message::StartsWith("Invalid params: invalid length 1".to_owned()),
                data: None,
            }),
        ),
        row(
            "params with a repeated field",
            add_with_params(12, r#"{"a":1,"a":2,"b":3}"#),
            one(Answer::Error {
                id: json!(12),
                code: -32602,
                message: Message::StartsWith("Invalid params: duplicate field `a`".to_owned()),
                data: Some(json!({ "field": "a" })),
            }),
        ),
        // Members that contradict each other, and responses nobody asked for.
        row(
            "a request that also carries a result",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2},"result":3}"#,
            one(invalid(json!(1), CARRIES_AN_ANSWER)),
        ),
        row(
            "a request that also carries an error of null",
            r#"{"jsonrpc":"2.0","id":2,"method":"add","params":{"a":1,"b":2},"error":null}"#,
            one(invalid(json!(2), CARRIES_AN_ANSWER)),
        ),
        row(
            // A response, malformed; it answers nothing this side sent, so it is dropped.
            "a response with both result and error",
            r#"{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"x"}}"#,
            Expect::Silence,
        ),
        row(
            "a result for an id never sent",
            r#"{"jsonrpc":"2.0","id":99,"result":"stray"}"#,
            Expect::Silence,
        ),
        row(
            "an error for an id never sent",
            r#"{"jsonrpc":"2.0","id":"nope","error":{"code":-1,"message":"stray"}}"#,
            Expect::Silence,
        ),
        row(
            "an error with id null",
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
            Expect::Silence,
        ),
        row(
            "a result without an id",
            r#"{"jsonrpc":"2.0","result":1}"#,
            Expect::Silence,
        ),
        // Members: unknown, escaped, repeated.
        row(
            "unknown members are ignored",
            r#"{"jsonrpc":"2.0","x":[1,{"y":null}],"id":1,"method":"add","params":{"a":1,"b":2},"z":"?"}"#,
            sum(json!(1), 3),
        ),
        row(
            "an unknown member 10 000 arrays deep is ignored",
            format!(
                r#"{{"jsonrpc":"2.0","id":2,"method":"add","params":{{"a":1,"b":2}},"x":{deep}}}"#
            ),
            sum(json!(2), 3),
        ),
        row(
            "an unknown member twice is ignored",
            r#"{"jsonrpc":"2.0","id":3,"x":1,"method":"add","x":2,"params":{"a":1,"b":2}}"#,
            sum(json!(3), 3),
        ),
        row(
            // Keys are compared after their escapes are decoded, as JSON requires.
            "escaped keys",
            r#"{"\u006asonrpc":"2.0","i\u0064":4,"me\u0074hod":"add","par\u0061ms":{"a":1,"b":2}}"#,
            sum(json!(4), 3),
        ),
        row(
            "an escaped version and method",
            r#"{"jsonrpc":"2\u002e0","id":5,"method":"\u0061dd","params":{"a":1,"b":2}}"#,
            sum(json!(5), 3),
        ),
        row(
            "id twice",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2},"id":2}"#,
            one(invalid_starting(Value::Null, "duplicate field `id`")),
        ),
        row(
            "method twice",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","method":"echo","params":{"a":1,"b":2}}"#,
            one(invalid_starting(Value::Null, "duplicate field `method`")),
        ),
        row(
            "jsonrpc twice",
            r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}}"#,
            one(invalid_starting(Value::Null, "duplicate field `jsonrpc`")),
        ),
        row(
            "params twice",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2},"params":{}}"#,
            one(invalid_starting(Value::Null, "duplicate field `params`")),
        ),
        row(
            "id twice, once escaped",
            r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2},"i\u0064":2}"#,
            one(invalid_starting(Value::Null, "duplicate field `id`")),
        ),
        // Notifications are never answered, whatever their handler makes of them.
        row(
            "a notification to a request method",
            r#"{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2}}"#,
            Expect::Silence,
        ),
        row(
            "a notification whose params do not fit",
            r#"{"jsonrpc":"2.0","method":"release","params":[1,2,3]}"#,
            Expect::Silence,
        ),
        row(
            "a notification nobody handles",
            r#"{"jsonrpc":"2.0","method":"no/such/thing"}"#,
            Expect::Silence,
        ),
        // Deep nesting: nothing may recurse 10 000 levels.
        row(
            // A batch whose one member is an array, not a message.
            "10 000 nested arrays",
            &deep,
            Expect::Batch(vec![invalid(Value::Null, NOT_AN_OBJECT)]),
        ),
        row(
            "10 000 nested objects",
            format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)),
            one(invalid(Value::Null, NO_METHOD)),
        ),
        row(
            "params 10 000 arrays deep, read into a struct",
            add_with_params(1, &deep),
            one(bad_field(json!(1), "[0]")),
        ),
        row(
            "params 10 000 arrays deep, read into any JSON value",
            call("2", r#""depth""#, &format!(r#"{{"value":{deep}}}"#)),
            // serde_json stops at 128 levels: the params object, `value`, and 126 more arrays.
            one(error(
                json!(2),
                -32602,
                format!("Invalid params: {too_deep}: recursion limit exceeded"),
                Some(json!({ "field": too_deep })),
            )),
        ),
        // Size: 100 MiB against the default maximum of 64 MiB.
        Row {
            name: "a frame of 100 MiB",
            input: Input::Streamed {
                head: r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":""#,
                fill: b'x',
                len: 100 * MIB,
                tail: r#""}}"#,
            },
            expect: one(Answer::TooLarge {
                frame_bytes: 100 * MIB,
                max: switchboard::wire::DEFAULT_MAX_FRAME_BYTES,
            }),
        },
        // Batches.
        row(
            "an empty batch",
            "[]",
            one(invalid(Value::Null, "empty batch")),
        ),
        row(
            "an empty batch with spaces",
            " [ \t ] ",
            one(invalid(Value::Null, "empty batch")),
        ),
        row(
            "a batch of numbers",
            "[1,2,3]",
            Expect::Batch(vec![
                invalid(Value::Null, NOT_AN_OBJECT),
                invalid(Value::Null, NOT_AN_OBJECT),
                invalid(Value::Null, NOT_AN_OBJECT),
            ]),
        ),
        row(
            "a batch inside a batch",
            format!("[[{}]]", add_with_id("1")),
            Expect::Batch(vec![invalid(Value::Null, NOT_AN_OBJECT)]),
        ),
        row(
            "a mixed batch",
            format!(
                "[{},{},{},{},{},{},{}]",
                add_with_id("1"),
                r#"{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2}}"#,
                "42",
                add_with_params(2, r#"{"a":"x","b":1}"#),
                r#"{"jsonrpc":"2.0","id":99,"result":"stray"}"#,
                r#"{"foo":"bar"}"#,
                call("3", r#""nope""#, "[]"),
            ),
            Expect::Batch(vec![
                result(json!(1), json!({"sum": 5})),
                invalid(Value::Null, NOT_AN_OBJECT),
                bad_field(json!(2), "a"),
                invalid(Value::Null, NO_METHOD),
                not_found(json!(3), "nope"),
            ]),
        ),
        row(
            "a batch of notifications only",
            r#"[{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2}},{"jsonrpc":"2.0","method":"nope"}]"#,
            Expect::Silence,
        ),
        row(
            "a batch of stray responses only",
            r#"[{"jsonrpc":"2.0","id":98,"result":1},{"jsonrpc":"2.0","id":99,"error":{"code":1,"message":"x"}}]"#,
            Expect::Silence,
        ),
        row(
            "a batch with the same id twice",
            format!(
                "[{},{}]",
                add_with_id("7"),
                add_with_params(7, r#"{"a":1,"b":1}"#)
            ),
            Expect::Batch(vec![
                result(json!(7), json!({"sum": 5})),
                result(json!(7), json!({"sum": 2})),
            ]),
        ),
        // Two requests with one id, both still unanswered when the second arrives: each is
        // answered once, with its own result (the held requests are released newest first).
        raw(
            "the same id twice in flight",
            [
                call("7", r#""hold""#, r#"{"tag":"first"}"#),
                call("7", r#""hold""#, r#"{"tag":"second"}"#),
                r#"{"jsonrpc":"2.0","method":"release"}"#.to_owned(),
                String::new(),
            ]
            .join("\n"),
            Expect::Lines(vec![
                result(json!(7), json!({"tag": "second"})),
                result(json!(7), json!({"tag": "first"})),
            ]),
        ),
    ]
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
