//! Writing outgoing frames.
//!
//! Every frame is serialized once, into a reused per-thread buffer ([`with_scratch`]) from
//! which the outgoing queue copies it; nothing builds a `serde_json::Value` on the way and no
//! frame needs an allocation of its own. Messages are written without framing: the outgoing
//! queue encodes each with the transport's framing (`framing/`).

use crate::Error;
use crate::message::{JsonRpcMessage, JsonRpcResponse, RequestId};

/// Room for a typical small message, so most frames never reallocate.
use std::cell::RefCell;

/// A scratch buffer larger than this after use is freed rather than kept for the next frame.
const RETAINED_SCRATCH: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `write` with an empty buffer to serialize one frame into. The buffer is this thread's
/// scratch buffer, reused from frame to frame; if it is already in use (a `Serialize` impl that
/// sends a message while being serialized), a fresh one.
pub(crate) fn with_scratch<R>(write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let result = write(&mut buffer);
            if buffer.capacity() > RETAINED_SCRATCH {
                *buffer = Vec::new();
            }
            result
        }
        Err(_) => write(&mut Vec::new()),
    })
}

/// Writes `s` as a JSON string literal, as serde_json writes it.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Nearly every method name and string id has nothing to escape (serde_json escapes only
    // `"`, `\` and control characters): copied between quotes, it skips serde's formatter.
    if !s
        .bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
    {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Serializing a &str into a Vec cannot fail: there is no I/O and no map key to reject.
    let _ = serde_json::to_writer(out, s);
}

/// Appends `,"params":<params>`, leaving the member out when the params are `null`.
fn write_params<M: JsonRpcMessage<As>, As>(out: &mut Vec<u8>, message: &M) -> Result<(), Error> {
    let mark = out.len();
    out.extend_from_slice(b",\"params\":");
    let params_at = out.len();
    JsonRpcMessage::<As>::write_params(message, out)?;
    if &out[params_at..] == b"null" {
        out.truncate(mark);
    }
    Ok(())
}

/// `{"jsonrpc":"2.0","id":<id>,"method":<method>,"params":<params>}`
pub(crate) fn request_frame<M: JsonRpcMessage<As>, As>(
    out: &mut Vec<u8>,
    id: &RequestId,
    message: &M,
) -> Result<(), Error> {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(out);
    out.extend_from_slice(b",\"method\":");
    write_json_str(out, JsonRpcMessage::<As>::method(message));
    write_params::<M, As>(out, message)?;
    out.push(b'}');
    Ok(())
}

/// `{"jsonrpc":"2.0","method":<method>,"params":<params>}`
pub(crate) fn notification_frame<M: JsonRpcMessage<As>, As>(
    out: &mut Vec<u8>,
    message: &M,
) -> Result<(), Error> {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    write_json_str(out, JsonRpcMessage::<As>::method(message));
    write_params::<M, As>(out, message)?;
    out.push(b'}');
    Ok(())
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}`
pub(crate) fn result_frame<T: JsonRpcResponse>(
    out: &mut Vec<u8>,
    id: &RequestId,
    result: &T,
) -> Result<(), Error> {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(out);
    out.extend_from_slice(b",\"result\":");
    result.write_result(out)?;
    out.push(b'}');
    Ok(())
}

/// `{"jsonrpc":"2.0","id":<id>,"error":{"code":..,"message":..,"data":..}}`
pub(crate) fn error_frame(out: &mut Vec<u8>, id: &RequestId, error: &Error) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(out);
    out.extend_from_slice(b",\"error\":");
    // An Error is a code, a string and a serde_json::Value: all serialize without failure.
    let _ = serde_json::to_writer(&mut *out, error);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Framing;
    use crate::wire::framing::batch::FrameBatch;
    use crate::{RawJson, UntypedMessage};

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in [
            "math/add",
            "",
            "a \"quoted\" \\ name",
            "tab\there, newline\n, nul\u{0}, unit separator\u{1f}, delete\u{7f}",
            "ünïcödé ✓ 𝄞",
        ] {
            let mut out = Vec::new();
            write_json_str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    fn text(frame: Vec<u8>) -> String {
        String::from_utf8(frame).unwrap()
    }

    /// What `write` puts into an empty buffer.
    fn written<E: std::fmt::Debug>(write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        out
    }

    #[test]
    fn frames_have_the_exact_json_rpc_shape() {
        let message = UntypedMessage::new("a\"b", serde_json::json!({"x": 1})).unwrap();
        assert_eq!(
            text(written(|out| request_frame::<_, crate::UntypedRole>(
                out,
                &RequestId::Int(3),
                &message
            ))),
            r#"{"jsonrpc":"2.0","id":3,"method":"a\"b","params":{"x":1}}"#
        );
        assert_eq!(
            text(written(|out| notification_frame::<_, crate::UntypedRole>(
                out, &message
            ))),
            r#"{"jsonrpc":"2.0","method":"a\"b","params":{"x":1}}"#
        );
        assert_eq!(
            text(written(|out| result_frame(
                out,
                &RequestId::Str("q".into()),
                &serde_json::json!(null)
            ))),
            r#"{"jsonrpc":"2.0","id":"q","result":null}"#
        );
        assert_eq!(
            text(written(|out| {
                error_frame(out, &RequestId::Null, &Error::new(-1, "m"));
                Ok::<_, Error>(())
            })),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#
        );
    }

    #[test]
    fn null_params_are_left_out() {
        let message = UntypedMessage::from_raw("ping".into(), None);
        assert_eq!(
            text(written(|out| request_frame::<_, crate::UntypedRole>(
                out,
                &RequestId::Int(1),
                &message
            ))),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
        );
    }

    #[test]
    fn pretty_printed_raw_params_stay_on_one_line_when_newline_framed() {
        let params =
            RawJson::from_string("{\n  \"a\": \"x\\ny\",\r\n  \"b\": [1,\n2]\n}".into()).unwrap();
        let message = UntypedMessage::from_raw("m".into(), Some(params));
        let frame = written(|out| notification_frame::<_, crate::UntypedRole>(out, &message));
        // Raw text is written as it came; the newline framing is what makes it one line.
        assert!(frame.contains(&b'\n'));
        let mut batch = FrameBatch::default();
        batch.push(Framing::Newline, &frame);
        let line = batch.message(0).unwrap();
        assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert_eq!(
            value["params"],
            serde_json::json!({"a": "x\ny", "b": [1, 2]})
        );

        let result = RawJson::from_string("[\n1\n]".into()).unwrap();
        let frame = written(|out| result_frame(out, &RequestId::from(1u64), &result));
        let mut batch = FrameBatch::default();
        batch.push(Framing::Newline, &frame);
        assert_eq!(
            batch.bytes(),
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[ 1 ]}\n"
        );
    }
}
