//! Reading a conductor's trace: its lines, and the messages that crossed one hop.

use std::path::Path;

use serde_json::Value;

/// The lines of a trace file, each parsed as JSON.
pub(crate) fn read_trace(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading the trace {}: {error}", path.display()));
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("a trace line that is not JSON ({error}): {line}"))
        })
        .collect()
}

/// The messages that crossed `hop` going `direction` (`received` or `sent`), each with the
/// position of its line in the trace.
pub(crate) fn on_hop<'a>(
    trace: &'a [Value],
    hop: usize,
    direction: &'a str,
) -> impl Iterator<Item = (usize, &'a Value)> {
    trace
        .iter()
        .enumerate()
        .filter(move |(_, line)| line["hop"] == hop && line["direction"] == direction)
        .map(|(at, line)| (at, &line["message"]))
}

/// The requests of `method` that crossed `hop` going `direction`.
pub(crate) fn requests<'a>(
    trace: &'a [Value],
    hop: usize,
    direction: &'a str,
    method: &str,
) -> Vec<(usize, &'a Value)> {
    on_hop(trace, hop, direction)
        .filter(|(_, message)| message["method"] == method && message.get("id").is_some())
        .collect()
}

/// The `requestId` of each `$/cancel_request` that crossed `hop` going `direction`.
pub(crate) fn cancels<'a>(
    trace: &'a [Value],
    hop: usize,
    direction: &'a str,
) -> Vec<(usize, &'a Value)> {
    on_hop(trace, hop, direction)
        .filter(|(_, message)| message["method"] == "$/cancel_request")
        .map(|(at, message)| (at, &message["params"]["requestId"]))
        .collect()
}

/// Whether `time` is written `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn is_rfc3339_micros(time: &str) -> bool {
    let pattern = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    time.len() == pattern.len()
        && time.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}
