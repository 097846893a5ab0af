//! Roles: who an endpoint is, and who is at the other end.

use std::fmt;
use std::future::Future;

use crate::cancel::Cancellation;
use crate::stream::Streaming;
use crate::wire::Framing;
use crate::{Builder, ConnectionTo, Dispatch, Error};

/// Who an endpoint is.
///
/// Every role has one `Counterpart`, the role at the other end of its transport; a handler of
/// a connection built for role `R` receives a [`ConnectionTo<R::Counterpart>`](ConnectionTo).
/// A protocol (ACP, for one) declares its roles on top of this trait; the core only defines
/// [`UntypedRole`] for plain JSON-RPC.
///
/// A role also decides what happens to messages no handler claimed, in
/// [`Role::default_dispatch`]. The default answers requests -32601 and drops notifications.
pub trait Role: Clone + Send + Sync + fmt::Debug + 'static {
    /// The role at the other end of the transport.
    type Counterpart: Role<Counterpart = Self>;

    /// A value of the counterpart role.
    fn counterpart(&self) -> Self::Counterpart;

    /// Starts building a connection for this role.
    fn builder(self) -> Builder<Self> {
        Builder::new(self)
    }

    /// How this role's protocol cancels requests on the wire: none by default. A protocol
    /// crate returns its convention here, so every connection of its roles speaks it; see
    /// [`Cancellation`]. [`Builder::cancellation`] overrides it for one connection.
    fn cancellation(&self) -> Cancellation {
        Cancellation::NONE
    }

    /// How this role's protocol answers a request with a stream of items:
    /// [Switchboard's own convention](Streaming::SWITCHBOARD) by default. A protocol crate
    /// returns its own here (LSP's partial results, MCP's progress); see [`Streaming`].
    /// [`Builder::streaming`] overrides it for one connection.
    fn streaming(&self) -> Streaming {
        Streaming::SWITCHBOARD
    }

    /// How this role's protocol frames messages on a byte stream: newlines by default. A
    /// protocol whose framing differs (LSP: [`Framing::ContentLength`]) returns it here, so
    /// every byte component its connections use follows it; [`Builder::framing`] overrides it
    /// for one connection, and a component's own `.framing(..)` for that component.
    fn framing(&self) -> Framing {
        Framing::Newline
    }

    /// Handles a request or notification that no handler claimed. Unclaimed responses never
    /// come here: they are routed to the request they answer.
    fn default_dispatch(
        &self,
        dispatch: Dispatch,
        cx: ConnectionTo<Self::Counterpart>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = cx;
        unclaimed(dispatch)
    }
}

/// The standard treatment of an unclaimed message: -32601 for a request, a log line for a
/// notification, delivery for a response.
pub async fn unclaimed(dispatch: Dispatch) -> Result<(), Error> {
    match dispatch {
        Dispatch::Request(request, responder) => {
            responder.respond_with_error(Error::method_not_found(request.method()))
        }
        Dispatch::Notification(notification) => {
            tracing::debug!(
                method = notification.method(),
                "no handler for this notification; dropped"
            );
            Ok(())
        }
        Dispatch::Response(result, router) => {
            router.route(result).await;
            Ok(())
        }
    }
}

/// The role for plain JSON-RPC: both ends are `UntypedRole`.
///
/// ```
/// use switchboard::{Role, UntypedRole};
///
/// let builder = UntypedRole.builder().name("plain");
/// assert_eq!(UntypedRole.counterpart(), UntypedRole);
/// # drop(builder);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UntypedRole;

impl UntypedRole {
    /// Starts building a plain JSON-RPC connection (the same as [`Role::builder`], without
    /// importing the trait).
    pub fn builder(self) -> Builder<Self> {
        Builder::new(self)
    }
}

impl Role for UntypedRole {
    type Counterpart = UntypedRole;

    fn counterpart(&self) -> UntypedRole {
        UntypedRole
    }
}
