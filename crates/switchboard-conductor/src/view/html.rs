//! The diagram as one self-contained HTML page: an inline SVG and its CSS, no script, nothing
//! fetched, so the file can be mailed, attached to an issue or opened offline.
//!
//! Every string that comes from the trace (lane names, labels, the JSON shown on hover) and
//! the title go through [`escape`]: a trace is untrusted input, and a method named
//! `<script>` must show as text.

use std::fmt::Write as _;

use super::kind::Kind;
use super::model::{Arrow, Diagram};
use super::summary::summary;

/// The left margin, where each message's number (the one `(answers N)` and the terminal view
/// use) and its time are written.
const TIME_COLUMN: usize = 150;
/// The distance between two lanes: room for a label between them.
const LANE_GAP: usize = 220;
/// The height of the lane names above the first message.
const HEADER: usize = 56;
/// The height of one message's row.
const ROW: usize = 30;

/// The page's style: one colour and one line style per kind of message.
const STYLE: &str = "\
body{font:14px system-ui,sans-serif;margin:16px;color:#1f2937}
h1{font-size:18px;margin:0 0 4px}
p.summary{margin:0 0 8px;color:#4b5563}
ul.legend{list-style:none;padding:0;margin:0 0 12px;display:flex;gap:16px;flex-wrap:wrap}
ul.legend li::before{content:'';display:inline-block;width:28px;height:0;vertical-align:middle;margin-right:6px;border-top:2px solid currentColor}
ul.legend li.result::before,ul.legend li.error::before{border-top-style:dashed}
svg text{font:12px ui-monospace,monospace}
.lane line{stroke:#9ca3af;stroke-dasharray:4 4}
.lane text{font:bold 13px system-ui,sans-serif;fill:#111827}
.message line{stroke:currentColor;stroke-width:1.5}
.message text.label{fill:currentColor;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.message text.time{fill:#6b7280}
.message:hover line{stroke-width:3}
[data-kind=result] line,[data-kind=error] line{stroke-dasharray:6 3}
[data-kind=cancel] line{stroke-width:2.5}
[data-kind=error] text.label,[data-kind=cancel] text.label{font-weight:bold}
";

/// The colour of each kind of message, for its line, its arrowhead, its label and the legend.
const COLOURS: [(Kind, &str); 6] = [
    (Kind::Request, "#1d4ed8"),
    (Kind::Notification, "#0f766e"),
    (Kind::Result, "#4b5563"),
    (Kind::Cancel, "#c2410c"),
    (Kind::Error, "#b91c1c"),
    (Kind::Other, "#7c3aed"),
];

/// The page for `diagram`, titled after `title` (usually the trace's file name).
///
/// ```
/// use switchboard_conductor::view::{Diagram, Window, parse_trace, render_html};
///
/// let trace = parse_trace(
///     r#"{"time":"2026-11-21T09:30:01.250113Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","id":1,"method":"<script>"}}"#,
/// );
/// let page = render_html(&Diagram::new(&trace, Window::default()), "t.jsonl");
/// assert_eq!(page.matches("<g class=\"message\"").count(), 1);
/// assert!(page.contains("&lt;script&gt; #1") && !page.contains("<script>"));
/// ```
pub fn render_html(diagram: &Diagram, title: &str) -> String {
    let mut page = String::with_capacity(4096 + diagram.arrows.len() * 600);
    let title = escape(title);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}: a conversation</title>\n<style>\n{STYLE}{}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<p class=\"summary\">{}</p>\n",
        COLOURS
            .map(|(kind, colour)| {
                let kind = kind.name();
                format!("[data-kind={kind}],li.{kind}{{color:{colour}}}\n")
            })
            .concat(),
        escape(&summary(diagram))
    );
    page.push_str("<ul class=\"legend\">");
    for (kind, what) in [
        (Kind::Request, "request"),
        (Kind::Result, "answer"),
        (Kind::Notification, "notification"),
        (Kind::Cancel, "✕ cancel"),
        (Kind::Error, "! error answer"),
        (Kind::Other, "not JSON-RPC"),
    ] {
        let _ = write!(page, "<li class=\"{}\">{what}</li>", kind.name());
    }
    page.push_str("</ul>\n");
    push_svg(&mut page, diagram);
    page.push_str("</body>\n</html>\n");
    page
}

/// The x of a lane's line.
fn lane_x(lane: usize) -> usize {
    TIME_COLUMN + LANE_GAP / 2 + lane * LANE_GAP
}

/// The diagram itself.
fn push_svg(page: &mut String, diagram: &Diagram) {
    let width = TIME_COLUMN + diagram.lanes.len() * LANE_GAP;
    let height = HEADER + (diagram.arrows.len() + 1) * ROW;
    let _ = writeln!(
        page,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    // One arrowhead per kind, in the colour of the line it ends.
    page.push_str("<defs>");
    for (kind, colour) in COLOURS {
        let _ = write!(
            page,
            "<marker id=\"head-{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerUnits=\"userSpaceOnUse\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>",
            kind.name()
        );
    }
    page.push_str("</defs>\n");
    for (index, lane) in diagram.lanes.iter().enumerate() {
        let x = lane_x(index);
        // `proxy 1 (`acp_prefix_proxy`)` on two lines, so neighbours' names do not overlap.
        let (name, program) = match lane.name.split_once(" (") {
            Some((name, program)) => (name, format!("({program}")),
            None => (lane.name.as_str(), String::new()),
        };
        let _ = writeln!(
            page,
            "<g class=\"lane\"><text x=\"{x}\" y=\"18\" text-anchor=\"middle\">{}\
             <tspan x=\"{x}\" dy=\"15\">{}</tspan></text>\
             <line x1=\"{x}\" y1=\"40\" x2=\"{x}\" y2=\"{height}\"/></g>",
            escape(name),
            escape(&program)
        );
    }
    let shown = diagram.arrows.first().map_or(0, |arrow| arrow.number)
        ..=diagram.arrows.last().map_or(0, |arrow| arrow.number);
    for (row, arrow) in diagram.arrows.iter().enumerate() {
        push_arrow(page, arrow, HEADER + row * ROW + ROW / 2 + 8, &shown);
    }
    page.push_str("</svg>\n");
}

/// One message: its time, its line, its label; its JSON on hover; a link to its request.
fn push_arrow(page: &mut String, arrow: &Arrow, y: usize, shown: &std::ops::RangeInclusive<usize>) {
    let (x1, x2) = (lane_x(arrow.from), lane_x(arrow.to));
    let middle = (x1 + x2) / 2;
    let label = match arrow.kind.glyph() {
        Some(glyph) => format!("{glyph} {}", arrow.label),
        None => arrow.label.clone(),
    };
    let mut hover = format!("message {}, trace line {}", arrow.number, arrow.line);
    if let Some(request) = arrow.answers {
        let _ = write!(hover, ", answers message {request}");
    }
    if let Some(answer) = arrow.answered_by {
        let _ = write!(hover, ", answered by message {answer}");
    }
    let _ = write!(
        page,
        "<g class=\"message\" data-kind=\"{}\" id=\"m{}\"><title>{}\n{}</title>\
         <text class=\"time\" x=\"40\" y=\"{y}\" text-anchor=\"end\">{}</text>\
         <text class=\"time\" x=\"48\" y=\"{y}\">{}</text>\
         <line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#head-{})\"/>",
        arrow.kind.name(),
        arrow.number,
        escape(&hover),
        escape(&arrow.detail),
        arrow.number,
        escape(&arrow.offset_text()),
        arrow.kind.name(),
    );
    let text = format!(
        "<text class=\"label\" x=\"{middle}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        y - 6,
        escape(&label)
    );
    match arrow.answers.filter(|request| shown.contains(request)) {
        Some(request) => {
            let _ = write!(page, "<a href=\"#m{request}\">{text}</a>");
        }
        None => page.push_str(&text),
    }
    page.push_str("</g>\n");
}

/// `text` safe inside an element or a quoted attribute: markup characters as entities, and
/// control characters (which HTML does not allow) as U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\n' | '\t' => escaped.push(c),
            c if c.is_control() => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::super::{Window, parse_trace};
    use super::*;

    const HOSTILE: &str = r#"{"time":"2026-11-21T09:30:01.000000Z","hop":0,"component":"<img src=x onerror=alert(1)>","direction":"received","message":{"jsonrpc":"2.0","id":"<b>","method":"<script>alert(1)</script>","params":{"x":"</title><script>"}}}"#;

    #[test]
    fn nothing_from_the_trace_becomes_markup() {
        let diagram = Diagram::new(&parse_trace(HOSTILE), Window::default());
        let page = render_html(&diagram, "a\"<i>.jsonl");
        for raw in ["<script", "<img", "<b>", "<i>"] {
            assert!(!page.contains(raw), "{raw} made it through:\n{page}");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; #&quot;&lt;b&gt;&quot;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        // The message's JSON, on hover, cannot close its element either.
        assert!(page.contains("&lt;/title&gt;&lt;script&gt;"));
        assert!(page.contains("<title>a&quot;&lt;i&gt;.jsonl: a conversation</title>"));
    }

    #[test]
    fn the_page_needs_nothing_from_elsewhere() {
        let diagram = Diagram::new(&parse_trace(HOSTILE), Window::default());
        let page = render_html(&diagram, "t");
        for outside in ["<script", "src=\"", "<link", "http:", "https:", "@import"] {
            // The SVG namespace is a name, not something fetched.
            let page = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!page.contains(outside), "{outside}");
        }
    }

    #[test]
    fn an_answer_links_to_its_request_when_both_are_shown() {
        let text = [
            r#"{"time":"2026-11-21T09:30:01.000000Z","hop":0,"component":"the editor","direction":"received","message":{"jsonrpc":"2.0","id":1,"method":"initialize"}}"#,
            r#"{"time":"2026-11-21T09:30:01.000100Z","hop":0,"component":"the editor","direction":"sent","message":{"jsonrpc":"2.0","id":1,"error":{"code":-32603}}}"#,
        ]
        .join("\n");
        let trace = parse_trace(&text);
        let page = render_html(&Diagram::new(&trace, Window::default()), "t");
        assert!(
            page.contains("<a href=\"#m1\"><text class=\"label\""),
            "{page}"
        );
        assert!(page.contains(">! #1 error -32603</text>"), "{page}");
        assert!(page.contains(">+0.000100s</text>"), "{page}");
        let second = Window { first: 2, limit: 1 };
        let page = render_html(&Diagram::new(&trace, second), "t");
        assert!(!page.contains("href="), "{page}");
        assert!(page.contains("Messages 2 to 2 of 2"), "{page}");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            escape("a<&>\"'\u{0}\u{1b}b\n"),
            "a&lt;&amp;&gt;&quot;&#39;\u{fffd}\u{fffd}b\n"
        );
    }
}
