//! What the envelope properties generate: messages as values (`Message`), and frames that
//! are broken on purpose: mutations of real frames, near-envelopes (`{` plus members drawn
//! from the envelope's keys and odd values), token soup and plain random bytes.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Number, Value};

use super::write::{Choices, encode, spell};
use crate::RequestId;

/// A message to write and read back.
#[derive(Debug, Clone)]
pub(super) enum Message {
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

pub(super) fn message() -> impl Strategy<Value = Message> {
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
pub(super) fn nearly_ordinary() -> impl Strategy<Value = Vec<u8>> {
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
pub(super) fn any_frame() -> impl Strategy<Value = Vec<u8>> {
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
