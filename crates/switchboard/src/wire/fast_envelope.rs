//! The short path through the envelope, for the messages nearly every peer sends.
//!
//! A frame like `{"jsonrpc":"2.0","id":7,"method":"m","params":{...}}` is read here by hand:
//! plain keys, `"2.0"`, an integer id and an unescaped method name are recognised byte by
//! byte, and only `params` or `result` go through serde_json, which validates them and finds
//! where they end. That costs about half of reading every member through serde.
//!
//! Anything unusual gives up (`None`) and the full reader in `envelope.rs` takes the frame
//! from the start: escapes, string or null ids, unknown or repeated members, errors, a missing
//! or different version, whatever is malformed. So this path only ever accepts frames the full
//! reader accepts, and reads them the same way (a test checks that on many variations).

use serde_json::value::RawValue;

use super::envelope::Incoming;
use crate::message::{RawJson, RequestId, UntypedMessage};

/// Reads a well-formed, ordinary message, or gives up.
pub(crate) fn read(text: &str) -> Option<Incoming> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut seen = Members::default();
    loop {
        at = skip_whitespace(bytes, at);
        let (key, after_key) = plain_string(text, at)?;
        at = skip_whitespace(bytes, after_key);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(bytes, at + 1);
        at = match key {
            "jsonrpc" if seen.version.is_none() && bytes[at..].starts_with(b"\"2.0\"") => {
                seen.version = Some(());
                at + 5
            }
            "id" if seen.id.is_none() => {
                let (id, after) = plain_id(bytes, at)?;
                seen.id = Some(id);
                after
            }
            "method" if seen.method.is_none() => {
                let (method, after) = plain_string(text, at)?;
                seen.method = Some(method);
                after
            }
            "params" if seen.params.is_none() => {
                let (raw, after) = raw_value(text, at)?;
                seen.params = Some(raw);
                after
            }
            "result" if seen.result.is_none() => {
                let (raw, after) = raw_value(text, at)?;
                seen.result = Some(raw);
                after
            }
            _ => return None,
        };
        at = skip_whitespace(bytes, at);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_whitespace(bytes, at + 1) != bytes.len() || seen.version.is_none() {
        return None;
    }
    seen.into_incoming()
}

#[derive(Default)]
struct Members<'a> {
    version: Option<()>,
    id: Option<RequestId>,
    method: Option<&'a str>,
    params: Option<&'a RawValue>,
    result: Option<&'a RawValue>,
}

impl Members<'_> {
    fn into_incoming(self) -> Option<Incoming> {
        match (self.method, self.result) {
            (Some(method), None) => {
                let params = match self.params {
                    None => None,
                    Some(raw) => match raw.get().as_bytes().first() {
                        Some(b'{' | b'[') => Some(RawJson::from_raw(raw.to_owned())),
                        Some(b'n') => None,
                        _ => return None,
                    },
                };
                let message = UntypedMessage::from_raw(method.to_owned(), params);
                Some(match self.id {
                    Some(id) => Incoming::Request { id, message },
                    None => Incoming::Notification(message),
                })
            }
            (None, Some(result)) if self.params.is_none() => Some(Incoming::Response {
                id: self.id?,
                result: Ok(RawJson::from_raw(result.to_owned())),
            }),
            _ => None,
        }
    }
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string without escapes or control characters at `at`: its text, and where it ends.
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + memchr::memchr(b'"', &bytes[start..])?;
    let inner = &bytes[start..end];
    if inner.iter().any(|&byte| byte == b'\\' || byte < 0x20) {
        return None;
    }
    // Both ends sit next to an ASCII quote, so they are character boundaries.
    Some((text.get(start..end)?, end + 1))
}

/// A non-negative integer id that fits a `u64`.
fn plain_id(bytes: &[u8], at: usize) -> Option<(RequestId, usize)> {
    let digits = bytes[at..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    let end = at + digits;
    // No leading zeros (not JSON), and no fraction or exponent after the digits.
    if digits == 0 || (digits > 1 && bytes[at] == b'0') {
        return None;
    }
    if !matches!(
        bytes.get(end),
        Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
    ) {
        return None;
    }
    let n: u64 = std::str::from_utf8(&bytes[at..end]).ok()?.parse().ok()?;
    Some((RequestId::from(n), end))
}

/// Any JSON value at `at`, validated and delimited by serde_json.
fn raw_value(text: &str, at: usize) -> Option<(&RawValue, usize)> {
    let rest = text.get(at..)?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
    let raw = values.next()?.ok()?;
    Some((raw, at + values.byte_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::envelope::parse_value_in_full;

    const TEMPLATES: &[&str] = &[
        r#"{"jsonrpc":"2.0","id":7,"method":"echo","params":{"text":"hi","n":[1,2,{"x":null}]}}"#,
        r#"{"jsonrpc":"2.0","method":"tick","params":[1,"two",3.5]}"#,
        r#"{"jsonrpc":"2.0","id":0,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":18446744073709551615,"result":{"ok":true}}"#,
        r#"{"id":3,"result":"text","jsonrpc":"2.0"}"#,
        r#" { "jsonrpc" : "2.0" , "method" : "a/b" , "params" : null } "#,
        r#"{"jsonrpc":"2.0","id":12,"error":{"code":-1,"message":"no"}}"#,
        r#"{"jsonrpc":"2.0","id":"s","method":"m","params":{}}"#,
    ];

    /// Every frame the short path reads, it must read exactly as the full reader does.
    fn agrees(text: &str) -> bool {
        match read(text) {
            Some(fast) => {
                let full = parse_value_in_full(text);
                assert_eq!(format!("{fast:?}"), format!("{full:?}"), "on {text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn ordinary_messages_take_the_short_path() {
        for template in &TEMPLATES[..6] {
            assert!(
                agrees(template),
                "{template} should be read by the short path"
            );
        }
        for template in &TEMPLATES[6..] {
            assert!(
                !agrees(template),
                "{template} should be left to the full reader"
            );
        }
    }

    #[test]
    fn the_short_path_never_disagrees_with_the_full_reader() {
        const REPLACEMENTS: &[char] = &[
            '"', '\\', ' ', ',', ':', '}', '{', '[', ']', '0', '1', '-', '.', 'e', 'x', 'n',
            '\u{1}', '\r',
        ];
        let mut short = 0;
        for template in TEMPLATES {
            for cut in 0..=template.len() {
                short += usize::from(agrees(&template[..cut]));
            }
            for (at, _) in template.char_indices() {
                for replacement in REPLACEMENTS {
                    let mut text = template.to_string();
                    text.replace_range(at..at + 1, &replacement.to_string());
                    short += usize::from(agrees(&text));
                    let mut inserted = template.to_string();
                    inserted.insert(at, *replacement);
                    short += usize::from(agrees(&inserted));
                }
            }
        }
        // Many variations are still ordinary messages, and were compared.
        assert!(short > 500, "only {short} variations took the short path");
    }
}
