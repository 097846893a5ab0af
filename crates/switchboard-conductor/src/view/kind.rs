//! What a message is (request, notification, cancel, answer, error) and the label the
//! pictures write on its arrow.

use serde_json::Value;

/// The methods that cancel something: ACP's request cancel and its session cancel.
const CANCEL_METHODS: [&str; 2] = ["$/cancel_request", "session/cancel"];

/// The envelope a proxy and the conductor wrap the successor's messages in (its inner method
/// is shown too, since that is what the message is about).
const ENVELOPE_METHOD: &str = "proxy/successor";

/// What kind of message an arrow is; the pictures draw each kind its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A request (it has a method and an id).
    Request,
    /// A notification (a method, no id).
    Notification,
    /// A request or notification that cancels something (`$/cancel_request`,
    /// `session/cancel`), also inside a `proxy/successor` envelope.
    Cancel,
    /// A successful answer.
    Result,
    /// An error answer.
    Error,
    /// A frame that is not a JSON-RPC message (not JSON, or JSON of another shape).
    Other,
}

impl Kind {
    /// The mark both pictures put before the label of the kinds that must stand out.
    pub fn glyph(self) -> Option<&'static str> {
        match self {
            Kind::Cancel => Some("✕"),
            Kind::Error => Some("!"),
            _ => None,
        }
    }

    /// The name the page's CSS and a reader use for it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Notification => "notification",
            Kind::Cancel => "cancel",
            Kind::Result => "result",
            Kind::Error => "error",
            Kind::Other => "other",
        }
    }
}

/// What a message is, and its label.
pub(crate) fn describe(message: &Value) -> (Kind, String) {
    let Some(object) = message.as_object() else {
        return (Kind::Other, "(not JSON-RPC)".to_owned());
    };
    let id = object.get("id").map(|id| format!(" #{id}"));
    if let Some(method) = object.get("method").and_then(Value::as_str) {
        let inner = (method == ENVELOPE_METHOD)
            .then(|| message.pointer("/params/method").and_then(Value::as_str))
            .flatten();
        let what = inner.unwrap_or(method);
        let cancelled = CANCEL_METHODS.contains(&what);
        let mut label = match inner {
            Some(inner) => format!("{method} ▸ {inner}"),
            None => method.to_owned(),
        };
        label.push_str(id.as_deref().unwrap_or(""));
        let params = if inner.is_some() {
            "/params/params"
        } else {
            "/params"
        };
        if let Some(target) = message.pointer(&format!("{params}/requestId")) {
            label.push_str(&format!(" (cancels #{target})"));
        }
        let kind = match (cancelled, id.is_some()) {
            (true, _) => Kind::Cancel,
            (false, true) => Kind::Request,
            (false, false) => Kind::Notification,
        };
        return (kind, label);
    }
    let id = id.unwrap_or_else(|| " #?".to_owned());
    if let Some(error) = object.get("error") {
        let code = error.get("code").map(Value::to_string).unwrap_or_default();
        return (
            Kind::Error,
            format!("{} error {code}", id.trim_start())
                .trim_end()
                .to_owned(),
        );
    }
    if object.contains_key("result") {
        return (Kind::Result, format!("{} result", id.trim_start()));
    }
    (Kind::Other, "(not JSON-RPC)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(json: &str) -> (Kind, String) {
        describe(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn an_envelope_is_labelled_and_classed_by_what_it_carries() {
        assert_eq!(
            described(
                r#"{"method":"proxy/successor","id":7,"params":{"method":"session/prompt"}}"#
            ),
            (
                Kind::Request,
                "proxy/successor ▸ session/prompt #7".to_owned()
            )
        );
        assert_eq!(
            described(
                r#"{"method":"proxy/successor","params":{"method":"$/cancel_request","params":{"requestId":"a"}}}"#
            ),
            (
                Kind::Cancel,
                r#"proxy/successor ▸ $/cancel_request (cancels #"a")"#.to_owned()
            )
        );
        assert_eq!(
            described(r#"{"id":1,"error":{}}"#),
            (Kind::Error, "#1 error".to_owned())
        );
        assert_eq!(
            described(r#"{"result":1}"#),
            (Kind::Result, "#? result".to_owned())
        );
    }
}
