//! Server-sent events, read: each event's `data:` lines joined by line breaks, comments and
//! other fields skipped. Bounded: an event longer than the limit is an error.

/// Reads events out of the bytes of a stream, chunk by chunk.
#[derive(Debug)]
pub(crate) struct EventReader {
    /// The bytes of a line not yet ended.
    line: Vec<u8>,
    /// The data of the event so far.
    data: Vec<u8>,
    /// Whether the event has a `data` field yet.
    has_data: bool,
    limit: usize,
}

/// An event longer than the reader's limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl EventReader {
    pub(crate) fn new(limit: usize) -> Self {
        EventReader {
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            limit,
        }
    }

    /// Takes `chunk`, and gives the data of every event it completes, in order.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, TooLarge> {
        let mut events = Vec::new();
        for &byte in chunk {
            if byte != b'\n' {
                self.line.push(byte);
                if self.line.len() + self.data.len() > self.limit {
                    return Err(TooLarge);
                }
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.is_empty() {
                if self.has_data {
                    events.push(std::mem::take(&mut self.data));
                    self.has_data = false;
                }
                continue;
            }
            if let Some(value) = field(line, b"data") {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            // Comments (`:` keepalives), `event`, `id` and `retry` say nothing to us.
        }
        Ok(events)
    }
}

/// The value of `line` if it is the field `name` (`name: value` or `name:value`).
fn field<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(name)?.strip_prefix(b":")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_across_chunks_with_keepalives_and_multiline_data() {
        let mut reader = EventReader::new(1024);
        let mut events = Vec::new();
        for chunk in [
            &b": keep"[..],
            b"alive\n\ndata: {\"a\"",
            b":1}\n\nda",
            b"ta: x\r\ndata: y\n\n",
        ] {
            events.extend(reader.feed(chunk).unwrap());
        }
        assert_eq!(events, [b"{\"a\":1}".to_vec(), b"x\ny".to_vec()]);
    }

    #[test]
    fn an_event_past_the_limit_is_refused() {
        let mut reader = EventReader::new(8);
        assert_eq!(reader.feed(b"data: 0123456789"), Err(TooLarge));
    }
}
