//! The chain's trace: every message that crosses every hop, one JSON object per line.
//!
//! ```text
//! {"time":"2026-11-21T09:30:01.250113Z","hop":1,"component":"proxy 1 (`acp_prefix_proxy`)","direction":"sent","message":{"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{...}}}
//! ```
//!
//! - `time`: when the conductor saw it, UTC, RFC 3339 with microseconds;
//! - `hop`: which connection: 0 is the editor's, 1..=n the proxies' in order, n + 1 the
//!   agent's;
//! - `component`: who is at the other end of that hop;
//! - `direction`: `received` (the conductor read it from the hop) or `sent` (wrote it);
//! - `message`: the frame as it crossed, or a string if it was not JSON.
//!
//! Lines are written as the frames cross, each with one write, so a trace is complete up to
//! the moment a chain crashes.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use switchboard::Error;
use switchboard::transport::FrameDirection;

/// Where a chain writes its trace (see the module docs for the format).
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
/// use switchboard_conductor::Trace;
///
/// /// A writer that keeps what it is given, for a test to read.
/// #[derive(Clone, Default)]
/// struct Memory(Arc<Mutex<Vec<u8>>>);
///
/// impl Write for Memory {
///     fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(bytes);
///         Ok(bytes.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let memory = Memory::default();
/// let trace = Trace::to_writer(memory.clone());
/// # drop(trace);
/// ```
#[derive(Clone)]
pub struct Trace {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Trace {
    /// A trace written to the file at `path`, created or truncated.
    ///
    /// # Errors
    ///
    /// An invalid-params error naming the path if the file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Trace, Error> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(|error| {
            Error::invalid_params(format!(
                "cannot create the trace file {}: {error}",
                path.display()
            ))
        })?;
        Ok(Trace::to_writer(file))
    }

    /// A trace written to `out`, a line at a time.
    pub fn to_writer(out: impl Write + Send + 'static) -> Trace {
        Trace {
            out: Arc::new(Mutex::new(Box::new(out))),
        }
    }

    /// The tap for one hop (`hop`, and `component` at its other end): writes a line for
    /// every frame crossing it. Give it to [`Transport::inspect`](switchboard::transport::Transport::inspect)
    /// or [`Inspect`](switchboard::transport::Inspect) to trace a connection of your own in
    /// the same format (`acp_client --trace` does).
    pub fn tap(
        &self,
        hop: usize,
        component: &str,
    ) -> impl Fn(FrameDirection, &[u8]) + Send + Sync + 'static + use<> {
        let out = Arc::clone(&self.out);
        // The fixed part of every line of this hop, made once.
        let hop_fields = format!(
            ",\"hop\":{hop},\"component\":{}",
            serde_json::Value::from(component)
        );
        move |direction, frame| {
            let line = line(SystemTime::now(), &hop_fields, direction, frame);
            let mut out = out.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(error) = out.write_all(line.as_bytes()) {
                tracing::warn!(%error, "could not write to the trace");
            }
        }
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").finish_non_exhaustive()
    }
}

/// One line of the trace, with its line break.
fn line(time: SystemTime, hop_fields: &str, direction: FrameDirection, frame: &[u8]) -> String {
    let mut line = String::with_capacity(frame.len() + 128);
    line.push_str("{\"time\":\"");
    push_rfc3339(&mut line, time);
    line.push('"');
    line.push_str(hop_fields);
    line.push_str(match direction {
        FrameDirection::Received => ",\"direction\":\"received\",\"message\":",
        FrameDirection::Sent => ",\"direction\":\"sent\",\"message\":",
    });
    // A frame is embedded as it is when it is JSON; anything else, as a string.
    match serde_json::from_slice::<&RawValue>(frame) {
        Ok(json) => line.push_str(json.get()),
        Err(_) => {
            line.push_str(&serde_json::Value::from(String::from_utf8_lossy(frame)).to_string())
        }
    }
    line.push_str("}\n");
    line
}

/// Writes `time` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn push_rfc3339(out: &mut String, time: SystemTime) {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_micros()
    );
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        // 2000 was a leap year, 2100 will not be.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }

    #[test]
    fn a_line_embeds_json_and_quotes_anything_else() {
        let time = UNIX_EPOCH + Duration::from_micros(1_795_253_401_250_113);
        let fields = ",\"hop\":2,\"component\":\"the agent\"";
        let json = line(
            time,
            fields,
            FrameDirection::Sent,
            br#"{"jsonrpc":"2.0","method":"x"}"#,
        );
        assert_eq!(
            json,
            "{\"time\":\"2026-11-21T09:30:01.250113Z\",\"hop\":2,\"component\":\"the agent\",\
             \"direction\":\"sent\",\"message\":{\"jsonrpc\":\"2.0\",\"method\":\"x\"}}\n"
        );
        let garbage = line(time, fields, FrameDirection::Received, b"not \"json\"\xff");
        let parsed: serde_json::Value = serde_json::from_str(&garbage).unwrap();
        assert_eq!(parsed["direction"], "received");
        assert_eq!(parsed["message"], "not \"json\"\u{fffd}");
    }
}
