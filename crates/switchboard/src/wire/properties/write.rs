//! Writing messages, both ways: `encode` as the connection does (`encode.rs`), and `spell`,
//! in any form JSON allows: members in any order, whitespace between tokens, every character
//! of every string possibly escaped (`\u0041`, `\/`, surrogate pairs), `"params": null`.

use serde_json::Value;

use super::message::Message;
use crate::wire::encode;
use crate::{Error, RawJson, RequestId, UntypedMessage};

// ---------------------------------------------------------------------------------------------
// Writing messages

/// The params or result as raw JSON: compact, or pretty-printed over several lines (which the
/// encoder must put on one).
pub(super) fn raw(value: &Value, pretty: bool) -> RawJson {
    if pretty {
        RawJson::from_string(serde_json::to_string_pretty(value).expect("a Value serializes"))
            .expect("serde_json writes valid JSON")
    } else {
        RawJson::from_serialize(value).expect("a Value serializes")
    }
}

pub(super) fn error_of(code: i32, message: &str, data: Option<&Value>) -> Error {
    let error = Error::new(code, message.to_owned());
    match data {
        Some(data) => error.with_data(data.clone()),
        None => error,
    }
}

/// The frame the connection would write for `message`.
pub(super) fn encode(message: &Message, pretty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let untyped = |method: &String, params: &Option<Value>| {
        UntypedMessage::from_raw(method.clone(), params.as_ref().map(|p| raw(p, pretty)))
    };
    match message {
        Message::Request { id, method, params } => {
            encode::request_frame::<_, crate::UntypedRole>(&mut out, id, &untyped(method, params))
                .expect("writes")
        }
        Message::Notification { method, params } => {
            encode::notification_frame::<_, crate::UntypedRole>(&mut out, &untyped(method, params))
                .expect("writes")
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
pub(super) struct Choices(pub(super) u64);

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
pub(super) fn spell(message: &Message, choices: &mut Choices) -> String {
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
