//! Routing incoming answers: a [`ResponseRouter`] carries one to the
//! [`SentRequest`](crate::SentRequest) waiting for it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::Error;
use crate::message::{JsonRpcResponse, RawJson, RequestId};
use crate::pending::Delivery;
use crate::shared::Shared;

/// Delivers one incoming answer to the request it answers.
///
/// It comes with every [`Dispatch::Response`](crate::Dispatch::Response). A response that no
/// handler claims is routed automatically; a handler that claims one must call
/// [`ResponseRouter::route`] itself, or the request waits until the connection closes.
///
/// `T` is the type of the answer it passes on: raw JSON as received, or, after
/// [`cast`](ResponseRouter::cast), a typed answer, for a handler that reads a response and
/// passes on a changed one.
///
/// ```
/// use switchboard::{Dispatch, Error, Handled, RawJson};
///
/// /// Passes every answer on with a `"seen": true` member added.
/// async fn mark_seen(dispatch: Dispatch) -> Result<Handled<Dispatch>, Error> {
///     match dispatch {
///         Dispatch::Response(Ok(raw), router) => {
///             let mut answer: serde_json::Value = raw.parse()?;
///             answer["seen"] = true.into();
///             router.cast::<serde_json::Value>().route(Ok(answer)).await;
///             Ok(Handled::Yes)
///         }
///         other => Ok(Handled::pass(other)),
///     }
/// }
/// # let _ = mark_seen;
/// ```
pub struct ResponseRouter<T = RawJson> {
    id: RequestId,
    shared: Arc<Shared>,
    _answer: PhantomData<fn(T)>,
}

impl ResponseRouter {
    pub(crate) fn new(id: RequestId, shared: Arc<Shared>) -> Self {
        ResponseRouter {
            id,
            shared,
            _answer: PhantomData,
        }
    }
}

impl<T> ResponseRouter<T> {
    /// The id the answer carries.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// The same router, passing on answers of type `U`.
    pub fn cast<U>(self) -> ResponseRouter<U> {
        ResponseRouter {
            id: self.id,
            shared: self.shared,
            _answer: PhantomData,
        }
    }

    /// Delivers a raw answer to the request with this id from a task of its connection, for
    /// code that cannot await.
    pub(crate) fn deliver_later(self, result: Result<RawJson, Error>) {
        let router: ResponseRouter = self.cast();
        let shared = Arc::clone(&router.shared);
        shared.tasks.spawn_owed(Box::pin(router.route_raw(result)));
    }

    /// Delivers a raw answer to the request with this id.
    pub(crate) async fn route_raw(self, result: Result<RawJson, Error>) {
        let Some(id) = self.id.as_u64() else {
            match result {
                Err(error) if self.id == RequestId::Null => {
                    tracing::warn!(
                        connection = self.shared.name.as_deref(),
                        %error,
                        "the peer reported an error that belongs to no request"
                    );
                }
                _ => {
                    tracing::warn!(
                        connection = self.shared.name.as_deref(),
                        id = %self.id,
                        "dropping an answer whose id this side never sent"
                    )
                }
            }
            return;
        };
        match self.shared.pending.deliver(id, result) {
            Delivery::Done => {}
            Delivery::Run(callback) => callback.await,
            Delivery::Unknown => {
                tracing::debug!(
                    id,
                    "dropping an answer nobody waits for (unknown id, or its SentRequest was dropped)"
                );
            }
        }
    }
}

impl<T: JsonRpcResponse> ResponseRouter<T> {
    /// Delivers `result` to the request with this id. A callback waiting for it (from
    /// `on_receiving_result` and friends) runs as part of this future. A typed answer that
    /// cannot be serialized is delivered as that error.
    pub async fn route(self, result: Result<T, Error>) {
        let raw = result.and_then(JsonRpcResponse::into_raw);
        self.route_raw(raw).await;
    }
}

impl<T> fmt::Debug for ResponseRouter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseRouter")
            .field("id", &self.id)
            .finish()
    }
}
