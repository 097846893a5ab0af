//! The diagram as plain text for a terminal: a line per lane name, then a line per message,
//! at most [`WIDTH`] columns, the same output for the same trace every time.
//!
//! ```text
//!   #        time  the editor
//!                  │            the conductor
//!                  │            │            proxy 1 (`acp_prefix_proxy`)
//!                  │            │            │            the agent
//!   1  +0.000000s  ├───────────▶│            │            │  session/prompt #3
//!   2  +0.000020s  │            ├───────────▶│            │  session/prompt #3
//!   3  +0.000100s  │            │◀───────────┤            │  proxy/successor ▸ session/prompt #3
//!   4  +0.000130s  │            ├────────────┼───────────▶│  session/prompt #3
//!   5  +0.500000s  ├───────────▶│            │            │  ✕ $/cancel_request (cancels #3)
//!   6  +0.500200s  │            │◀╌╌╌╌╌╌╌╌╌╌╌┼╌╌╌╌╌╌╌╌╌╌╌╌┤  ! #3 error -32800 (answers 4)
//! ```

use super::kind::Kind;
use super::model::{Arrow, Diagram};
use super::summary::summary;

/// The widest a line gets: a terminal of 100 columns shows it without wrapping.
pub const WIDTH: usize = 100;

/// The room a label keeps at least; lanes get closer together before labels get shorter.
const LABEL_ROOM: usize = 40;

/// The ANSI colours of the marked messages (orange-ish yellow for a cancel, red for an
/// error, as on the page), and back to plain.
const CANCEL_COLOUR: &str = "\x1b[33m";
const ERROR_COLOUR: &str = "\x1b[31m";
const PLAIN: &str = "\x1b[0m";

/// The widest and narrowest gap between two lanes.
const LANE_GAP: std::ops::RangeInclusive<usize> = 3..=16;

/// The diagram as text, each line ending in a line break.
///
/// ```
/// use switchboard_conductor::view::{Diagram, Window, parse_trace, render_terminal};
///
/// let trace = parse_trace(
///     r#"{"time":"2026-11-21T09:30:01.250113Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","id":1,"method":"initialize"}}"#,
/// );
/// let text = render_terminal(&Diagram::new(&trace, Window::default()));
/// assert!(text.contains("├──────────────▶│  initialize #1"), "{text}");
/// ```
pub fn render_terminal(diagram: &Diagram) -> String {
    render(diagram, false)
}

/// [`render_terminal`] with cancellations and error answers in colour (ANSI escapes), for a
/// terminal that shows them.
pub fn render_terminal_in_colour(diagram: &Diagram) -> String {
    render(diagram, true)
}

/// The diagram as text; `colour` says whether to colour the marked messages.
fn render(diagram: &Diagram, colour: bool) -> String {
    let number_width = diagram
        .arrows
        .iter()
        .map(|arrow| arrow.number.to_string().len())
        .max()
        .unwrap_or(1)
        .max(1);
    let time_width = diagram
        .arrows
        .iter()
        .map(|arrow| arrow.offset_text().len())
        .max()
        .unwrap_or(4)
        .max(4);
    // `  N  TIME  ` before the lanes.
    let prefix = 2 + number_width + 2 + time_width + 2;
    let gaps = diagram.lanes.len().saturating_sub(1).max(1);
    let gap = (WIDTH.saturating_sub(prefix + LABEL_ROOM + 2) / gaps)
        .clamp(*LANE_GAP.start(), *LANE_GAP.end());
    let lanes_width = gap * diagram.lanes.len().saturating_sub(1) + 1;
    let mut out = String::new();
    let header = format!(
        "{:>n$}  {:>t$}  ",
        "#",
        "time",
        n = number_width + 2,
        t = time_width
    );
    for (index, lane) in diagram.lanes.iter().enumerate() {
        let mut line = if index == 0 {
            header.clone()
        } else {
            " ".repeat(prefix)
        };
        for _ in 0..index {
            line.push('│');
            line.push_str(&" ".repeat(gap - 1));
        }
        line.push_str(&lane.name);
        push_line(&mut out, &line);
    }
    for arrow in &diagram.arrows {
        let mut line = format!(
            "{:>n$}  {:>t$}  ",
            arrow.number,
            arrow.offset_text(),
            n = number_width + 2,
            t = time_width
        );
        line.push_str(&lanes(arrow, diagram.lanes.len(), gap, lanes_width));
        line.push_str("  ");
        line.push_str(&label(arrow));
        let line = fit(&line);
        match arrow.kind {
            Kind::Cancel if colour => out.push_str(&format!("{CANCEL_COLOUR}{line}{PLAIN}\n")),
            Kind::Error if colour => out.push_str(&format!("{ERROR_COLOUR}{line}{PLAIN}\n")),
            _ => push_line(&mut out, &line),
        }
    }
    for line in wrap(&summary(diagram), WIDTH) {
        push_line(&mut out, &line);
    }
    out
}

/// The lanes part of a message's line: every lane's `│`, and the arrow across them.
fn lanes(arrow: &Arrow, lane_count: usize, gap: usize, width: usize) -> String {
    let column = |lane: usize| lane * gap;
    let mut cells: Vec<char> = vec![' '; width];
    for lane in 0..lane_count {
        cells[column(lane)] = '│';
    }
    let (from, to) = (column(arrow.from), column(arrow.to));
    let (low, high) = (from.min(to), from.max(to));
    // Answers dashed, as on the page.
    let shaft = match arrow.kind {
        Kind::Result | Kind::Error => '╌',
        _ => '─',
    };
    for cell in cells.iter_mut().take(high).skip(low + 1) {
        *cell = if *cell == '│' { '┼' } else { shaft };
    }
    if from < to {
        cells[from] = '├';
        cells[to - 1] = '▶';
    } else if to < from {
        cells[from] = '┤';
        cells[to + 1] = '◀';
    }
    cells.into_iter().collect::<String>().trim_end().to_owned()
}

/// What is written after the lanes: the glyph, the label, the request an answer answers.
fn label(arrow: &Arrow) -> String {
    let mut label = match arrow.kind.glyph() {
        Some(glyph) => format!("{glyph} {}", arrow.label),
        None => arrow.label.clone(),
    };
    if let Some(request) = arrow.answers {
        label.push_str(&format!(" (answers {request})"));
    }
    label
}

/// Adds `line`, cut to [`WIDTH`] columns, with its line break.
fn push_line(out: &mut String, line: &str) {
    out.push_str(&fit(line));
    out.push('\n');
}

/// `line` without trailing blanks, cut to [`WIDTH`] columns (its last one `…`) if longer.
fn fit(line: &str) -> String {
    let line = line.trim_end();
    match line.char_indices().nth(WIDTH) {
        Some((at, _)) => {
            let mut cut: String = line[..at].chars().take(WIDTH - 1).collect();
            cut.push('…');
            cut
        }
        None => line.to_owned(),
    }
}

/// `text` in lines of at most `width` columns, broken between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.len() - 1;
        let current = &mut lines[last];
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::{Window, parse_trace};
    use super::*;

    /// A prompt through one proxy, cancelled, answered with an error; and a line of garbage.
    const TRACE: &str = r#"{"time":"2026-11-21T09:30:01.000000Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{}}}
{"time":"2026-11-21T09:30:01.000020Z","hop":1,"component":"proxy 1 (`acp_prefix_proxy`)","direction":"sent","message":{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{}}}
{"time":"2026-11-21T09:30:01.000100Z","hop":1,"component":"proxy 1 (`acp_prefix_proxy`)","direction":"received","message":{"jsonrpc":"2.0","id":3,"method":"proxy/successor","params":{"method":"session/prompt","params":{}}}}
{"time":"2026-11-21T09:30:01.000130Z","hop":2,"component":"the agent","direction":"sent","message":{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{}}}
not a trace line
{"time":"2026-11-21T09:30:01.500000Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","method":"$/cancel_request","params":{"requestId":3}}}
{"time":"2026-11-21T09:30:01.500100Z","hop":2,"component":"the agent","direction":"received","message":{"jsonrpc":"2.0","method":"session/update","params":{}}}
{"time":"2026-11-21T09:30:01.500200Z","hop":2,"component":"the agent","direction":"received","message":{"jsonrpc":"2.0","id":3,"error":{"code":-32800,"message":"cancelled"}}}
{"time":"2026-11-21T09:30:01.500300Z","hop":0,"component":"the editor","direction":"sent","message":{"jsonrpc":"2.0","id":3,"error":{"code":-32800,"message":"cancelled"}}}
"#;

    #[test]
    fn a_small_trace_draws_the_same_every_time() {
        let text = render_terminal(&Diagram::new(&parse_trace(TRACE), Window::default()));
        let expected = "  #        time  the editor
                 │            the conductor
                 │            │            proxy 1 (`acp_prefix_proxy`)
                 │            │            │            the agent
  1  +0.000000s  ├───────────▶│            │            │  session/prompt #3
  2  +0.000020s  │            ├───────────▶│            │  session/prompt #3
  3  +0.000100s  │            │◀───────────┤            │  proxy/successor ▸ session/prompt #3
  4  +0.000130s  │            ├────────────┼───────────▶│  session/prompt #3
  5  +0.500000s  ├───────────▶│            │            │  ✕ $/cancel_request (cancels #3)
  6  +0.500100s  │            │◀───────────┼────────────┤  session/update
  7  +0.500200s  │            │◀╌╌╌╌╌╌╌╌╌╌╌┼╌╌╌╌╌╌╌╌╌╌╌╌┤  ! #3 error -32800 (answers 4)
  8  +0.500300s  │◀╌╌╌╌╌╌╌╌╌╌╌┤            │            │  ! #3 error -32800 (answers 1)
8 messages. Line 5 is not a trace record; it was skipped.
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn in_colour_only_the_marked_lines_change() {
        let diagram = Diagram::new(&parse_trace(TRACE), Window::default());
        let plain = render_terminal(&diagram);
        let coloured = render_terminal_in_colour(&diagram);
        let changed: Vec<(&str, &str)> = plain
            .lines()
            .zip(coloured.lines())
            .filter(|(plain, coloured)| plain != coloured)
            .collect();
        assert_eq!(changed.len(), 3);
        assert_eq!(
            changed[0].1,
            format!("{CANCEL_COLOUR}{}{PLAIN}", changed[0].0)
        );
        assert_eq!(
            changed[1].1,
            format!("{ERROR_COLOUR}{}{PLAIN}", changed[1].0)
        );
    }

    #[test]
    fn no_line_is_wider_than_a_terminal() {
        let mut trace = String::new();
        for hop in 0..30 {
            let method = "m".repeat(200);
            trace.push_str(&format!(
                r#"{{"time":"2026-11-21T09:30:01.000000Z","hop":{hop},"component":"proxy {hop} {method}","direction":"sent","message":{{"jsonrpc":"2.0","id":1,"method":"{method}"}}}}"#
            ));
            trace.push('\n');
        }
        let text = render_terminal(&Diagram::new(&parse_trace(&trace), Window::default()));
        assert_eq!(text.lines().count(), 31 + 30 + 1);
        for line in text.lines() {
            assert!(
                line.chars().count() <= WIDTH,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }
}
