//! The envelope reader: nothing panics, every message reads back as written, and the short
//! path agrees with the full reader.
//!
//! Messages are generated as values (`Message`) and turned into frames two ways: by the
//! encoder the connection uses (`encode.rs`), and by `spell`, which writes the same message in
//! any form JSON allows: members in any order, whitespace between tokens, every character of
//! every string possibly escaped (`\u0041`, `\/`, surrogate pairs), `"params": null`. Broken
//! frames come from mutating those, from near-envelopes (`{` plus members drawn from the
//! envelope's keys and odd values), from token soup and from plain random bytes.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

use super::config;
use crate::wire::envelope::{Incoming, Parsed, parse_frame, parse_value_in_full};
use crate::wire::{encode, fast_envelope};
use crate::{Error, RawJson, RequestId, UntypedMessage};

/// A message to write and read back.
#[derive(Debug, Clone)]
enum Message {
    Request {
        id: RequestId,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    Success {
        id: RequestId,
        result: Value,
    },
    Failure {
        id: RequestId,
        code: i32,
        message: String,
        data: Option<Value>,
    },
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Characters for strings: printable ASCII mostly, the ones JSON must or may escape, and
/// anything in Unicode (astral planes included).
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        3 => select(&[
            '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}',
            '\u{80}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}', 'é', '€', '😀',
            '\u{10ffff}',
        ][..]),
        2 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    vec(text_char(), 0..10).prop_map(String::from_iter)
}

/// Any JSON value, up to four levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // `from_f64` refuses NaN and the infinities, which JSON cannot write.
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
            Number::from_f64(f).map(Value::Number)
        }),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(text(), inner, 0..5).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Params: absent, or an object or an array (all that JSON-RPC allows).
fn params() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        2 => btree_map(text(), json(), 0..5)
            .prop_map(|map| Some(Value::Object(map.into_iter().collect()))),
        2 => vec(json(), 0..5).prop_map(|items| Some(Value::Array(items))),
    ]
}

/// Ids of every kind: small and any integers (so above `i64::MAX` too), negative ones,
/// strings, `null`.
fn id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        2 => (0u64..1000).prop_map(RequestId::from),
        1 => any::<u64>().prop_map(RequestId::from),
        1 => any::<i64>().prop_map(RequestId::Int),
        2 => text().prop_map(RequestId::Str),
        1 => Just(RequestId::Null),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        3 => (id(), text(), params())
            .prop_map(|(id, method, params)| Message::Request { id, method, params }),
        2 => (text(), params()).prop_map(|(method, params)| Message::Notification { method, params }),
        2 => (id(), json()).prop_map(|(id, result)| Message::Success { id, result }),
        1 => (id(), any::<i32>(), text(), proptest::option::of(json())).prop_map(
            |(id, code, message, data)| Message::Failure { id, code, message, data }
        ),
    ]
}

/// One change to a frame: a byte removed, or one put in or over it.
#[derive(Debug, Clone)]
enum Edit {
    Remove(Index),
    Insert(Index, u8),
    Replace(Index, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        4 => select(&b"\"\\{}[]:, 019-.enlu\t\r\n"[..]),
        1 => any::<u8>(),
    ];
    prop_oneof![
        any::<Index>().prop_map(Edit::Remove),
        (any::<Index>(), byte.clone()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        (any::<Index>(), byte).prop_map(|(at, byte)| Edit::Replace(at, byte)),
    ]
}

fn mutate(mut frame: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        match *edit {
            Edit::Remove(at) if !frame.is_empty() => {
                frame.remove(at.index(frame.len()));
            }
            Edit::Insert(at, byte) => frame.insert(at.index(frame.len() + 1), byte),
            Edit::Replace(at, byte) if !frame.is_empty() => {
                let at = at.index(frame.len());
                frame[at] = byte;
            }
            _ => {}
        }
    }
    frame
}

/// Something close to an envelope: members drawn from the envelope's keys (repeated, or
/// unknown, at times) with values of every sort, in an object, an array, or on their own.
fn near_envelope() -> impl Strategy<Value = String> {
    let key = select(
        &[
            "\"jsonrpc\"",
            "\"id\"",
            "\"method\"",
            "\"params\"",
            "\"result\"",
            "\"error\"",
            "\"x\"",
            "\"i\\u0064\"",
            "\"\"",
        ][..],
    );
    let value = prop_oneof![
        3 => select(&[
            "\"2.0\"", "\"2.\\u0030\"", "\"1.0\"", "2.0", "null", "true", "0", "7", "-1", "01",
            "1.5", "1e2", "18446744073709551615", "18446744073709551616", "\"m\"", "\"\"",
            "\"a\\\"b\"", "\"\\ud800\"", "{}", "[]", "{\"a\":[1,{}]}", "[1,\"x\"]",
            "{\"code\":-32000,\"message\":\"no\"}", "{\"code\":1.5,\"message\":\"no\"}",
            "{\"code\":1}", "\"\u{1}\"",
        ][..]).prop_map(str::to_owned),
        1 => json().prop_map(|value| value.to_string()),
    ];
    let spacing = select(&["", "", "", " ", "\t", "\r\n"][..]);
    let members = vec((key, spacing.clone(), value, spacing), 0..6).prop_map(|members| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(key, space, value, after)| format!("{key}{space}:{space}{value}{after}"))
            .collect();
        members.join(",")
    });
    (members, 0..4u8).prop_map(|(members, shape)| match shape {
        0 | 1 => format!("{{{members}}}"),
        2 => format!("[{{{members}}},{{{members}}}]"),
        _ => members,
    })
}

/// Frames in or near the short path's grammar: an ordinary request, notification or
/// response with its members in any order, where now and then a value is just outside what
/// the short path accepts, a member is added, or a byte is changed. About a third of them are
/// taken by the short path.
fn nearly_ordinary() -> impl Strategy<Value = Vec<u8>> {
    fn odd(
        usual: impl Strategy<Value = String> + 'static,
        odd: &'static [&'static str],
    ) -> BoxedStrategy<String> {
        prop_oneof![8 => usual, 1 => select(odd).prop_map(str::to_owned)].boxed()
    }
    let version = odd(
        Just("\"2.0\"".to_owned()),
        &["\"2.\\u0030\"", "\"2.0 \"", "\"1.0\"", "2.0", "null"],
    );
    let id = odd(
        prop_oneof![any::<u64>(), 0u64..10].prop_map(|n| n.to_string()),
        &[
            "-1",
            "01",
            "00",
            "1.0",
            "1e2",
            "18446744073709551616",
            "\"7\"",
            "null",
            "1x",
        ],
    );
    let method = odd(
        prop_oneof![
            3 => "[a-z/_.]{0,8}".prop_map(|name| format!("\"{name}\"")),
            1 => text().prop_map(|name| Value::String(name).to_string()),
        ],
        &[
            "\"a\\u0062\"",
            "\"\u{1}\"",
            "\"\u{7f}\"",
            "5",
            "null",
            "\"é\"",
            "\"a",
        ],
    );
    let value = odd(
        json().prop_map(|value| value.to_string()),
        &["{", "[1,]", "nul", "\"s", "{} {}", "1 2", "1", "\"s\""],
    );
    let extra = prop_oneof![
        6 => Just(None),
        1 => (
            select(&["jsonrpc", "id", "method", "params", "result", "error", "x"][..]),
            value.clone(),
        )
            .prop_map(Some),
    ];
    let members = (0..3u8, version, id, method, value, extra).prop_map(
        |(kind, version, id, method, value, extra)| {
            let mut members = vec![("jsonrpc", version)];
            match kind {
                0 => members.extend([("id", id), ("method", method), ("params", value)]),
                1 => members.extend([("method", method), ("params", value)]),
                _ => members.extend([("id", id), ("result", value)]),
            }
            members.extend(extra);
            members
        },
    );
    let spacing = select(&["", "", "", "", " ", "\t", "\r", "\n", "\u{c}", "\u{a0}"][..]);
    (
        members.prop_shuffle(),
        vec(spacing, 4),
        prop_oneof![3 => Just(Vec::new()), 1 => vec(edit(), 1)],
    )
        .prop_map(|(members, spacing, edits)| {
            let [before, after, around, _] = [0, 1, 2, 3].map(|i| spacing[i]);
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{before}\"{key}\"{after}:{before}{value}{after}"))
                .collect();
            let frame = format!("{around}{{{}}}{around}", members.join(","));
            mutate(frame.into_bytes(), &edits)
        })
}

/// Tokens strung together at random: mostly not JSON, now and then something odd that is.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => select(&[
            "{", "}", "[", "]", ":", ",", " ", "\"jsonrpc\"", "\"2.0\"", "\"id\"", "\"method\"",
            "\"params\"", "\"result\"", "\"error\"", "null", "true", "0", "-1", "1.5", "\"m\"",
            "\\", "\"", "\u{feff}", "\u{1}",
        ][..]).prop_map(str::to_owned),
        1 => text().prop_map(|text| Value::String(text).to_string()),
        1 => text(),
    ];
    vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// A frame that may be anything: random bytes, near-envelopes, token soup, or a valid
/// message (written either way) with a few bytes changed.
fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..48),
        2 => near_envelope().prop_map(String::into_bytes),
        1 => token_soup().prop_map(String::into_bytes),
        2 => (message(), any::<bool>(), any::<u64>(), vec(edit(), 1..4)).prop_map(
            |(message, spelled, seed, edits)| {
                let frame = if spelled {
                    spell(&message, &mut Choices(seed)).into_bytes()
                } else {
                    encode(&message, seed % 2 == 0)
                };
                mutate(frame, &edits)
            }
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Writing messages

/// The params or result as raw JSON: compact, or pretty-printed over several lines (which the
/// encoder must put on one).
fn raw(value: &Value, pretty: bool) -> RawJson {
    if pretty {
        RawJson::from_string(serde_json::to_string_pretty(value).expect("a Value serializes"))
            .expect("serde_json writes valid JSON")
    } else {
        RawJson::from_serialize(value).expect("a Value serializes")
    }
}

fn error_of(code: i32, message: &str, data: Option<&Value>) -> Error {
    let error = Error::new(code, message.to_owned());
    match data {
        Some(data) => error.with_data(data.clone()),
        None => error,
    }
}

/// The frame the connection would write for `message`.
fn encode(message: &Message, pretty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let untyped = |method: &String, params: &Option<Value>| {
        UntypedMessage::from_raw(method.clone(), params.as_ref().map(|p| raw(p, pretty)))
    };
    match message {
        Message::Request { id, method, params } => {
            encode::request_frame(&mut out, id, &untyped(method, params)).expect("writes")
        }
        Message::Notification { method, params } => {
            encode::notification_frame(&mut out, &untyped(method, params)).expect("writes")
        }
        Message::Success { id, result } => {
            encode::result_frame(&mut out, id, &raw(result, pretty)).expect("writes")
        }
        Message::Failure {
            id,
            code,
            message,
            data,
        } => encode::error_frame(&mut out, id, &error_of(*code, message, data.as_ref())),
    }
    out
}

/// Where `spell` takes its choices from: a small deterministic generator (splitmix64), so
/// that a seed drawn by proptest fixes every choice.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True about once in `n` times.
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let at = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items[at]
    }
}

/// Whitespace between tokens: usually none.
fn space(choices: &mut Choices) -> &'static str {
    if choices.one_in(3) {
        choices.pick(&[" ", "  ", "\t", "\r\n", " \n "])
    } else {
        ""
    }
}

/// `text` as a JSON string with each character written plainly or escaped, at random.
fn spell_str(text: &str, choices: &mut Choices) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = matches!(c, '"' | '\\') || c < ' ';
        if !must_escape && !choices.one_in(4) {
            out.push(c);
        } else if let Some(short) = short.filter(|_| !choices.one_in(3)) {
            out.push_str(short);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                if choices.one_in(2) {
                    out.push_str(&format!("\\u{unit:04x}"));
                } else {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn spell_id(id: &RequestId, choices: &mut Choices) -> String {
    match id {
        RequestId::Str(text) => spell_str(text, choices),
        other => other.to_string(),
    }
}

/// A JSON value with its object keys and strings spelled at random and whitespace between
/// its tokens.
fn spell_value(value: &Value, choices: &mut Choices) -> String {
    match value {
        Value::String(text) => spell_str(text, choices),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| {
                    format!(
                        "{}{}{}",
                        space(choices),
                        spell_value(item, choices),
                        space(choices)
                    )
                })
                .collect();
            format!("[{}{}]", items.join(","), space(choices))
        }
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(key, item)| {
                    format!(
                        "{}{}{}:{}{}",
                        space(choices),
                        spell_str(key, choices),
                        space(choices),
                        space(choices),
                        spell_value(item, choices)
                    )
                })
                .collect();
            format!("{{{}{}}}", members.join(","), space(choices))
        }
        // Numbers are written as serde_json writes them, which reads back to the same Value.
        other => other.to_string(),
    }
}

/// `members` as a JSON object, in a shuffled order, keys spelled at random.
fn spell_object(mut members: Vec<(&str, String)>, choices: &mut Choices) -> String {
    for i in (1..members.len()).rev() {
        let j = usize::try_from(choices.next() % (i as u64 + 1)).unwrap_or(0);
        members.swap(i, j);
    }
    let members: Vec<String> = members
        .into_iter()
        .map(|(key, value)| {
            format!(
                "{}{}{}:{}{}{}",
                space(choices),
                spell_str(key, choices),
                space(choices),
                space(choices),
                value,
                space(choices)
            )
        })
        .collect();
    format!(
        "{}{{{}}}{}",
        space(choices),
        members.join(","),
        space(choices)
    )
}

/// The params member, if any. Absent params are at times written as `"params": null`.
fn params_member(params: &Option<Value>, choices: &mut Choices) -> Option<(&'static str, String)> {
    match params {
        Some(params) => Some(("params", spell_value(params, choices))),
        None => choices.one_in(3).then(|| ("params", "null".to_owned())),
    }
}

/// `message` written in one of the many ways JSON allows.
fn spell(message: &Message, choices: &mut Choices) -> String {
    let version = spell_str("2.0", choices);
    let mut members = vec![("jsonrpc", version)];
    match message {
        Message::Request { id, method, params } => {
            members.push(("id", spell_id(id, choices)));
            members.push(("method", spell_str(method, choices)));
            members.extend(params_member(params, choices));
        }
        Message::Notification { method, params } => {
            members.push(("method", spell_str(method, choices)));
            members.extend(params_member(params, choices));
        }
        Message::Success { id, result } => {
            members.push(("id", spell_id(id, choices)));
            members.push(("result", spell_value(result, choices)));
        }
        Message::Failure {
            id,
            code,
            message,
            data,
        } => {
            let mut error = vec![
                ("code", code.to_string()),
                ("message", spell_str(message, choices)),
            ];
            if let Some(data) = data {
                error.push(("data", spell_value(data, choices)));
            }
            members.push(("id", spell_id(id, choices)));
            members.push(("error", spell_object(error, choices)));
        }
    }
    spell_object(members, choices)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// `value` as it reads back from the JSON serde_json writes for it. Floats are written in
/// their shortest form, which serde_json (without its `float_roundtrip` feature) may read
/// back one unit off; both sides of a comparison are read from the same text, so they agree.
fn reread(value: &Value) -> Value {
    serde_json::from_str(&value.to_string()).expect("serde_json reads what it writes")
}

fn params_value(params: Option<&RawJson>) -> Option<Value> {
    params.map(|raw| raw.to_value().expect("params read as a Value"))
}

/// `frame` must read back as exactly `message`.
fn reads_back(message: &Message, frame: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(frame);
    let Parsed::Single(incoming) = parse_frame(frame.to_vec()) else {
        return Err(TestCaseError::fail(format!("{text} read as a batch")));
    };
    match (message, incoming) {
        (
            Message::Request { id, method, params },
            Incoming::Request {
                id: read,
                message: read_message,
            },
        ) => {
            prop_assert_eq!(&read, id, "id of {}", text);
            prop_assert_eq!(read_message.method(), method, "method of {}", text);
            prop_assert_eq!(
                params_value(read_message.params()),
                params.as_ref().map(reread),
                "params of {}",
                text
            );
        }
        (Message::Notification { method, params }, Incoming::Notification(read_message)) => {
            prop_assert_eq!(read_message.method(), method, "method of {}", text);
            prop_assert_eq!(
                params_value(read_message.params()),
                params.as_ref().map(reread),
                "params of {}",
                text
            );
        }
        (
            Message::Success { id, result },
            Incoming::Response {
                id: read,
                result: Ok(read_result),
            },
        ) => {
            prop_assert_eq!(&read, id, "id of {}", text);
            prop_assert_eq!(
                read_result.to_value().expect("a result reads as a Value"),
                reread(result),
                "result of {}",
                text
            );
        }
        (
            Message::Failure {
                id,
                code,
                message,
                data,
            },
            Incoming::Response {
                id: read,
                result: Err(error),
            },
        ) => {
            prop_assert_eq!(&read, id, "id of {}", text);
            // `"data": null` reads back as no data: serde's usual reading of an `Option`.
            let data = data.as_ref().map(reread).filter(|data| !data.is_null());
            prop_assert_eq!(
                error,
                error_of(*code, message, data.as_ref()),
                "error of {}",
                text
            );
        }
        (message, incoming) => {
            return Err(TestCaseError::fail(format!(
                "{message:?} written as {text} read back as {incoming:?}"
            )));
        }
    }
    Ok(())
}

/// What the short path reads, it must read exactly as the full reader does. Returns whether
/// the short path took the frame.
fn short_path_agrees(frame: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(text) = std::str::from_utf8(frame) else {
        return Ok(false);
    };
    let Some(short) = fast_envelope::read(text) else {
        return Ok(false);
    };
    let full = parse_value_in_full(text);
    prop_assert_eq!(
        format!("{short:?}"),
        format!("{full:?}"),
        "the short and full readers differ on {}",
        text
    );
    Ok(true)
}

/// Whether the encoder's frame for `message` is of the ordinary kind the short path exists
/// for: an integer id of at least 0 (or none), a method without anything to escape, no error.
fn is_ordinary(message: &Message) -> bool {
    let plain_id = |id: &RequestId| id.as_u64().is_some();
    let plain_method = |method: &str| !method.chars().any(|c| c == '"' || c == '\\' || c < ' ');
    match message {
        Message::Request { id, method, .. } => plain_id(id) && plain_method(method),
        Message::Notification { method, .. } => plain_method(method),
        Message::Success { id, .. } => plain_id(id),
        Message::Failure { .. } => false,
    }
}

proptest! {
    #![proptest_config(config(4096))]

    /// Any bytes at all read as messages or error answers, without a panic. Invalid answers
    /// carry -32700 or -32600; what is not JSON is one -32700 with id `null`; what is JSON is
    /// never called a parse error; a batch is never empty.
    #[test]
    fn any_frame_reads_as_messages_or_an_error_answer(frame in any_frame()) {
        let members = match parse_frame(frame.clone()) {
            Parsed::Single(incoming) => vec![incoming],
            Parsed::Batch(members) => {
                prop_assert!(!members.is_empty(), "an empty batch");
                members
            }
        };
        for member in &members {
            if let Incoming::Invalid { error, .. } = member {
                prop_assert!(matches!(error.code(), -32700 | -32600), "{member:?}");
            }
        }
        let text = std::str::from_utf8(&frame).ok();
        if text.is_none_or(|text| serde_json::from_str::<&RawValue>(text).is_err()) {
            prop_assert!(
                matches!(&members[..], [Incoming::Invalid { id: RequestId::Null, error }] if error.code() == -32700),
                "{:?} is not JSON but read as {members:?}",
                String::from_utf8_lossy(&frame)
            );
        }
        if text.is_some_and(|text| serde_json::from_str::<Value>(text).is_ok()) {
            prop_assert!(
                !members.iter().any(|member| matches!(member, Incoming::Invalid { error, .. } if error.code() == -32700)),
                "{:?} is JSON but read as {members:?}",
                String::from_utf8_lossy(&frame)
            );
        }
    }

    /// What the encoder writes is one line, and reads back as the same id, method and params
    /// (or result, or error).
    #[test]
    fn encoded_messages_read_back_the_same(message in message(), pretty in any::<bool>()) {
        let frame = encode(&message, pretty);
        prop_assert!(!frame.contains(&b'\n') && !frame.contains(&b'\r'), "{:?}", String::from_utf8_lossy(&frame));
        reads_back(&message, &frame)?;
        let short = short_path_agrees(&frame)?;
        if is_ordinary(&message) {
            prop_assert!(short, "the short path left {} to the full reader", String::from_utf8_lossy(&frame));
        }
    }

    /// Every other way of writing a message reads back the same too.
    #[test]
    fn spelled_messages_read_back_the_same(message in message(), seed in any::<u64>()) {
        let frame = spell(&message, &mut Choices(seed));
        reads_back(&message, frame.as_bytes())?;
        short_path_agrees(frame.as_bytes())?;
    }

    /// On every frame, valid or not, where the short path gives an answer, it is the full
    /// reader's answer.
    #[test]
    fn the_short_path_agrees_with_the_full_reader(frame in prop_oneof![1 => any_frame(), 2 => nearly_ordinary()]) {
        short_path_agrees(&frame)?;
    }
}
