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

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        match self.first.handle(dispatch, cx).await? {
            Handled::Yes => Ok(Handled::Yes),
            Handled::No { message, retry } => match self.second.handle(message, cx).await? {
                Handled::Yes => Ok(Handled::Yes),
                Handled::No {
                    message,
                    retry: again,
                } => Ok(Handled::No {
                    message,
                    retry: retry || again,
                }),
            },
        }
    }
}
