//! Writing outgoing frames.
//!
//! Every frame is serialized once, straight into the `Vec<u8>` that travels to the outgoing
//! actor; nothing builds a `serde_json::Value` on the way. Frames carry no trailing newline:
//! the transport adds its own framing.

use crate::Error;
use crate::message::{JsonRpcMessage, JsonRpcResponse, RequestId};

/// Room for a typical small message, so most frames never reallocate.
const FRAME_CAPACITY_HINT: usize = 192;

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail: there is no I/O and no map key to reject.
    let _ = serde_json::to_writer(out, s);
}

/// Appends `,"params":<params>`, leaving the member out when the params are `null`.
fn write_params<M: JsonRpcMessage>(out: &mut Vec<u8>, message: &M) -> Result<(), Error> {
    let mark = out.len();
    out.extend_from_slice(b",\"params\":");
    let params_at = out.len();
    message.write_params(out)?;
    if &out[params_at..] == b"null" {
        out.truncate(mark);
    }
    Ok(())
}

/// `{"jsonrpc":"2.0","id":<id>,"method":<method>,"params":<params>}`
pub(crate) fn request_frame<M: JsonRpcMessage>(
    id: &RequestId,
    message: &M,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(FRAME_CAPACITY_HINT);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(&mut out);
    out.extend_from_slice(b",\"method\":");
    write_json_str(&mut out, message.method());
    write_params(&mut out, message)?;
    out.push(b'}');
    Ok(out)
}

/// `{"jsonrpc":"2.0","method":<method>,"params":<params>}`
pub(crate) fn notification_frame<M: JsonRpcMessage>(message: &M) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(FRAME_CAPACITY_HINT);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    write_json_str(&mut out, message.method());
    write_params(&mut out, message)?;
    out.push(b'}');
    Ok(out)
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}`
pub(crate) fn result_frame<T: JsonRpcResponse>(
    id: &RequestId,
    result: &T,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(FRAME_CAPACITY_HINT);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(&mut out);
    out.extend_from_slice(b",\"result\":");
    result.write_result(&mut out)?;
    out.push(b'}');
    Ok(out)
}

/// `{"jsonrpc":"2.0","id":<id>,"error":{"code":..,"message":..,"data":..}}`
pub(crate) fn error_frame(id: &RequestId, error: &Error) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_CAPACITY_HINT);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(&mut out);
    out.extend_from_slice(b",\"error\":");
    // An Error is a code, a string and a serde_json::Value: all serialize without failure.
    let _ = serde_json::to_writer(&mut out, error);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RawJson, UntypedMessage};

    fn text(frame: Vec<u8>) -> String {
        String::from_utf8(frame).unwrap()
    }

    #[test]
    fn frames_have_the_exact_json_rpc_shape() {
        let message = UntypedMessage::new("a\"b", serde_json::json!({"x": 1})).unwrap();
        assert_eq!(
            text(request_frame(&RequestId::Int(3), &message).unwrap()),
            r#"{"jsonrpc":"2.0","id":3,"method":"a\"b","params":{"x":1}}"#
        );
        assert_eq!(
            text(notification_frame(&message).unwrap()),
            r#"{"jsonrpc":"2.0","method":"a\"b","params":{"x":1}}"#
        );
        assert_eq!(
            text(result_frame(&RequestId::Str("q".into()), &serde_json::json!(null)).unwrap()),
            r#"{"jsonrpc":"2.0","id":"q","result":null}"#
        );
        assert_eq!(
            text(error_frame(&RequestId::Null, &Error::new(-1, "m"))),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#
        );
    }

    #[test]
    fn null_params_are_left_out() {
        let message = UntypedMessage::from_raw("ping".into(), None);
        assert_eq!(
            text(request_frame(&RequestId::Int(1), &message).unwrap()),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
        );
    }

    #[test]
    fn pretty_printed_raw_params_stay_on_one_line() {
        let params =
            RawJson::from_string("{\n  \"a\": \"x\\ny\",\r\n  \"b\": [1,\n2]\n}".into()).unwrap();
        let message = UntypedMessage::from_raw("m".into(), Some(params));
        let frame = notification_frame(&message).unwrap();
        assert!(!frame.contains(&b'\n') && !frame.contains(&b'\r'));
        let value: serde_json::Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(
            value["params"],
            serde_json::json!({"a": "x\ny", "b": [1, 2]})
        );

        let result = RawJson::from_string("[\n1\n]".into()).unwrap();
        let frame = result_frame(&RequestId::from(1u64), &result).unwrap();
        assert_eq!(frame, br#"{"jsonrpc":"2.0","id":1,"result":[ 1 ]}"#);
    }
}
