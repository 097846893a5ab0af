//! Where a JSON value ends, checked as it is read: the short path's stand-in for running
//! serde_json over `params` or `result` only to find their end.
//!
//! A message's params must be valid JSON before any handler sees them (a proxy forwards them
//! as they are; malformed JSON is answered -32700), and the envelope must know where they end.
//! serde_json does both, but through a general deserializer: about nine instructions a byte
//! for a small object. This scanner does the same check in one pass over the bytes, eight
//! string bytes at a time.
//!
//! It accepts exactly the grammar of RFC 8259 (what serde_json accepts when it skips a value),
//! and gives up (`None`) on anything else, and also on nesting deeper than [`MAX_DEPTH`]: the
//! full reader then reads the frame and decides, so a frame this scanner gets wrong can only
//! take the slow path, never be accepted. A test holds it to serde_json on many variations.

use std::ops::Range;

/// Deeper nesting than this is left to the full reader (which allows 128 levels in all).
const MAX_DEPTH: u32 = 64;

/// Where the JSON value starting at `at` ends, if it is valid JSON (no whitespace before it).
pub(crate) fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    // One bit per open container, innermost lowest: set for an object, clear for an array.
    let mut objects: u64 = 0;
    let mut depth: u32 = 0;
    let mut at = at;
    loop {
        // A value.
        at = match *bytes.get(at)? {
            b'"' => string_end(bytes, at)?,
            b'{' | b'[' => {
                let object = bytes[at] == b'{';
                if depth == MAX_DEPTH {
                    return None;
                }
                depth += 1;
                objects = (objects << 1) | u64::from(object);
                at = whitespace_end(bytes, at + 1);
                match (object, bytes.get(at)) {
                    (true, Some(b'}')) | (false, Some(b']')) => {
                        depth -= 1;
                        objects >>= 1;
                        at + 1
                    }
                    (true, _) => {
                        at = member_name_end(bytes, at)?;
                        continue;
                    }
                    (false, _) => continue,
                }
            }
            b't' => literal_end(bytes, at, b"true")?,
            b'f' => literal_end(bytes, at, b"false")?,
            b'n' => literal_end(bytes, at, b"null")?,
            b'-' | b'0'..=b'9' => number_end(bytes, at)?,
            _ => return None,
        };
        // After a value: the end, or what comes next in its container.
        loop {
            if depth == 0 {
                return Some(at);
            }
            at = whitespace_end(bytes, at);
            let object = objects & 1 == 1;
            match (object, bytes.get(at)) {
                (_, Some(b',')) => {
                    at = whitespace_end(bytes, at + 1);
                    if object {
                        at = member_name_end(bytes, at)?;
                    }
                    break;
                }
                (true, Some(b'}')) | (false, Some(b']')) => {
                    depth -= 1;
                    objects >>= 1;
                    at += 1;
                }
                _ => return None,
            }
        }
    }
}

/// Where the JSON value starting at `at` ends, in text already known to be valid JSON (the
/// text of a `RawJson`, checked when it was made): strings and nesting are followed, nothing
/// is checked again. `None` only if the text ends first, which valid JSON does not.
pub(crate) fn valid_value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => valid_string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth: usize = 0;
            let mut at = at;
            loop {
                match *bytes.get(at)? {
                    b'"' => {
                        at = valid_string_end(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        // A number or a literal: up to whatever follows it.
        _ => {
            let rest = bytes.get(at..)?;
            let length = rest
                .iter()
                .position(|byte| matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len());
            Some(at + length)
        }
    }
}

/// The end of the valid string starting at `at`: the first quote not escaped.
fn valid_string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut at = at + 1;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[found] == b'"' {
            return Some(found + 1);
        }
        // An escape: the byte after the backslash is never the string's end (a `\uXXXX`'s
        // hex digits are not quotes either).
        at = found + 2;
    }
}

/// A member's name and its colon, and where the whitespace after the colon ends.
#[inline]
fn member_name_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let at = whitespace_end(bytes, string_end(bytes, at)?);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    Some(whitespace_end(bytes, at + 1))
}

/// Where the JSON whitespace starting at `at` ends.
#[inline]
pub(crate) fn whitespace_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string without escapes or control characters at `at`: where its text is, and where
/// the string ends. Both ends of the text sit next to an ASCII quote, so they are character
/// boundaries.
pub(crate) fn plain_string(bytes: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + memchr::memchr(b'"', &bytes[start..])?;
    if bytes[start..end]
        .iter()
        .any(|&byte| byte == b'\\' || byte < 0x20)
    {
        return None;
    }
    Some((start..end, end + 1))
}

fn literal_end(bytes: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    bytes[at..]
        .starts_with(literal)
        .then_some(at + literal.len())
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
#[inline]
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits_end(bytes, at + 1),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        at = one_or_more_digits(bytes, at + 1)?;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        at = one_or_more_digits(bytes, at)?;
    }
    Some(at)
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

fn one_or_more_digits(bytes: &[u8], at: usize) -> Option<usize> {
    let end = digits_end(bytes, at);
    (end > at).then_some(end)
}

/// The string starting with the quote at `at`: where it ends, after its closing quote, if
/// it holds no control character and only valid escapes.
#[inline]
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut at = at + 1;
    loop {
        at = special_byte(bytes, at)?;
        match bytes[at] {
            b'"' => return Some(at + 1),
            b'\\' => {
                at = match bytes.get(at + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at + 2,
                    // Any four hex digits: which code points make sense is for whoever reads
                    // the string as text (serde_json skips them the same way).
                    b'u' => {
                        let hex = bytes.get(at + 2..at + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        at + 6
                    }
                    _ => return None,
                }
            }
            // A control character, which JSON allows only escaped.
            _ => return None,
        }
    }
}

/// The first quote, backslash or control character at or after `at`.
#[inline]
fn special_byte(bytes: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // The high bit of each byte that is a quote, a backslash or below 0x20. Each test is
        // exact for the lowest such byte (a borrow only spills upwards), which is the one
        // taken.
        let zero_if_quote = word ^ QUOTES;
        let zero_if_backslash = word ^ BACKSLASHES;
        let found = ((zero_if_quote.wrapping_sub(ONES) & !zero_if_quote)
            | (zero_if_backslash.wrapping_sub(ONES) & !zero_if_backslash)
            | (word.wrapping_sub(SPACES) & !word))
            & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .map(|offset| at + offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// What serde_json says: where the value at the start of `text` ends, if it is valid.
    fn serde_end(text: &str) -> Option<usize> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        values.next()?.ok()?;
        Some(values.byte_offset())
    }

    /// What the scanner accepts is one whole value to serde_json, and ends where serde_json
    /// says; it may give up on a value serde_json would read (which only sends the frame down
    /// the slow path). Whatever follows the value is the envelope's to check.
    fn agrees(text: &str) {
        let Some(end) = value_end(text.as_bytes(), 0) else {
            return;
        };
        assert_eq!(
            serde_end(&text[..end]),
            Some(end),
            "accepted {:?} of {text:?}, which serde_json does not read as one value",
            &text[..end]
        );
        if let Some(serde) = serde_end(text) {
            assert_eq!(end, serde, "on {text:?}");
        }
    }

    const VALUES: &[&str] = &[
        r#"{"text":"hello, world","n":[1,-2.5e+3,0,{"x":null,"y":true,"z":false}]}"#,
        r#"[ "a\"b\\c\/d\b\f\n\r\t\u00e9\uD834", 1E5 , -0.0 ,[ ] , { } ]"#,
        r#""a string of more than eight bytes with a quote \" inside""#,
        r#"{"é":"ünïcödé, then \u0041","k":[[[[1]]]]}"#,
        "12345678901234567890",
        "-0",
        "true",
    ];

    #[test]
    fn valid_values_end_where_serde_json_says() {
        for value in VALUES {
            assert_eq!(value_end(value.as_bytes(), 0), Some(value.len()), "{value}");
            agrees(value);
            // The end, with what may follow a value in a message.
            agrees(&format!("{value},\"id\":1}}"));
            agrees(&format!("{value} }}"));
        }
    }

    #[test]
    fn a_value_known_to_be_valid_ends_where_the_checking_scan_says() {
        for value in VALUES {
            for text in [
                value.to_string(),
                format!("{value},\"id\":1}}"),
                format!("{value} }}"),
                format!("{value}]"),
            ] {
                assert_eq!(
                    valid_value_end(text.as_bytes(), 0),
                    value_end(text.as_bytes(), 0),
                    "{text}"
                );
            }
        }
        // Text cut short is no value: `None`, not a panic.
        for value in VALUES {
            for cut in 0..value.len() {
                if let Some(end) = valid_value_end(&value.as_bytes()[..cut], 0) {
                    assert!(end <= cut);
                }
            }
        }
    }

    #[test]
    fn the_scanner_never_accepts_what_serde_json_refuses() {
        const REPLACEMENTS: &[char] = &[
            '"', '\\', ' ', ',', ':', '}', '{', '[', ']', '0', '1', '-', '+', '.', 'e', 'E', 'x',
            'u', 'n', 't', 'f', '/', '\u{1}', '\u{1f}', '\t', '\u{7f}', 'é',
        ];
        let mut checked = 0;
        for value in VALUES {
            for cut in 0..=value.len() {
                if let Some(prefix) = value.get(..cut) {
                    agrees(prefix);
                    checked += 1;
                }
            }
            for (at, ch) in value.char_indices() {
                for replacement in REPLACEMENTS {
                    let mut text = value.to_string();
                    text.replace_range(at..at + ch.len_utf8(), &replacement.to_string());
                    agrees(&text);
                    let mut inserted = value.to_string();
                    inserted.insert(at, *replacement);
                    agrees(&inserted);
                    checked += 2;
                }
            }
        }
        assert!(checked > 5_000, "only {checked} variations");
    }

    #[test]
    fn control_characters_and_bad_escapes_are_refused_at_every_offset() {
        // Each offset puts the bad byte at another place in the eight-byte words.
        for offset in 0..20 {
            let padding = "p".repeat(offset);
            for bad in ["\u{0}", "\u{1f}", "\n", "\\x", "\\u12G4", "\\"] {
                let text = format!("\"{padding}{bad}Zz\"");
                assert_eq!(value_end(text.as_bytes(), 0), None, "{text:?}");
            }
            let text = format!("\"{padding}\\\"\u{7f}é\"");
            assert_eq!(value_end(text.as_bytes(), 0), Some(text.len()), "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_left_to_the_full_reader() {
        let depth = MAX_DEPTH as usize;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(value_end(deep.as_bytes(), 0), Some(deep.len()));
        let deeper = format!("[{deep}]");
        assert_eq!(value_end(deeper.as_bytes(), 0), None);
        let unclosed = "[".repeat(100_000);
        assert_eq!(value_end(unclosed.as_bytes(), 0), None);
    }
}
