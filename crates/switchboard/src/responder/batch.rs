//! The answers to one incoming batch, sent as one array once every member is settled.

use std::sync::Mutex;

use crate::Error;
use crate::shared::Shared;

/// Collects the answers to one incoming batch, and sends them as one array once all are in.
pub(crate) struct BatchAnswers {
    state: Mutex<BatchState>,
}

struct BatchState {
    /// `[` then the answers so far, comma separated.
    frame: Vec<u8>,
    remaining: usize,
}

impl BatchAnswers {
    /// A batch that will send its array after `expected` answers.
    pub(crate) fn new(expected: usize) -> Self {
        BatchAnswers {
            state: Mutex::new(BatchState {
                frame: vec![b'['],
                remaining: expected,
            }),
        }
    }

    pub(crate) fn add(&self, answer: &[u8], shared: &Shared) -> Result<(), Error> {
        self.settle(Some(answer), shared)
    }

    /// One expected member is settled without an answer (it was cancelled, and the protocol
    /// answers nothing then).
    pub(crate) fn add_nothing(&self, shared: &Shared) -> Result<(), Error> {
        self.settle(None, shared)
    }

    fn settle(&self, answer: Option<&[u8]>, shared: &Shared) -> Result<(), Error> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(answer) = answer {
            if state.frame.len() > 1 {
                state.frame.push(b',');
            }
            state.frame.extend_from_slice(answer);
        }
        state.remaining = state.remaining.saturating_sub(1);
        if state.remaining > 0 {
            return Ok(());
        }
        let mut frame = std::mem::take(&mut state.frame);
        drop(state);
        if frame.len() == 1 {
            // Nothing to answer: JSON-RPC sends no empty array.
            return Ok(());
        }
        frame.push(b']');
        shared.outgoing.push_answer(&frame)
    }
}
