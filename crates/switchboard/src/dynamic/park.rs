//! A handler that asks for early messages to be parked.

use std::sync::Arc;

use super::key::extract_field;
use crate::handler::{Handled, Handler};
use crate::{ConnectionTo, Dispatch, Error, Role};

/// Marks the requests and notifications whose params carry `field` (say `"sessionId"`) for
/// parking, so that one arriving before its keyed handler waits for it instead of falling
/// through to the role's default.
///
/// Put it in the builder's chain. It claims nothing: a message it marks still goes to the
/// dynamic handlers, and is parked only if none of them takes it. Messages without the field
/// pass unmarked.
///
/// ```
/// use switchboard::UntypedRole;
/// use switchboard::dynamic::ParkKeyed;
///
/// let builder = UntypedRole.builder().with_handler(ParkKeyed::new("sessionId"));
/// # drop(builder);
/// ```
#[derive(Clone, Debug)]
pub struct ParkKeyed {
    field: Arc<str>,
}

impl ParkKeyed {
    /// Parks unclaimed messages whose params have a top-level string `field`.
    pub fn new(field: impl AsRef<str>) -> Self {
        ParkKeyed {
            field: Arc::from(field.as_ref()),
        }
    }
}

impl<Cp: Role> Handler<Cp> for ParkKeyed {
    fn sees_responses(&self) -> bool {
        false
    }

    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<Cp>,
    ) -> Result<Handled<Dispatch>, Error> {
        let retry = match &dispatch {
            Dispatch::Request(message, _) | Dispatch::Notification(message) => message
                .params()
                .is_some_and(|params| extract_field(params.get(), &self.field).is_some()),
            Dispatch::Response(..) => false,
        };
        Ok(Handled::No {
            message: dispatch,
            retry,
        })
    }
}
