//! Forwarding a streamed request: the request goes on as a stream of the next hop's
//! convention, its items come back one way and the caller's credits go on the other.
//!
//! The forwarder asks the next hop for the window its caller asked of it, and, where both
//! sides have credits, grants the next hop exactly what its caller grants it: the producer at
//! the far end is then never more than the caller's window ahead of the caller, through any
//! number of forwarders. Where the caller side has no credits, the forwarder grants the next
//! hop one credit per item it has passed on (and passing on waits for room in the caller's
//! outgoing queue: transport backpressure). Where the next hop has none, its items wait in the
//! forwarder's buffer, and a full buffer stops that connection reading.
//!
//! A request sent back on the connection it came from is not relayed: its stream's
//! notifications cross like any other, as they do through the conductor.
//!
//! A cancellation from the caller (its convention's cancellation, or the stop notification)
//! ends the relay: the stream to the next hop is dropped, which cancels it there, and the
//! caller's request is answered -32800 (or not at all, where its convention says no answer
//! follows a cancellation).

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use crate::message::{RawJson, UntypedMessage};
use crate::stream::caller::{ItemStream, RawElement};
use crate::stream::{ItemSink, RELAY_WINDOW};
use crate::{ConnectionTo, Error, Responder, Role};

/// Forwards `request` on `to` as a stream if its caller asked for one; gives the responder
/// back if not.
pub(crate) fn relay<Cp: Role>(
    to: &ConnectionTo<Cp>,
    request: &UntypedMessage,
    responder: Responder<RawJson>,
) -> Result<Result<(), Error>, Responder<RawJson>> {
    let from = match responder.shared() {
        // Sent back on the connection it came from (an ACP proxy passes a request from one of
        // its peers to the other through the conductor): the items and credits then travel
        // as the other notifications do, wrapped and unwrapped with them, and no relay is
        // needed.
        Some(from) if !Arc::ptr_eq(from, &to.shared) => from,
        _ => return Err(responder),
    };
    // Asked before the connection is cloned: nearly every forwarded request is no stream.
    let Some((token, window)) = from.streaming.request_of(request.params()) else {
        return Err(responder);
    };
    let from = Arc::clone(from);
    let sink = match ItemSink::<RawJson>::open(&from, responder.id().clone(), Some((token, window)))
    {
        Ok(sink) => sink,
        Err(error) => return Ok(responder.respond_with_error(error)),
    };
    let params = from.streaming.unmark_request(request.params());
    let onward = UntypedMessage::from_raw(request.method().to_owned(), params);
    let credits_relayed = from.streaming.has_credits();
    let window = match credits_relayed {
        true => u32::try_from(window).unwrap_or(u32::MAX),
        false => RELAY_WINDOW,
    };
    let stream = match super::caller::send::<_, Cp>(&to.shared, &onward, window, !credits_relayed) {
        Ok(open) => ItemStream::<RawJson, RawJson>::open(open),
        Err(error) => {
            let answer = responder.respond_with_error(error.clone());
            return Ok(answer.and(Err(error)));
        }
    };
    if credits_relayed {
        if let Some(onward_token) = stream.token().cloned() {
            let next_hop = Arc::downgrade(&to.shared);
            sink.on_credit(Box::new(move |amount| {
                if let Some(shared) = next_hop.upgrade() {
                    super::caller::send_credit(&shared, &onward_token, Some(amount));
                }
            }));
        }
    }
    from.tasks.spawn(pump(stream, sink, responder));
    Ok(Ok(()))
}

/// Passes the next hop's items on to the caller, then its answer; stops at a cancellation.
async fn pump(
    mut stream: ItemStream<RawJson, RawJson>,
    mut sink: ItemSink<RawJson>,
    responder: Responder<RawJson>,
) -> Result<(), Error> {
    let mut cancelled = pin!(responder.cancelled());
    loop {
        let next = poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            stream.poll_raw(cx)
        })
        .await;
        match next {
            Some(RawElement::Item(item)) => {
                if sink.send_raw(&item).await.is_err() {
                    // Cancelled, or the caller is gone: dropping the stream cancels onward,
                    // and the dropped responder answers as its convention wants.
                    return Ok(());
                }
            }
            Some(RawElement::Answer(answer)) => return responder.respond_with_result(answer),
            None => return Ok(()),
        }
    }
}
