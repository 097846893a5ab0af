//! Timers, without tying the core to a runtime.
//!
//! The core only needs to wait in a few places (parked messages expire, and later request
//! timeouts). It asks a [`Timer`] for a sleep future. With the `tokio` feature, a connection
//! started inside a tokio runtime uses [`TokioTimer`] unless told otherwise; without a timer,
//! age limits are checked whenever a message arrives instead of on the dot.

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

/// Makes sleep futures for the connection.
///
/// ```
/// use std::time::Duration;
/// use futures::future::BoxFuture;
/// use switchboard::timer::Timer;
///
/// /// A timer for an executor of your own, built on a thread per sleep (for illustration).
/// struct ThreadTimer;
///
/// impl Timer for ThreadTimer {
///     fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
///         let (done, wait) = futures::channel::oneshot::channel::<()>();
///         std::thread::spawn(move || {
///             std::thread::sleep(duration);
///             let _ = done.send(());
///         });
///         Box::pin(async move {
///             let _ = wait.await;
///         })
///     }
/// }
/// # futures::executor::block_on(ThreadTimer.sleep(Duration::from_millis(1)));
/// ```
pub trait Timer: Send + Sync + 'static {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Tokio's timer (feature `tokio`). Needs a tokio runtime with time enabled.
#[cfg(feature = "tokio")]
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The timer a connection uses when none was given: tokio's, when the connection starts
/// inside a tokio runtime (feature `tokio`), else none.
pub(crate) fn default_timer() -> Option<std::sync::Arc<dyn Timer>> {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return Some(std::sync::Arc::new(TokioTimer));
    }
    None
}

/// For `Debug` impls of things that hold a timer.
pub(crate) struct DebugTimer<'a>(pub(crate) &'a Option<std::sync::Arc<dyn Timer>>);

impl fmt::Debug for DebugTimer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}
