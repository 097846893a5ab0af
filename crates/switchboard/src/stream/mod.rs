//! Streams: a request answered by a stream of items and then its answer, with a credit window
//! the caller holds.
//!
//! - Caller: [`ConnectionTo::send_streaming_request`](crate::ConnectionTo::send_streaming_request)
//!   returns an [`ItemStream`], a `futures::Stream` of [`Streamed::Item`]s followed by
//!   [`Streamed::Answer`]. Taking items grants credits; dropping the stream cancels the request.
//! - Responder: [`Builder::on_receive_streaming_request`](crate::Builder::on_receive_streaming_request)
//!   gives the handler an [`ItemSink`] whose `send` waits for credit, and the
//!   [`Responder`](crate::Responder) for the final answer.
//! - Wire: the protocol's [`Streaming`] convention, declared by its role like its
//!   cancellation: Switchboard's own with credits ([`Streaming::SWITCHBOARD`], the default),
//!   LSP's partial results, MCP's progress notifications.
//! - Forwarding: [`send_proxied_message`](crate::ConnectionTo::send_proxied_message) passes a
//!   streamed request on as a stream, relaying items one way and credits the other.
//!
//! The window holds by construction. Under credits the responder sends one item per credit:
//! `window` at first, and one more for each item the caller has taken, so it is never more
//! than `window` items ahead of the consumer. Without credits (LSP has none) the caller's
//! buffer still holds at most `window` items: one more and this connection stops reading until
//! the consumer takes one, and the peer is then held by the transport (its writes block). That
//! also holds up every other message on the connection while the consumer dawdles: the price
//! of a protocol without flow control.
//!
//! Order: items are routed into their stream's buffer by the incoming actor as they arrive,
//! before any handler, and the answer after them, so every item the responder sent before its
//! answer is read before the answer. A stream whose connection closes yields what it had
//! buffered and then the connection-closed error.

mod caller;
mod convention;
mod handler;
pub(crate) mod registry;
mod relay;
mod sink;

pub use caller::{ItemStream, Streamed};
pub use convention::Streaming;
pub use handler::StreamingRequestHandler;
pub use sink::ItemSink;

pub(crate) use registry::{Streams, route};
pub(crate) use relay::relay;

use crate::wire::encode::write_json_str;

/// The window a forwarder asks of the next hop when its own caller gave none (a convention
/// without credits): the most items it buffers for that stream.
pub const RELAY_WINDOW: u32 = 64;

/// `{"jsonrpc":"2.0","method":<method>,"params":<params>}`, params already JSON.
fn notice_frame(out: &mut Vec<u8>, method: &str, params: &[u8]) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    write_json_str(out, method);
    out.extend_from_slice(b",\"params\":");
    out.extend_from_slice(params);
    out.push(b'}');
}
