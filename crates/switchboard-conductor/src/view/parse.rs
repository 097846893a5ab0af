//! Reading a trace file for the viewer: the lines that are trace records, and a count of the
//! ones that are not.
//!
//! A trace is untrusted input: it may have been cut off mid-line by a crash, edited by hand,
//! or not be a trace at all. So nothing here fails on its contents: a line that is not a
//! record is skipped and counted, and a last line without its line break that does not parse
//! is taken for what a crash leaves behind (reported apart from the skipped lines).

use serde_json::Value;

/// Which way a frame crossed its hop, from the point of view of whoever wrote the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Read from the component at the other end of the hop.
    Received,
    /// Written to it.
    Sent,
}

/// One line of a trace (see [`crate::trace`] for the format).
#[derive(Clone, Debug)]
pub struct Record {
    /// The line's number in the file, from 1, so a person can find it.
    pub line: usize,
    /// When it was seen, in microseconds since the Unix epoch; `None` if the time is not
    /// written the way the trace writes it.
    pub time_micros: Option<i64>,
    /// Which connection: 0 the editor's (or, in a client's trace, its agent's).
    pub hop: u64,
    /// Who is at the other end of that hop.
    pub component: String,
    /// Which way it went.
    pub direction: Direction,
    /// The frame: JSON, or a string if it was not JSON.
    pub message: Value,
}

/// What [`parse_trace`] made of a file.
#[derive(Clone, Debug, Default)]
pub struct ParsedTrace {
    /// The records, in file order.
    pub records: Vec<Record>,
    /// The numbers of the lines (from 1) that were not records, the last one excepted when it
    /// is cut off.
    pub skipped_lines: Vec<usize>,
    /// Whether the file ends in the middle of a record (no line break, not JSON), as a trace
    /// does when the program writing it was killed mid-write.
    pub truncated_last_line: bool,
}

/// Reads every line of `text`.
///
/// ```
/// use switchboard_conductor::view::parse_trace;
///
/// let text = concat!(
///     r#"{"time":"2026-11-21T09:30:01.250113Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","id":1,"method":"initialize"}}"#,
///     "\nnot a record\n",
///     r#"{"time":"2026-11-21T09:30:01.2"#,
/// );
/// let trace = parse_trace(text);
/// assert_eq!(trace.records.len(), 1);
/// assert_eq!(trace.skipped_lines, [2]);
/// assert!(trace.truncated_last_line);
/// ```
pub fn parse_trace(text: &str) -> ParsedTrace {
    let mut trace = ParsedTrace::default();
    let ends_with_break = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match record(number, line) {
            Some(record) => trace.records.push(record),
            None if number == lines.len() && !ends_with_break => {
                trace.truncated_last_line = true;
            }
            None => trace.skipped_lines.push(number),
        }
    }
    trace
}

/// The record on one line, if it is one.
fn record(line: usize, text: &str) -> Option<Record> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let object = value.as_object_mut()?;
    let direction = match object.get("direction")?.as_str()? {
        "received" => Direction::Received,
        "sent" => Direction::Sent,
        _ => return None,
    };
    Some(Record {
        line,
        time_micros: object
            .get("time")
            .and_then(Value::as_str)
            .and_then(micros_since_epoch),
        hop: object.get("hop")?.as_u64()?,
        component: object.get("component")?.as_str()?.to_owned(),
        direction,
        message: object.remove("message")?,
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what the trace writes) in microseconds since the Unix
/// epoch; `None` for anything else.
pub(crate) fn micros_since_epoch(time: &str) -> Option<i64> {
    let time = time.strip_suffix('Z')?;
    let (date, clock) = time.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (
        clock.next()?.ok()?,
        clock.next()?.ok()?,
        clock.next()?.ok()?,
    );
    // Four-digit years only (as RFC 3339 has them), which also keeps the sums below far from
    // overflowing whatever a hostile trace writes.
    let in_range = (0..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..=23).contains(&hour)
        && (0..=59).contains(&minute)
        && (0..=60).contains(&second);
    if !in_range || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // Microseconds: the first six digits of the fraction, padded.
    let micros = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0_i64, |sum, digit| sum * 10 + i64::from(digit - b'0'));
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds * 1_000_000 + micros)
}

/// Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's algorithm, the
/// inverse of the one the trace writer uses).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_what_the_writer_wrote() {
        assert_eq!(micros_since_epoch("1970-01-01T00:00:00.000000Z"), Some(0));
        assert_eq!(
            micros_since_epoch("2026-11-21T09:30:01.250113Z"),
            Some(1_795_253_401_250_113)
        );
        assert_eq!(
            micros_since_epoch("2000-02-29T00:00:01.5Z"),
            Some(951_782_401_500_000)
        );
        let huge = "9223372036854775807-01-01T00:00:00Z";
        for bad in [
            huge,
            "2026-11-21T-1:00:00Z",
            "-2026-11-21T00:00:00Z",
            "",
            "2026-11-21",
            "2026-13-01T00:00:00Z",
            "2026-11-21T09:30:01.2x5Z",
            "é",
        ] {
            assert_eq!(micros_since_epoch(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_that_are_not_records_are_counted_not_fatal() {
        let good =
            r#"{"time":"x","hop":1,"component":"proxy 1","direction":"sent","message":"raw"}"#;
        let text = [
            good,
            "",
            "[1,2]",
            r#"{"hop":-1,"component":"c","direction":"sent","message":{}}"#,
            r#"{"hop":0,"component":"c","direction":"sideways","message":{}}"#,
            r#"{"hop":0,"component":"c","direction":"sent"}"#,
            "\u{0}\u{1}{{{",
            good,
        ]
        .join("\n");
        let trace = parse_trace(&text);
        assert_eq!(trace.records.len(), 2);
        assert_eq!(trace.records[1].line, 8);
        assert_eq!(trace.records[0].time_micros, None);
        assert_eq!(trace.records[0].message, "raw");
        assert_eq!(trace.skipped_lines, [3, 4, 5, 6, 7]);
        // The last line parsed, although it has no line break.
        assert!(!trace.truncated_last_line);
    }

    #[test]
    fn a_bad_line_with_its_line_break_is_skipped_not_truncated() {
        let trace = parse_trace("{\"time\":\n");
        assert_eq!(trace.skipped_lines, [1]);
        assert!(!trace.truncated_last_line);
        let trace = parse_trace("{\"time\":");
        assert!(trace.skipped_lines.is_empty());
        assert!(trace.truncated_last_line);
    }
}
