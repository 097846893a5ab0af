//! Holding back the end of a transport's input until a hook has run (see
//! [`Transport::on_input_end`](super::Transport::on_input_end)).

use std::pin::Pin;

use futures::Stream;
use futures::future::BoxFuture;

use super::seam::FrameStream;
use crate::Error;
use crate::wire::FrameEvent;

/// The hook of [`Transport::on_input_end_with`](super::Transport::on_input_end_with): given the
/// error that ended the input, if one did, it makes the future to run.
pub(super) type EndHook = Box<dyn FnOnce(Option<&Error>) -> BoxFuture<'static, ()> + Send>;

/// The incoming stream of [`Transport::on_input_end`]: holds back its end until the hook ran.
pub(super) struct HoldEnd {
    incoming: FrameStream,
    hook: Option<EndHook>,
    running: Option<BoxFuture<'static, ()>>,
    /// What ended the input (`Some(None)`: a clean end), held while the hook runs.
    end: Option<Option<Result<FrameEvent, Error>>>,
    /// The end was passed on: the inner stream is not polled again.
    ended: bool,
}

impl HoldEnd {
    pub(super) fn new(incoming: FrameStream, hook: EndHook) -> Self {
        HoldEnd {
            incoming,
            hook: Some(hook),
            running: None,
            end: None,
            ended: false,
        }
    }
}

impl Stream for HoldEnd {
    type Item = Result<FrameEvent, Error>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        loop {
            if let Some(running) = self.running.as_mut() {
                if running.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.running = None;
            }
            if let Some(end) = self.end.take() {
                self.ended = true;
                return Poll::Ready(end);
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match self.incoming.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => return Poll::Ready(Some(Ok(event))),
                Poll::Ready(end) => {
                    let error = match &end {
                        Some(Err(error)) => Some(error),
                        _ => None,
                    };
                    self.running = self.hook.take().map(|hook| hook(error));
                    self.end = Some(end);
                }
            }
        }
    }
}
