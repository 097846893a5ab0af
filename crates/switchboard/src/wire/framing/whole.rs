//! Message-per-frame framing: the transport delimits messages itself (a WebSocket message, an
//! HTTP body, an in-process channel), so a frame is exactly one message, with nothing added.

use std::ops::Range;

use super::{FrameEvent, Verdict};

/// Appends `message` as it is; returns where it sits in `out`.
pub(super) fn encode(out: &mut Vec<u8>, message: &[u8]) -> Range<usize> {
    let start = out.len();
    out.extend_from_slice(message);
    start..out.len()
}

/// What one whole message is under the size and blank rules, copied only when it is kept.
pub(crate) fn decode(message: &[u8], max_frame: usize) -> Option<FrameEvent> {
    match Verdict::on(message, max_frame) {
        Verdict::Blank => None,
        Verdict::TooLarge(length) => Some(FrameEvent::TooLarge { length }),
        Verdict::Keep => Some(FrameEvent::Frame(message.to_vec())),
    }
}

impl FrameEvent {
    /// What one whole message received from a message-carrying transport is, under the same
    /// rules as every framing: `None` when it is only whitespace, [`FrameEvent::TooLarge`]
    /// when it is longer than `max_frame` bytes, else the frame. For the incoming stream of a
    /// [`Transport::new`](crate::transport::Transport::new).
    ///
    /// ```
    /// use switchboard::wire::FrameEvent;
    ///
    /// assert_eq!(FrameEvent::from_whole_message(b"{}".to_vec(), 10), Some(FrameEvent::Frame(b"{}".to_vec())));
    /// assert_eq!(FrameEvent::from_whole_message(b" \n".to_vec(), 10), None);
    /// assert_eq!(FrameEvent::from_whole_message(vec![b'x'; 11], 10), Some(FrameEvent::TooLarge { length: 11 }));
    /// ```
    pub fn from_whole_message(message: Vec<u8>, max_frame: usize) -> Option<FrameEvent> {
        match Verdict::on(&message, max_frame) {
            Verdict::Blank => None,
            Verdict::TooLarge(length) => Some(FrameEvent::TooLarge { length }),
            Verdict::Keep => Some(FrameEvent::Frame(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_goes_out_unchanged_line_breaks_and_all() {
        let mut out = b"before".to_vec();
        let range = encode(&mut out, b"{\"a\":\n1}");
        assert_eq!(&out[range], b"{\"a\":\n1}");
    }

    #[test]
    fn the_size_rule_counts_the_whole_message() {
        assert_eq!(
            FrameEvent::from_whole_message(b"12345".to_vec(), 5),
            Some(FrameEvent::Frame(b"12345".to_vec()))
        );
        assert_eq!(
            FrameEvent::from_whole_message(b"123456".to_vec(), 5),
            Some(FrameEvent::TooLarge { length: 6 })
        );
        // Whitespace is never too large: it is no message at all.
        assert_eq!(FrameEvent::from_whole_message(vec![b' '; 50], 5), None);
    }
}
