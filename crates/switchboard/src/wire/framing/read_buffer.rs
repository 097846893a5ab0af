//! The read buffer both byte-stream decoders share: the bytes read, how far they are consumed
//! and scanned, and the one rule for how it grows.

/// The first read buffer. It grows (doubling) only while one frame needs more.
pub(crate) const INITIAL_BUFFER: usize = 16 * 1024;

/// Bytes read from a stream and not yet taken as frames.
#[derive(Debug, Default)]
pub(super) struct ReadBuffer {
    /// Bytes read so far; `buf[start..filled]` is not yet consumed.
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    pub(super) filled: usize,
    /// Where the search for the next delimiter resumes, so no byte is scanned twice.
    pub(super) scanned: usize,
}

impl ReadBuffer {
    /// Space to read into, never empty. What is not consumed moves to the front first (it is
    /// short next to what was consumed). A full buffer doubles, from [`INITIAL_BUFFER`], up to
    /// room for `whole` bytes, the most the decoder must hold at once; past that only when
    /// frames were left in it untaken, by [`INITIAL_BUFFER`] more.
    pub(super) fn space(&mut self, whole: usize) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.filled == self.buf.len() {
            let cap = whole.max(INITIAL_BUFFER);
            let mut grown = (self.buf.len() * 2).clamp(INITIAL_BUFFER, cap);
            if grown <= self.buf.len() {
                grown = self.buf.len() + INITIAL_BUFFER;
            }
            self.buf.resize(grown, 0);
        }
        &mut self.buf[self.filled..]
    }

    /// Records that `n` bytes were read into the start of what [`space`](Self::space) gave.
    pub(super) fn fill(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }
}
