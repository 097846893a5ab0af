//! A protocol's stream convention: where a request says "answer me with a stream", which
//! notification carries each item, and whether (and how) the caller grants credits.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::Error;
use crate::message::{RawJson, RequestId};
use crate::wire::encode::write_json_str;

/// How a protocol streams the results of a request, declared by its roles
/// ([`Role::streaming`](crate::Role::streaming)) or set on one connection
/// ([`Builder::streaming`](crate::Builder::streaming)); see the [`stream`](crate::stream)
/// module for what the connection does with it.
///
/// A convention says where the caller puts its *token* in the request's params, which
/// notification carries one item (the token and the item in fields of its params), and, if
/// the protocol has them, how the caller grants *credits*: the initial window in the request,
/// a notification granting more, and a notification stopping the stream. A convention without
/// credits holds the window on the caller's side only (see the module's docs).
///
/// Protocol crates declare theirs as constants, the way they declare their
/// [`Cancellation`](crate::cancel::Cancellation):
///
/// ```
/// use switchboard::stream::Streaming;
///
/// /// The Language Server Protocol's partial results: `partialResultToken` in the request,
/// /// `$/progress {"token": …, "value": …}` for each batch of results, no credits.
/// const LSP: Streaming = Streaming::items("$/progress")
///     .request_token("partialResultToken")
///     .item_value("value");
///
/// assert_eq!(LSP.item_method(), Some("$/progress"));
/// assert!(!LSP.has_credits());
/// assert!(Streaming::SWITCHBOARD.has_credits());
/// assert_eq!(Streaming::NONE.item_method(), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Streaming {
    spec: Option<Spec>,
}

/// A params field, at the top level or inside an object field (MCP's `_meta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Place {
    parent: Option<&'static str>,
    field: &'static str,
}

/// The notifications of a convention that has credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Credits {
    /// The request's field with the initial window, beside the token.
    window_field: &'static str,
    /// Caller → responder: `{<item token field>: token, <amount_field>: n}`.
    grant_method: &'static str,
    amount_field: &'static str,
    /// Caller → responder: `{<item token field>: token}`, the stream is not wanted any more.
    stop_method: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Spec {
    request_token: Place,
    item_method: &'static str,
    item_token: &'static str,
    item_value: Place,
    /// A field counting the items sent so far (1, 2, …): MCP's `progress` must increase.
    item_counter: Option<&'static str>,
    credits: Option<Credits>,
}

impl Streaming {
    /// No streams on the wire: streamed requests are refused, no notification is taken for
    /// an item.
    pub const NONE: Streaming = Streaming { spec: None };

    /// Switchboard's own convention, for peers whose protocol has none (the default of every
    /// role): the request carries `"streamToken"` and `"streamWindow"`, each item comes as
    /// `switchboard/stream/item {"token", "item"}`, the caller grants credits with
    /// `switchboard/stream/credit {"token", "credits"}` and stops the stream with
    /// `switchboard/stream/cancel {"token"}`. The book's wire chapter specifies it.
    pub const SWITCHBOARD: Streaming = Streaming::items("switchboard/stream/item").credits(
        "streamWindow",
        "switchboard/stream/credit",
        "credits",
        "switchboard/stream/cancel",
    );

    /// Streams items with the notification `method`, params `{"token": …, "item": …}`; the
    /// request carries its token in `"streamToken"`; no credits.
    pub const fn items(method: &'static str) -> Streaming {
        Streaming {
            spec: Some(Spec {
                request_token: Place {
                    parent: None,
                    field: "streamToken",
                },
                item_method: method,
                item_token: "token",
                item_value: Place {
                    parent: None,
                    field: "item",
                },
                item_counter: None,
                credits: None,
            }),
        }
    }

    /// The request carries its token in the params field `field`.
    pub const fn request_token(self, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    request_token: Place {
                        parent: None,
                        field,
                    },
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// The request carries its token in the field `field` of the object field `parent`
    /// (MCP: `_meta.progressToken`); a credit window goes beside it.
    pub const fn request_token_in(self, parent: &'static str, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    request_token: Place {
                        parent: Some(parent),
                        field,
                    },
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// Item (and credit) notifications name the stream in the field `field`.
    pub const fn item_token(self, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    item_token: field,
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// An item notification carries the item in the field `field`.
    pub const fn item_value(self, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    item_value: Place {
                        parent: None,
                        field,
                    },
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// An item notification carries the item in the field `field` of the object field
    /// `parent`.
    pub const fn item_value_in(self, parent: &'static str, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    item_value: Place {
                        parent: Some(parent),
                        field,
                    },
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// Item notifications also carry, in `field`, how many items have been sent so far,
    /// this one included (1, 2, …).
    pub const fn item_counter(self, field: &'static str) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    item_counter: Some(field),
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// The caller grants credits: the initial window in the request's `window_field` (beside
    /// the token), more with `grant_method {<token>, <amount_field>: n}`, and it stops the
    /// stream with `stop_method {<token>}`. A responder sends one item per credit.
    pub const fn credits(
        self,
        window_field: &'static str,
        grant_method: &'static str,
        amount_field: &'static str,
        stop_method: &'static str,
    ) -> Streaming {
        match self.spec {
            Some(spec) => Streaming {
                spec: Some(Spec {
                    credits: Some(Credits {
                        window_field,
                        grant_method,
                        amount_field,
                        stop_method,
                    }),
                    ..spec
                }),
            },
            None => self,
        }
    }

    /// The item notification's method; `None` for [`Streaming::NONE`].
    pub const fn item_method(&self) -> Option<&'static str> {
        match self.spec {
            Some(spec) => Some(spec.item_method),
            None => None,
        }
    }

    /// Whether the caller grants credits (the responder waits for them).
    pub const fn has_credits(&self) -> bool {
        matches!(
            self.spec,
            Some(Spec {
                credits: Some(_),
                ..
            })
        )
    }

    fn spec(&self) -> Result<Spec, Error> {
        self.spec
            .ok_or_else(|| Error::invalid_request("this connection has no stream convention"))
    }

    /// What an incoming notification of `method` is to the streams of this connection.
    pub(crate) fn kind_of(&self, method: &str) -> Option<NoticeKind> {
        let spec = self.spec?;
        if spec.item_method == method {
            return Some(NoticeKind::Item);
        }
        let credits = spec.credits?;
        if credits.grant_method == method {
            Some(NoticeKind::Credit)
        } else if credits.stop_method == method {
            Some(NoticeKind::Stop)
        } else {
            None
        }
    }

    /// Writes `token` (and `window`, under credits) into a request's params, which must be
    /// an object or absent.
    pub(crate) fn mark_request(
        &self,
        params: &[u8],
        token: &RequestId,
        window: u64,
    ) -> Result<RawJson, Error> {
        let spec = self.spec()?;
        let mut object = object_of(params)?;
        let target = match spec.request_token.parent {
            None => &mut object,
            Some(parent) => {
                let entry = object
                    .entry(parent)
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                match entry {
                    serde_json::Value::Object(inner) => inner,
                    _ => {
                        return Err(Error::invalid_params(format_args!(
                            "the request's {parent} is not an object"
                        )));
                    }
                }
            }
        };
        target.insert(spec.request_token.field.into(), to_value(token)?);
        if let Some(credits) = spec.credits {
            target.insert(credits.window_field.into(), window.into());
        }
        RawJson::from_serialize(&object)
    }

    /// The request's params without the token (and window) this convention put there: what a
    /// forwarder sends on, marked again in the next hop's convention.
    pub(crate) fn unmark_request(&self, params: Option<&RawJson>) -> Option<RawJson> {
        let (Some(spec), Some(raw)) = (self.spec, params) else {
            return params.cloned();
        };
        let Ok(serde_json::Value::Object(mut object)) = raw.to_value() else {
            return params.cloned();
        };
        let target = match spec.request_token.parent {
            None => Some(&mut object),
            Some(parent) => match object.get_mut(parent) {
                Some(serde_json::Value::Object(inner)) => Some(inner),
                _ => None,
            },
        };
        if let Some(target) = target {
            target.remove(spec.request_token.field);
            if let Some(credits) = spec.credits {
                target.remove(credits.window_field);
            }
        }
        if let Some(parent) = spec.request_token.parent {
            let emptied = matches!(object.get(parent), Some(serde_json::Value::Object(inner)) if inner.is_empty());
            if emptied {
                object.remove(parent);
            }
        }
        RawJson::from_serialize(&object).ok()
    }

    /// The token (and the window, under credits) an incoming request carries; `None` when it
    /// asks for no stream.
    pub(crate) fn request_of(&self, params: Option<&RawJson>) -> Option<(RequestId, u64)> {
        let spec = self.spec?;
        let params = params?;
        // Cheap refusal first: most requests name no token at all.
        if !params.get().contains(spec.request_token.field) {
            return None;
        }
        let fields = fields_at(params.get(), spec.request_token.parent)?;
        let token = read_field::<RequestId>(&fields, spec.request_token.field)?;
        let window = match spec.credits {
            // A request without a window may send one item, and then waits for grants.
            Some(credits) => read_field::<u64>(&fields, credits.window_field)
                .unwrap_or(1)
                .max(1),
            None => u64::MAX,
        };
        Some((token, window))
    }

    /// The token and raw item of an item notification. Read once per item, so its fields are
    /// borrowed from the params rather than copied.
    pub(crate) fn item_of(&self, params: Option<&RawJson>) -> Option<(RequestId, RawJson)> {
        let spec = self.spec?;
        let top: Borrowed<'_> = serde_json::from_str(params?.get()).ok()?;
        let token = serde_json::from_str(top.get(spec.item_token)?.get()).ok()?;
        let value: &RawValue = match spec.item_value.parent {
            None => top.get(spec.item_value.field)?,
            Some(parent) => {
                let inner: Borrowed<'_> = serde_json::from_str(top.get(parent)?.get()).ok()?;
                inner.get(spec.item_value.field).copied()?
            }
        };
        Some((token, RawJson::from_boxed(value.to_owned())))
    }

    /// The token and amount of a credit grant (amount 0 for a stop).
    pub(crate) fn credit_of(&self, params: Option<&RawJson>) -> Option<(RequestId, u64)> {
        let spec = self.spec?;
        let credits = spec.credits?;
        let top = fields_at(params?.get(), None)?;
        let token = read_field::<RequestId>(&top, spec.item_token)?;
        Some((
            token,
            read_field::<u64>(&top, credits.amount_field).unwrap_or(0),
        ))
    }

    /// Writes the whole notification of item number `count` (from 1), the item written by
    /// `write_value`, straight into `out`: no copy of the item on the way.
    pub(crate) fn write_item(
        &self,
        out: &mut Vec<u8>,
        token: &RequestId,
        count: u64,
        write_value: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let spec = self.spec()?;
        out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
        write_json_str(out, spec.item_method);
        out.extend_from_slice(b",\"params\":{");
        write_json_str(out, spec.item_token);
        out.push(b':');
        token.write_json(out);
        if let Some(counter) = spec.item_counter {
            out.push(b',');
            write_json_str(out, counter);
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
        }
        out.push(b',');
        if let Some(parent) = spec.item_value.parent {
            write_json_str(out, parent);
            out.extend_from_slice(b":{");
        }
        write_json_str(out, spec.item_value.field);
        out.push(b':');
        write_value(out)?;
        if spec.item_value.parent.is_some() {
            out.push(b'}');
        }
        out.extend_from_slice(b"}}");
        Ok(())
    }

    /// The method and params granting `amount` credits (a stop, when `amount` is `None`);
    /// `None` when the convention has no credits.
    pub(crate) fn write_credit(
        &self,
        out: &mut Vec<u8>,
        token: &RequestId,
        amount: Option<u64>,
    ) -> Option<&'static str> {
        let spec = self.spec?;
        let credits = spec.credits?;
        out.push(b'{');
        write_json_str(out, spec.item_token);
        out.push(b':');
        token.write_json(out);
        if let Some(amount) = amount {
            out.push(b',');
            write_json_str(out, credits.amount_field);
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(amount).as_bytes());
        }
        out.push(b'}');
        Some(match amount {
            Some(_) => credits.grant_method,
            None => credits.stop_method,
        })
    }
}

/// What a stream notification does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// Responder → caller: one item.
    Item,
    /// Caller → responder: more credits.
    Credit,
    /// Caller → responder: stop.
    Stop,
}

type Fields = std::collections::HashMap<String, Box<RawValue>>;

/// An object's members, borrowed from its text (a member whose name has escapes does not
/// read, and the message is then not taken for an item).
type Borrowed<'a> = std::collections::BTreeMap<&'a str, &'a RawValue>;

fn fields_at(json: &str, parent: Option<&str>) -> Option<Fields> {
    let top: Fields = serde_json::from_str(json).ok()?;
    match parent {
        None => Some(top),
        Some(parent) => serde_json::from_str(top.get(parent)?.get()).ok(),
    }
}

fn read_field<T: DeserializeOwned>(fields: &Fields, field: &str) -> Option<T> {
    serde_json::from_str(fields.get(field)?.get()).ok()
}

fn object_of(params: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    if params.is_empty() || params == b"null" {
        return Ok(Default::default());
    }
    match serde_json::from_slice(params) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        _ => Err(Error::invalid_params(
            "a streamed request's params must be an object, to carry its token",
        )),
    }
}

fn to_value(token: &RequestId) -> Result<serde_json::Value, Error> {
    serde_json::to_value(token).map_err(|error| Error::internal_error(error.to_string()))
}

impl Default for Streaming {
    /// [`Streaming::SWITCHBOARD`].
    fn default() -> Self {
        Streaming::SWITCHBOARD
    }
}

impl fmt::Debug for Streaming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.spec {
            None => f.write_str("Streaming::NONE"),
            Some(spec) => spec.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MCP_LIKE: Streaming = Streaming::items("progress")
        .request_token_in("_meta", "progressToken")
        .item_token("progressToken")
        .item_counter("progress")
        .item_value_in("_meta", "x/item");

    #[test]
    fn a_request_is_marked_where_the_convention_says_and_read_back() {
        let token = RequestId::Int(7);
        let marked = Streaming::SWITCHBOARD
            .mark_request(br#"{"q":1}"#, &token, 16)
            .unwrap();
        assert_eq!(
            marked.to_value().unwrap(),
            serde_json::json!({"q": 1, "streamToken": 7, "streamWindow": 16})
        );
        assert_eq!(
            Streaming::SWITCHBOARD.request_of(Some(&marked)),
            Some((token.clone(), 16))
        );
        let nested = MCP_LIKE.mark_request(b"null", &token, 16).unwrap();
        assert_eq!(
            nested.to_value().unwrap(),
            serde_json::json!({"_meta": {"progressToken": 7}})
        );
        assert_eq!(MCP_LIKE.request_of(Some(&nested)), Some((token, u64::MAX)));
        assert!(
            Streaming::SWITCHBOARD
                .mark_request(b"[1]", &RequestId::Int(1), 1)
                .is_err()
        );
    }

    #[test]
    fn an_item_round_trips_through_its_notification() {
        for convention in [Streaming::SWITCHBOARD, MCP_LIKE] {
            let mut out = Vec::new();
            convention
                .write_item(&mut out, &RequestId::Str("t".into()), 3, |out| {
                    out.extend_from_slice(br#"{"n":1}"#);
                    Ok(())
                })
                .unwrap();
            let frame: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let method = frame["method"].as_str().unwrap();
            assert_eq!(convention.kind_of(method), Some(NoticeKind::Item));
            let params = RawJson::from_serialize(&frame["params"]).unwrap();
            let (token, item) = convention.item_of(Some(&params)).unwrap();
            assert_eq!(token, RequestId::Str("t".into()));
            assert_eq!(item.get(), r#"{"n":1}"#);
        }
    }

    #[test]
    fn credits_exist_only_where_the_convention_has_them() {
        let mut out = Vec::new();
        let method = Streaming::SWITCHBOARD
            .write_credit(&mut out, &RequestId::Int(2), Some(5))
            .unwrap();
        assert_eq!(
            Streaming::SWITCHBOARD.kind_of(method),
            Some(NoticeKind::Credit)
        );
        let params = RawJson::from_string(String::from_utf8(out).unwrap()).unwrap();
        assert_eq!(
            Streaming::SWITCHBOARD.credit_of(Some(&params)),
            Some((RequestId::Int(2), 5))
        );
        assert_eq!(
            MCP_LIKE.write_credit(&mut Vec::new(), &RequestId::Int(2), None),
            None
        );
        assert_eq!(Streaming::NONE.kind_of("switchboard/stream/item"), None);
    }
}
