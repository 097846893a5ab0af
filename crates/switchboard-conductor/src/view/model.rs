//! The sequence diagram of a trace, before it is drawn: lanes, and one arrow per message.
//!
//! Both pictures (the page and the terminal view) draw this model, so they always agree on
//! what a message is, where it goes and how it is labelled.

use std::collections::HashMap;

use serde_json::Value;

use super::kind::{Kind, describe};
use super::parse::{Direction, ParsedTrace, Record};

/// The longest label or lane name a picture writes; a method or component name longer than
/// this (only a broken or hostile peer sends one) is cut, so one message cannot push the
/// others off the page.
const LABEL_CHARS: usize = 72;

/// How much of a message's JSON a diagram keeps, for the page's hover text; enough to read
/// its params without letting one huge frame blow up the page.
const DETAIL_CHARS: usize = 600;

/// A column of the diagram: one party to the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// Its name, as the trace gives it (`the editor`, ``proxy 1 (`acp_prefix_proxy`)``).
    pub name: String,
}

/// One message: an arrow between the two lanes of its hop.
#[derive(Clone, Debug)]
pub struct Arrow {
    /// Its number among the messages of the whole trace, from 1.
    pub number: usize,
    /// The trace line it came from, from 1.
    pub line: usize,
    /// The lane it leaves.
    pub from: usize,
    /// The lane it reaches.
    pub to: usize,
    /// Microseconds since the trace's first record, if both times could be read.
    pub offset_micros: Option<i64>,
    /// What it is.
    pub kind: Kind,
    /// What the pictures write on it: the method and id, or `#id result`, `#id error CODE`.
    pub label: String,
    /// For an answer: the number of the request it answers (same hop, same id, the other
    /// way), if that request is in the trace.
    pub answers: Option<usize>,
    /// For a request: the number of its answer, if the trace has it.
    pub answered_by: Option<usize>,
    /// The message's JSON, cut to a readable length.
    pub detail: String,
}

impl Arrow {
    /// Its time since the trace began, in seconds with microseconds (`+0.000231s`), or `?`.
    pub fn offset_text(&self) -> String {
        match self.offset_micros {
            Some(micros) => {
                let sign = if micros < 0 { '-' } else { '+' };
                let micros = micros.unsigned_abs();
                format!("{sign}{}.{:06}s", micros / 1_000_000, micros % 1_000_000)
            }
            None => "?".to_owned(),
        }
    }
}

/// Which messages of a trace a picture shows: big traces are shown a window at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The number of the first message shown, from 1.
    pub first: usize,
    /// At most this many messages are shown.
    pub limit: usize,
}

impl Window {
    /// A thousand messages keep the page a few megabytes at most and quick to open; longer
    /// traces are read a window at a time (`--from`, `--limit`).
    pub const DEFAULT_LIMIT: usize = 1000;
}

impl Default for Window {
    fn default() -> Self {
        Window {
            first: 1,
            limit: Window::DEFAULT_LIMIT,
        }
    }
}

/// A trace as a sequence diagram.
#[derive(Clone, Debug)]
pub struct Diagram {
    /// The lanes, left to right: the editor, the conductor, each proxy, the agent.
    pub lanes: Vec<Lane>,
    /// The messages in the window, in trace order.
    pub arrows: Vec<Arrow>,
    /// How many messages the whole trace has.
    pub total_messages: usize,
    /// The trace lines that were not records (see [`ParsedTrace`]).
    pub skipped_lines: Vec<usize>,
    /// Whether the trace ends mid-record.
    pub truncated_last_line: bool,
}

impl Diagram {
    /// The diagram of `trace`, showing the messages in `window`.
    ///
    /// Lanes come from the hops: one per hop, in hop order, named by its component, and one
    /// for whoever wrote the trace. In a conductor's trace (hop 0 is `the editor`), that is
    /// `the conductor`, between the editor and the first proxy; in a client's trace (such as
    /// `acp_client --trace`), it is `the client`, on the left.
    pub fn new(trace: &ParsedTrace, window: Window) -> Diagram {
        let (lanes, lane_of_hop, observer) = lanes(&trace.records);
        let start = trace.records.iter().find_map(|record| record.time_micros);
        let mut arrows: Vec<Arrow> = Vec::with_capacity(trace.records.len());
        // Requests waiting for their answer: (hop, the request's direction, id) -> number.
        let mut pending: HashMap<(u64, bool, String), usize> = HashMap::new();
        for (index, record) in trace.records.iter().enumerate() {
            let number = index + 1;
            let lane = lane_of_hop.get(&record.hop).copied().unwrap_or(observer);
            let (from, to) = match record.direction {
                Direction::Sent => (observer, lane),
                Direction::Received => (lane, observer),
            };
            let (kind, label) = describe(&record.message);
            let label = cut(&label, LABEL_CHARS);
            let sent = record.direction == Direction::Sent;
            let id = record.message.get("id").map(Value::to_string);
            let mut answers = None;
            match (kind, id) {
                (Kind::Request | Kind::Cancel, Some(id))
                    if record.message.get("method").is_some() =>
                {
                    pending.insert((record.hop, sent, id), number);
                }
                (Kind::Result | Kind::Error, Some(id)) => {
                    answers = pending.remove(&(record.hop, !sent, id));
                    if let Some(request) = answers.and_then(|n| arrows.get_mut(n - 1)) {
                        request.answered_by = Some(number);
                    }
                }
                _ => {}
            }
            arrows.push(Arrow {
                number,
                line: record.line,
                from,
                to,
                offset_micros: record
                    .time_micros
                    .zip(start)
                    .map(|(time, start)| time - start),
                kind,
                label,
                answers,
                answered_by: None,
                // Made below, for the messages shown only.
                detail: String::new(),
            });
        }
        let total_messages = arrows.len();
        let shown: Vec<Arrow> = arrows
            .into_iter()
            .skip(window.first.saturating_sub(1))
            .take(window.limit)
            .map(|mut arrow| {
                if let Some(record) = trace.records.get(arrow.number - 1) {
                    arrow.detail = detail(record);
                }
                arrow
            })
            .collect();
        Diagram {
            lanes,
            arrows: shown,
            total_messages,
            skipped_lines: trace.skipped_lines.clone(),
            truncated_last_line: trace.truncated_last_line,
        }
    }
}

/// The lanes, the lane of each hop, and the observer's lane.
fn lanes(records: &[Record]) -> (Vec<Lane>, HashMap<u64, usize>, usize) {
    let mut hops: Vec<(u64, &str)> = Vec::new();
    for record in records {
        if !hops.iter().any(|(hop, _)| *hop == record.hop) {
            hops.push((record.hop, &record.component));
        }
    }
    if hops.is_empty() {
        return (Vec::new(), HashMap::new(), 0);
    }
    hops.sort_by_key(|(hop, _)| *hop);
    let conductors_trace = hops
        .first()
        .is_some_and(|(hop, name)| *hop == 0 && name.starts_with("the editor"));
    let mut lanes = Vec::with_capacity(hops.len() + 1);
    let mut lane_of_hop = HashMap::new();
    let observer_name = if conductors_trace {
        "the conductor"
    } else {
        "the client"
    };
    let observer_at = usize::from(conductors_trace);
    for (hop, name) in hops {
        if lanes.len() == observer_at {
            lanes.push(Lane {
                name: observer_name.to_owned(),
            });
        }
        lane_of_hop.insert(hop, lanes.len());
        lanes.push(Lane {
            name: cut(name, LABEL_CHARS),
        });
    }
    if lanes.len() == observer_at {
        lanes.push(Lane {
            name: observer_name.to_owned(),
        });
    }
    (lanes, lane_of_hop, observer_at)
}

/// The record's message as compact JSON, cut at [`DETAIL_CHARS`].
fn detail(record: &Record) -> String {
    cut(&record.message.to_string(), DETAIL_CHARS)
}

/// `text`, or its first `chars` characters and `…`.
fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_trace;
    use super::*;

    fn line(hop: u64, component: &str, direction: &str, message: &str) -> String {
        format!(
            r#"{{"time":"2026-11-21T09:30:01.{hop:06}Z","hop":{hop},"component":"{component}","direction":"{direction}","message":{message}}}"#
        )
    }

    #[test]
    fn lanes_follow_the_chain_with_the_conductor_after_the_editor() {
        let text = [
            line(2, "the agent", "sent", r#"{"jsonrpc":"2.0","method":"a"}"#),
            line(
                0,
                "the editor",
                "received",
                r#"{"jsonrpc":"2.0","method":"b"}"#,
            ),
            line(1, "proxy 1", "sent", r#"{"jsonrpc":"2.0","method":"c"}"#),
        ]
        .join("\n");
        let diagram = Diagram::new(&parse_trace(&text), Window::default());
        let names: Vec<&str> = diagram
            .lanes
            .iter()
            .map(|lane| lane.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["the editor", "the conductor", "proxy 1", "the agent"]
        );
        let ends: Vec<(usize, usize)> = diagram.arrows.iter().map(|a| (a.from, a.to)).collect();
        assert_eq!(ends, [(1, 3), (0, 1), (1, 2)]);
        assert_eq!(diagram.arrows[0].offset_micros, Some(0));
        assert_eq!(diagram.arrows[1].offset_micros, Some(-2));
    }

    #[test]
    fn a_clients_trace_puts_the_client_on_the_left() {
        let text = line(
            0,
            "the agent (`x`)",
            "sent",
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
        );
        let diagram = Diagram::new(&parse_trace(&text), Window::default());
        assert_eq!(diagram.lanes[0].name, "the client");
        assert_eq!((diagram.arrows[0].from, diagram.arrows[0].to), (0, 1));
    }

    #[test]
    fn answers_link_to_their_request_on_the_same_hop_only() {
        let text = [
            line(0, "the editor", "received", r#"{"jsonrpc":"2.0","id":3,"method":"session/prompt"}"#),
            line(1, "proxy 1", "sent", r#"{"jsonrpc":"2.0","id":3,"method":"session/prompt"}"#),
            line(0, "the editor", "received", r#"{"jsonrpc":"2.0","method":"$/cancel_request","params":{"requestId":3}}"#),
            line(1, "proxy 1", "received", r#"{"jsonrpc":"2.0","method":"proxy/successor","params":{"method":"session/cancel","params":{}}}"#),
            line(1, "proxy 1", "received", r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32800,"message":"cancelled"}}"#),
            line(0, "the editor", "sent", r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            r#"{"time":"?","hop":0,"component":"the editor","direction":"sent","message":"garbage"}"#.to_owned(),
        ]
        .join("\n");
        let diagram = Diagram::new(&parse_trace(&text), Window::default());
        let labels: Vec<(Kind, &str)> = diagram
            .arrows
            .iter()
            .map(|a| (a.kind, a.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                (Kind::Request, "session/prompt #3"),
                (Kind::Request, "session/prompt #3"),
                (Kind::Cancel, "$/cancel_request (cancels #3)"),
                (Kind::Cancel, "proxy/successor ▸ session/cancel"),
                (Kind::Error, "#3 error -32800"),
                (Kind::Result, "#3 result"),
                (Kind::Other, "(not JSON-RPC)"),
            ]
        );
        assert_eq!(diagram.arrows[4].answers, Some(2));
        assert_eq!(diagram.arrows[5].answers, Some(1));
        assert_eq!(diagram.arrows[0].answered_by, Some(6));
        assert_eq!(diagram.arrows[1].answered_by, Some(5));
        assert_eq!(diagram.arrows[6].offset_micros, None);
    }

    #[test]
    fn huge_names_are_cut() {
        let name = "n".repeat(5000);
        let text = line(
            0,
            &name,
            "sent",
            &format!(r#"{{"jsonrpc":"2.0","method":"{name}"}}"#),
        );
        let diagram = Diagram::new(&parse_trace(&text), Window::default());
        assert_eq!(diagram.lanes[1].name, format!("{}…", &name[..LABEL_CHARS]));
        assert_eq!(
            diagram.arrows[0].label,
            format!("{}…", &name[..LABEL_CHARS])
        );
        assert_eq!(diagram.arrows[0].detail.chars().count(), DETAIL_CHARS + 1);
    }

    #[test]
    fn a_trace_without_records_has_no_lanes() {
        let diagram = Diagram::new(&parse_trace("nothing here\n"), Window::default());
        assert!(diagram.lanes.is_empty() && diagram.arrows.is_empty());
        assert_eq!(diagram.skipped_lines, [1]);
    }

    #[test]
    fn a_window_shows_part_and_counts_the_whole() {
        let text: Vec<String> = (0..10)
            .map(|_| {
                line(
                    0,
                    "the editor",
                    "received",
                    r#"{"jsonrpc":"2.0","method":"m"}"#,
                )
            })
            .collect();
        let diagram = Diagram::new(
            &parse_trace(&text.join("\n")),
            Window { first: 4, limit: 3 },
        );
        assert_eq!(diagram.total_messages, 10);
        let numbers: Vec<usize> = diagram.arrows.iter().map(|a| a.number).collect();
        assert_eq!(numbers, [4, 5, 6]);
        assert_eq!(
            diagram.arrows[0].detail,
            r#"{"jsonrpc":"2.0","method":"m"}"#
        );
    }
}
