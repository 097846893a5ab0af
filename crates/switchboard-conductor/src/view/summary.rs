//! The sentence both pictures write under their title: how much of the trace they show, and
//! what in the file was not shown at all.

use std::fmt::Write as _;

use super::model::Diagram;

/// How many skipped line numbers are listed; the count is always given in full.
const LISTED_LINES: usize = 10;

/// What a picture of `diagram` shows of its trace, in one sentence or three.
pub(crate) fn summary(diagram: &Diagram) -> String {
    let mut summary = match (diagram.arrows.first(), diagram.arrows.last()) {
        (Some(first), Some(last)) if diagram.arrows.len() < diagram.total_messages => format!(
            "Messages {} to {} of {} (see --from and --limit for the others).",
            first.number, last.number, diagram.total_messages
        ),
        (Some(_), Some(_)) if diagram.total_messages == 1 => "1 message.".to_owned(),
        (Some(_), Some(_)) => format!("{} messages.", diagram.total_messages),
        _ => format!(
            "No messages to show ({} in the trace).",
            diagram.total_messages
        ),
    };
    if !diagram.skipped_lines.is_empty() {
        let lines: Vec<String> = diagram
            .skipped_lines
            .iter()
            .take(LISTED_LINES)
            .map(usize::to_string)
            .collect();
        let more = if diagram.skipped_lines.len() > LISTED_LINES {
            ", …"
        } else {
            ""
        };
        let _ = match diagram.skipped_lines.len() {
            1 => write!(
                summary,
                " Line {} is not a trace record; it was skipped.",
                lines[0]
            ),
            count => write!(
                summary,
                " {count} lines are not trace records and were skipped (lines {}{more}).",
                lines.join(", ")
            ),
        };
    }
    if diagram.truncated_last_line {
        summary.push_str(" The last line is cut off, as when the program writing it was killed.");
    }
    summary
}
