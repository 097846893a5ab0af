//! The short path through the envelope, for the messages nearly every peer sends.
//!
//! A frame like `{"jsonrpc":"2.0","id":7,"method":"m","params":{...}}` is read here by hand:
//! plain keys, `"2.0"`, an integer id and an unescaped method name are recognised byte by
//! byte, and `params` or `result` are checked and delimited by `json_scan.rs` in one pass.
//! That costs a fraction of reading every member through serde.
//!
//! Anything unusual gives up (`None`) and the full reader in `envelope.rs` takes the frame
//! from the start: escapes, string or null ids, unknown or repeated members, errors, a missing
//! or different version, whatever is malformed. So this path only ever accepts frames the full
//! reader accepts, and reads them the same way (a test checks that on many variations).

use std::ops::Range;

use super::envelope::Incoming;
use super::json_scan::{self, plain_string, whitespace_end};
use crate::message::{RawJson, RequestId, UntypedMessage};

/// Reads a well-formed, ordinary message, or gives up and hands the text back.
///
/// The message keeps `text` whole: its params (or result) and method name are ranges in it,
/// so nothing is copied out of the frame.
pub(crate) fn read(text: String) -> Result<Incoming, String> {
    match members(&text) {
        Some(members) => members.into_incoming(text),
        None => Err(text),
    }
}

/// Where each member of an ordinary message sits in `text`.
fn members(text: &str) -> Option<Members> {
    let bytes = text.as_bytes();
    let mut at = whitespace_end(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut seen = Members::default();
    loop {
        let (key, after_colon) = member_key(bytes, at)?;
        at = whitespace_end(bytes, after_colon);
        at = match key {
            b"jsonrpc" if !seen.version && bytes[at..].starts_with(b"\"2.0\"") => {
                seen.version = true;
                at + 5
            }
            b"id" if seen.id.is_none() => {
                let (id, after) = plain_id(bytes, at)?;
                seen.id = Some(id);
                after
            }
            b"method" if seen.method.is_none() => {
                let (method, after) = plain_string(bytes, at)?;
                seen.method = Some(method);
                after
            }
            b"params" if seen.params.is_none() => {
                let after = json_scan::value_end(bytes, at)?;
                seen.params = Some(at..after);
                after
            }
            b"result" if seen.result.is_none() => {
                let after = json_scan::value_end(bytes, at)?;
                seen.result = Some(at..after);
                after
            }
            _ => return None,
        };
        at = whitespace_end(bytes, at);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    if whitespace_end(bytes, at + 1) != bytes.len() || !seen.version {
        return None;
    }
    Some(seen)
}

#[derive(Default)]
struct Members {
    version: bool,
    id: Option<RequestId>,
    method: Option<Range<usize>>,
    params: Option<Range<usize>>,
    result: Option<Range<usize>>,
}

impl Members {
    fn into_incoming(self, text: String) -> Result<Incoming, String> {
        let message = match (self.method, self.result) {
            (Some(method), None) => match self.params {
                Some(params) if matches!(text.as_bytes()[params.start], b'{' | b'[') => {
                    RawJson::in_frame(text.into_boxed_str(), params)
                        .and_then(|raw| {
                            UntypedMessage::in_frame(method, raw).map_err(RawJson::into_frame)
                        })
                        .map_err(String::from)?
                }
                Some(params) if text.as_bytes()[params.start] != b'n' => return Err(text),
                // No params, or `null`: the method is all there is to keep.
                _ => match text.get(method) {
                    Some(method) => UntypedMessage::from_raw(method.to_owned(), None),
                    None => return Err(text),
                },
            },
            (None, Some(result)) if self.params.is_none() => {
                let Some(id) = self.id else {
                    return Err(text);
                };
                let result = RawJson::in_frame(text.into_boxed_str(), result)?;
                return Ok(Incoming::Response {
                    id,
                    result: Ok(result),
                });
            }
            _ => return Err(text),
        };
        Ok(match self.id {
            Some(id) => Incoming::Request { id, message },
            None => Incoming::Notification(message),
        })
    }
}

/// The keys of an ordinary message, each with its quotes and the colon after it: how nearly
/// every peer writes them, compared in one go.
const KEYS: [&[u8]; 5] = [
    b"\"jsonrpc\":",
    b"\"id\":",
    b"\"method\":",
    b"\"params\":",
    b"\"result\":",
];

/// The member key at `at` (after any whitespace) without its quotes, and where the colon after
/// it ends.
pub(crate) fn member_key(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let at = whitespace_end(bytes, at);
    let rest = &bytes[at..];
    if let Some(known) = KEYS.iter().find(|known| rest.starts_with(known)) {
        return Some((&known[1..known.len() - 2], at + known.len()));
    }
    // Spaced out, or a key this reader does not know (which gives up below).
    let (key, after_key) = plain_string(bytes, at)?;
    let colon = whitespace_end(bytes, after_key);
    if bytes.get(colon) != Some(&b':') {
        return None;
    }
    Some((&bytes[key], colon + 1))
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
    let mut n: u64 = 0;
    for &digit in &bytes[at..end] {
        n = n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
    }
    Some((RequestId::from(n), end))
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
        match read(text.to_owned()) {
            Ok(fast) => {
                let full = parse_value_in_full(text);
                assert_eq!(format!("{fast:?}"), format!("{full:?}"), "on {text}");
                true
            }
            Err(_) => false,
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
    fn a_message_keeps_its_frame_instead_of_copying_its_parts() {
        let text = r#"{"jsonrpc":"2.0","id":7,"method":"echo","params":{"text":"hi"}}"#;
        let Ok(Incoming::Request { message, .. }) = read(text.to_owned()) else {
            panic!("an ordinary request takes the short path");
        };
        let params = message.params().expect("params");
        assert_eq!(params.get(), r#"{"text":"hi"}"#);
        assert_eq!(
            params.frame(),
            text,
            "the params are a range of the whole frame"
        );
        assert_eq!(message.method(), "echo");
        let (method, params) = message.into_parts();
        assert_eq!(
            (method.as_str(), params.unwrap().get()),
            ("echo", r#"{"text":"hi"}"#)
        );

        let text = r#"{"jsonrpc":"2.0","id":3,"result":[1,2]}"#;
        let Ok(Incoming::Response {
            result: Ok(result), ..
        }) = read(text.to_owned())
        else {
            panic!("an ordinary response takes the short path");
        };
        assert_eq!((result.get(), result.frame()), ("[1,2]", text));
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
