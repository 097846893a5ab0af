//! The envelope reader: nothing panics, every message reads back as written, and the short
//! path agrees with the full reader.
//!
//! Messages and broken frames come from `message.rs`; `write.rs` turns a message into a frame
//! the way the connection does, or in any other form JSON allows.

use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;

use super::config;
use super::message::{Message, any_frame, message, nearly_ordinary};
use super::write::{Choices, encode, error_of, spell};
use crate::wire::Framing;
use crate::wire::envelope::{Incoming, Parsed, parse_frame, parse_value_in_full};
use crate::wire::fast_envelope;
use crate::wire::framing::batch::FrameBatch;
use crate::{RawJson, RequestId};

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
    let Ok(short) = fast_envelope::read(text.to_owned()) else {
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

    /// What the encoder writes reads back as the same id, method and params (or result, or
    /// error), as it is and as the newline framing puts it on one line.
    #[test]
    fn encoded_messages_read_back_the_same(message in message(), pretty in any::<bool>()) {
        let written = encode(&message, pretty);
        reads_back(&message, &written)?;
        let mut batch = FrameBatch::default();
        batch.push(Framing::Newline, &written);
        let frame = batch.message(0).unwrap_or_default().to_vec();
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
