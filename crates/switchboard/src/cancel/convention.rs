//! A protocol's cancel convention: which notification withdraws a request, and whether an
//! answer still follows it.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::message::{RawJson, RequestId};

/// How a protocol cancels a request on the wire, declared by its roles
/// ([`Role::cancellation`](crate::Role::cancellation)) or set on one connection
/// ([`Builder::cancellation`](crate::Builder::cancellation)).
///
/// A convention is a notification whose params name the request to withdraw
/// (`{"requestId": 7}` unless [`id_field`](Self::id_field) says otherwise), optionally with a
/// reason, and a rule on whether the withdrawn request is still answered. [`Cancellation::NONE`]
/// (the default for [`UntypedRole`](crate::UntypedRole)) has no notification: a dropped
/// [`SentRequest`](crate::SentRequest) is only forgotten, and no incoming notification is
/// taken for a cancellation.
///
/// With a convention, the connection does the protocol's part itself:
/// - a [`SentRequest`](crate::SentRequest) that is cancelled, dropped unconsumed or times out
///   sends the notification, and drops the answer if one still comes;
/// - an incoming notification of that method is taken before any handler and marks the request
///   it names: its [`Responder`](crate::Responder) sees [`is_cancelled`](crate::Responder::is_cancelled)
///   and [`cancelled`](crate::Responder::cancelled); one dropped unanswered answers -32800;
/// - under [`no_answer_follows`](Self::no_answer_follows), nothing at all is sent for a
///   cancelled request, whatever its handler does;
/// - a forwarded request ([`SentRequest::forward_response_to`](crate::SentRequest::forward_response_to))
///   is withdrawn from the next hop in the next hop's convention, so a forwarder between two
///   protocols translates without code of its own.
///
/// Protocol crates declare theirs as constants:
///
/// ```
/// use switchboard::cancel::Cancellation;
///
/// /// The Language Server Protocol's: `$/cancelRequest {"id": …}`, answered -32800.
/// const LSP: Cancellation = Cancellation::notification("$/cancelRequest").id_field("id");
/// /// The Model Context Protocol's: `notifications/cancelled {"requestId": …, "reason": …}`,
/// /// and no answer follows.
/// const MCP: Cancellation = Cancellation::notification("notifications/cancelled")
///     .reason_field("reason")
///     .no_answer_follows();
///
/// assert_eq!(LSP.method(), Some("$/cancelRequest"));
/// assert!(LSP.answer_follows() && !MCP.answer_follows());
/// assert_eq!(Cancellation::NONE.method(), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cancellation {
    notice: Option<Notice>,
}

/// The notification of a convention that has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Notice {
    method: &'static str,
    id_field: &'static str,
    reason_field: Option<&'static str>,
    answer_follows: bool,
}

impl Cancellation {
    /// No cancellation on the wire.
    pub const NONE: Cancellation = Cancellation { notice: None };

    /// Cancels with the notification `method`, params `{"requestId": id}`; the cancelled
    /// request is still answered (usually -32800).
    pub const fn notification(method: &'static str) -> Cancellation {
        Cancellation {
            notice: Some(Notice {
                method,
                id_field: "requestId",
                reason_field: None,
                answer_follows: true,
            }),
        }
    }

    /// Names the request in the params field `field` instead of `requestId`.
    pub const fn id_field(self, field: &'static str) -> Cancellation {
        match self.notice {
            Some(notice) => Cancellation {
                notice: Some(Notice {
                    id_field: field,
                    ..notice
                }),
            },
            None => self,
        }
    }

    /// Says why, as text in the params field `field`, on the cancellations this side sends.
    pub const fn reason_field(self, field: &'static str) -> Cancellation {
        match self.notice {
            Some(notice) => Cancellation {
                notice: Some(Notice {
                    reason_field: Some(field),
                    ..notice
                }),
            },
            None => self,
        }
    }

    /// A cancelled request is never answered: its responder sends nothing, and a forwarder
    /// answers its own caller at once rather than waiting for the next hop.
    pub const fn no_answer_follows(self) -> Cancellation {
        match self.notice {
            Some(notice) => Cancellation {
                notice: Some(Notice {
                    answer_follows: false,
                    ..notice
                }),
            },
            None => self,
        }
    }

    /// The notification's method; `None` for [`Cancellation::NONE`].
    pub const fn method(&self) -> Option<&'static str> {
        match self.notice {
            Some(notice) => Some(notice.method),
            None => None,
        }
    }

    /// Whether a cancelled request is still answered. True for [`Cancellation::NONE`]: a peer
    /// that cannot be told to stop answers in the end.
    pub const fn answer_follows(&self) -> bool {
        match self.notice {
            Some(notice) => notice.answer_follows,
            None => true,
        }
    }

    /// Whether an incoming notification of `method` is this convention's cancellation.
    pub(crate) fn is_cancellation(&self, method: &str) -> bool {
        self.notice.is_some_and(|notice| notice.method == method)
    }

    /// The request a cancellation names, if its params name one.
    pub(crate) fn cancelled_id(&self, params: Option<&RawJson>) -> Option<RequestId> {
        let notice = self.notice?;
        let mut fields: serde_json::Map<String, serde_json::Value> = params?.parse().ok()?;
        let id = fields.remove(notice.id_field)?;
        serde_json::from_value(id).ok()
    }

    /// The params withdrawing request `id`, `why` in the reason field if there is one; `None`
    /// when the convention sends nothing.
    pub(crate) fn params<'a>(&self, id: &'a RequestId, why: &'a str) -> Option<CancelParams<'a>> {
        self.notice.map(|notice| CancelParams { notice, id, why })
    }
}

impl Default for Cancellation {
    /// [`Cancellation::NONE`].
    fn default() -> Self {
        Cancellation::NONE
    }
}

impl fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.notice {
            None => f.write_str("Cancellation::NONE"),
            Some(notice) => notice.fmt(f),
        }
    }
}

/// The params of one outgoing cancellation, written field by field.
pub(crate) struct CancelParams<'a> {
    notice: Notice,
    id: &'a RequestId,
    why: &'a str,
}

impl CancelParams<'_> {
    /// The notification's method.
    pub(crate) fn method(&self) -> &'static str {
        self.notice.method
    }
}

impl Serialize for CancelParams<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.notice.id_field, self.id)?;
        if let Some(field) = self.notice.reason_field {
            map.serialize_entry(field, self.why)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LSP_LIKE: Cancellation = Cancellation::notification("stop").id_field("id");
    const SILENT: Cancellation = Cancellation::notification("cancelled")
        .reason_field("reason")
        .no_answer_follows();

    fn raw(json: &str) -> RawJson {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_id_is_read_from_the_conventions_field_and_nowhere_else() {
        let params = raw(r#"{"id": 4, "requestId": 9}"#);
        assert_eq!(
            LSP_LIKE.cancelled_id(Some(&params)),
            Some(RequestId::Int(4))
        );
        assert_eq!(SILENT.cancelled_id(Some(&params)), Some(RequestId::Int(9)));
        assert_eq!(
            LSP_LIKE.cancelled_id(Some(&raw(r#"{"requestId": 4}"#))),
            None
        );
        assert_eq!(LSP_LIKE.cancelled_id(Some(&raw("[4]"))), None);
        assert_eq!(LSP_LIKE.cancelled_id(Some(&raw(r#"{"id": [4]}"#))), None);
        assert_eq!(LSP_LIKE.cancelled_id(None), None);
        assert_eq!(Cancellation::NONE.cancelled_id(Some(&params)), None);
    }

    #[test]
    fn params_carry_the_reason_only_where_the_convention_has_a_field_for_it() {
        let id = RequestId::Str("a".into());
        let written = |convention: Cancellation| {
            convention
                .params(&id, "timed out")
                .map(|params| serde_json::to_string(&params).unwrap())
        };
        assert_eq!(written(LSP_LIKE).as_deref(), Some(r#"{"id":"a"}"#));
        assert_eq!(
            written(SILENT).as_deref(),
            Some(r#"{"requestId":"a","reason":"timed out"}"#)
        );
        assert_eq!(written(Cancellation::NONE), None);
    }

    #[test]
    fn only_the_conventions_method_is_a_cancellation() {
        assert!(LSP_LIKE.is_cancellation("stop"));
        assert!(!LSP_LIKE.is_cancellation("cancelled"));
        assert!(!Cancellation::NONE.is_cancellation(""));
        assert!(Cancellation::NONE.answer_follows());
        assert_eq!(Cancellation::default(), Cancellation::NONE);
    }
}
