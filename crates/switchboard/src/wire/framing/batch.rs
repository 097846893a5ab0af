//! Outgoing frames, encoded back to back in one buffer.

use std::ops::Range;

use super::{Framing, content_length, newline, whole};

/// Frames encoded with one framing, back to back, and where each message sits among them.
///
/// The outgoing queue appends every frame here as it is sent, so a byte transport writes the
/// whole batch in one go ([`FrameBatch::bytes`]), while a transport that carries frames takes
/// the messages one by one ([`FrameBatch::messages`]) without knowing how they were framed.
#[derive(Debug, Default)]
pub(crate) struct FrameBatch {
    /// The frames as they go on the wire.
    bytes: Vec<u8>,
    /// Each frame's message within `bytes` (without its framing), in order.
    messages: Vec<Range<usize>>,
}

impl FrameBatch {
    /// Appends `message` as one frame of `framing`.
    pub(crate) fn push(&mut self, framing: Framing, message: &[u8]) {
        let range = match framing {
            Framing::Newline => newline::encode(&mut self.bytes, message),
            Framing::ContentLength => content_length::encode(&mut self.bytes, message),
            Framing::WholeMessage => whole::encode(&mut self.bytes, message),
        };
        self.messages.push(range);
    }

    /// Every frame, framing included, as it goes on the wire.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many bytes the frames take on the wire.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// No frame at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// How many frames.
    pub(crate) fn frames(&self) -> usize {
        self.messages.len()
    }

    /// The message of frame `index`, without its framing.
    pub(crate) fn message(&self, index: usize) -> Option<&[u8]> {
        let range = self.messages.get(index)?;
        self.bytes.get(range.clone())
    }

    /// Every message, in order, without its framing.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &[u8]> {
        self.messages_from(0)
    }

    /// The messages from the `from`th on, found without walking past the ones before (a
    /// sender that hands a large batch over in parts would otherwise walk it once per part).
    pub(crate) fn messages_from(&self, from: usize) -> impl Iterator<Item = &[u8]> {
        self.messages
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter_map(|range| self.bytes.get(range.clone()))
    }

    /// Empties the batch; its buffers are kept unless they are larger than `retain` bytes, so
    /// an idle connection does not hold on to its peak.
    pub(crate) fn clear(&mut self, retain: usize) {
        if self.bytes.capacity() > retain {
            *self = FrameBatch::default();
        } else {
            self.bytes.clear();
            self.messages.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_back_without_their_framing_in_every_framing() {
        for framing in [
            Framing::Newline,
            Framing::ContentLength,
            Framing::WholeMessage,
        ] {
            let mut batch = FrameBatch::default();
            batch.push(framing, b"{\"a\":1}");
            batch.push(framing, b"[2]");
            assert_eq!(batch.frames(), 2);
            let messages: Vec<&[u8]> = batch.messages().collect();
            assert_eq!(messages, [&b"{\"a\":1}"[..], b"[2]"], "{framing:?}");
            assert_eq!(batch.message(1), Some(&b"[2]"[..]));
            assert_eq!(batch.message(2), None);
            let rest: Vec<&[u8]> = batch.messages_from(1).collect();
            assert_eq!(rest, [&b"[2]"[..]]);
            assert_eq!(batch.messages_from(3).count(), 0, "past the end: none");
            batch.clear(1024);
            assert!(batch.is_empty());
            assert_eq!(batch.bytes(), b"");
        }
    }

    #[test]
    fn the_wire_bytes_carry_each_framing() {
        let wire = |framing| {
            let mut batch = FrameBatch::default();
            batch.push(framing, b"{}");
            batch.push(framing, b"[1]");
            batch.bytes().to_vec()
        };
        assert_eq!(wire(Framing::Newline), b"{}\n[1]\n");
        assert_eq!(
            wire(Framing::ContentLength),
            b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]"
        );
        assert_eq!(wire(Framing::WholeMessage), b"{}[1]");
    }
}
