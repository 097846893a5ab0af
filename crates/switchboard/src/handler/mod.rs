//! Handlers: what a connection does with each incoming message.
//!
//! A builder chains handlers in registration order. Each is offered the message and either
//! claims it ([`Handled::Yes`]) or passes it on ([`Handled::No`]), possibly changed. What no
//! handler claims goes to the role's [`default_dispatch`](crate::Role::default_dispatch):
//! -32601 for a request, a log line for a notification.
//!
//! The chain is one nested type (`Chain<Chain<A, B>, C>`), not a list of boxes: offering a
//! message to a handler that does not want it costs one method-name comparison.

mod typed;

pub(crate) use typed::is_request_of;
pub use typed::{DispatchHandler, NotificationHandler, RequestHandler};

use std::future::Future;

use crate::{ConnectionTo, Dispatch, Error, Role};

/// Whether a handler took the message.
#[derive(Debug)]
pub enum Handled<T> {
    /// Claimed: the handler answered it, or arranged for it to be answered.
    Yes,
    /// Not claimed: `message` goes on to the next handler. `retry` asks for the message to be
    /// offered again later (used by session routing for messages that arrive early).
    No {
        /// The message, given back (possibly changed).
        message: T,
        /// Offer it again when new handlers are added.
        retry: bool,
    },
}

impl<T> Handled<T> {
    /// Not claimed: `message` goes on to the next handler, and is not offered again. The
    /// usual way to pass, short for `Handled::No { message, retry: false }`.
    pub fn pass(message: T) -> Self {
        Handled::No {
            message,
            retry: false,
        }
    }
}

/// Something that handles incoming messages for a connection whose counterpart is `Cp`.
///
/// The closures given to [`Builder::on_receive_request`](crate::Builder::on_receive_request)
/// and friends are the usual handlers; implement this trait for a handler with its own state
/// that looks at several kinds of message.
///
/// A handler runs inside the dispatch loop: the next message is not dispatched until it
/// returns. Work that waits belongs in [`ConnectionTo::spawn`].
///
/// ```
/// use switchboard::{ConnectionTo, Dispatch, Error, Handled, Handler, UntypedRole};
///
/// /// Counts notifications and lets everything else through.
/// struct CountNotifications(usize);
///
/// impl Handler<UntypedRole> for CountNotifications {
///     async fn handle(&mut self, dispatch: Dispatch, _cx: &ConnectionTo<UntypedRole>) -> Result<Handled<Dispatch>, Error> {
///         if let Dispatch::Notification(_) = &dispatch {
///             self.0 += 1;
///         }
///         Ok(Handled::pass(dispatch))
///     }
/// }
///
/// let builder = UntypedRole.builder().with_handler(CountNotifications(0));
/// # drop(builder);
/// ```
pub trait Handler<Cp: Role>: Send {
    /// Offers `dispatch` to this handler.
    ///
    /// Returning an error claims the message; for a request whose responder was dropped
    /// unanswered, the error is the answer.
    fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> impl Future<Output = Result<Handled<Dispatch>, Error>> + Send;

    /// Whether this handler may claim `dispatch`, judged without taking it. The default is
    /// `true`. When it says `false`, [`handle`](Self::handle) is not called and the message
    /// goes on unchanged: a handler that only wants some methods says so here, and a chain
    /// then skips it without building its future (which for a long chain, built and moved
    /// once per message, is much of the cost of passing a message along).
    fn may_claim(&self, dispatch: &Dispatch) -> bool {
        let _ = dispatch;
        true
    }

    /// Whether this handler may claim a response ([`Dispatch::Response`]). The default is
    /// `true`. A handler that passes every response on may say `false`: when no handler of
    /// a connection wants responses (and no dynamic handler is registered), answers go
    /// straight to the requests waiting for them, without a trip down the chain.
    fn sees_responses(&self) -> bool {
        true
    }
}

/// The empty chain: claims nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullHandler;

impl<Cp: Role> Handler<Cp> for NullHandler {
    fn sees_responses(&self) -> bool {
        false
    }

    fn may_claim(&self, _dispatch: &Dispatch) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        Ok(Handled::pass(dispatch))
    }
}

/// Two handlers in a row: `first` is offered each message, then `second` gets what it passed.
#[derive(Debug)]
pub struct Chain<A, B> {
    first: A,
    second: B,
}

impl<A, B> Chain<A, B> {
    /// `first`, then `second` (for composing dynamic handlers; a builder chains its own).
    pub fn new(first: A, second: B) -> Self {
        Chain { first, second }
    }
}

impl<Cp: Role, A: Handler<Cp>, B: Handler<Cp>> Handler<Cp> for Chain<A, B> {
    fn sees_responses(&self) -> bool {
        self.first.sees_responses() || self.second.sees_responses()
    }

    fn may_claim(&self, dispatch: &Dispatch) -> bool {
        self.first.may_claim(dispatch) || self.second.may_claim(dispatch)
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        let (message, retry) = if self.first.may_claim(&dispatch) {
            match self.first.handle(dispatch, cx).await? {
                Handled::Yes => return Ok(Handled::Yes),
                Handled::No { message, retry } => (message, retry),
            }
        } else {
            (dispatch, false)
        };
        if !self.second.may_claim(&message) {
            return Ok(Handled::No { message, retry });
        }
        match self.second.handle(message, cx).await? {
            Handled::Yes => Ok(Handled::Yes),
            Handled::No {
                message,
                retry: again,
            } => Ok(Handled::No {
                message,
                retry: retry || again,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{Channel, UntypedMessage, UntypedRole};

    /// Counts the messages it is handed, and says it wants only `wanted`.
    struct Picky {
        wanted: &'static str,
        handed: Arc<AtomicUsize>,
    }

    impl Handler<UntypedRole> for Picky {
        fn may_claim(&self, dispatch: &Dispatch) -> bool {
            matches!(dispatch, Dispatch::Notification(n) if n.method() == self.wanted)
        }

        async fn handle(
            &mut self,
            dispatch: Dispatch,
            _cx: &ConnectionTo<UntypedRole>,
        ) -> Result<Handled<Dispatch>, Error> {
            self.handed.fetch_add(1, Ordering::SeqCst);
            Ok(Handled::pass(dispatch))
        }
    }

    #[test]
    fn a_handler_that_does_not_want_a_message_is_not_handed_it_and_the_next_one_is() {
        let handed = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicUsize::new(0));
        let (ours, theirs) = Channel::duplex();
        let counted = Arc::clone(&seen);
        let receiver = UntypedRole
            .builder()
            .with_handler(Picky {
                wanted: "wanted",
                handed: Arc::clone(&handed),
            })
            .on_receive_notification(move |_: UntypedMessage, _cx| {
                counted.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Ok(()))
            })
            .connect_to(theirs);
        let sender = UntypedRole.builder().connect_with(ours, async |cx| {
            for method in ["other", "wanted", "other"] {
                cx.send_notification(UntypedMessage::new(method, ())?)?;
            }
            Ok(())
        });
        let (sent, received) = futures::executor::block_on(futures::future::join(sender, receiver));
        sent.unwrap();
        received.unwrap();
        assert_eq!(
            handed.load(Ordering::SeqCst),
            1,
            "only the wanted method is handed over"
        );
        assert_eq!(
            seen.load(Ordering::SeqCst),
            3,
            "every message goes on down the chain"
        );
    }
}
