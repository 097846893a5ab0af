//! `switchboard-conductor trace view`: a trace as a sequence diagram.
//!
//! From a trace (the conductor's `--trace`, or `acp_client --trace`), it draws who said what
//! to whom: the editor, the conductor, each proxy and the agent as lanes, each message as an
//! arrow between the two lanes of the hop it crossed, labelled with its method and id (or
//! `#id result`, `#id error CODE`) and its time since the trace began. Cancellations and error
//! answers stand out; an answer points back to its request.
//!
//! | file | what it does |
//! |---|---|
//! | `parse.rs` | reads the lines of a trace, skipping and counting what is not a record |
//! | `kind.rs` | what a message is, and the label written on its arrow |
//! | `model.rs` | the diagram: lanes, arrows, which answer goes with which request |
//! | `html.rs` | the diagram as one self-contained HTML page with an inline SVG |
//! | `terminal.rs` | the diagram as plain text, at most 100 columns wide |
//! | `summary.rs` | the sentence under both: what of the trace is shown, what was skipped |

mod html;
mod kind;
mod model;
mod parse;
mod summary;
mod terminal;

pub use html::render_html;
pub use kind::Kind;
pub use model::{Arrow, Diagram, Lane, Window};
pub use parse::{Direction, ParsedTrace, Record, parse_trace};
pub use terminal::{WIDTH, render_terminal, render_terminal_in_colour};

use std::io::Write;

use crate::cli::ViewRequest;

/// Does what `request` asks: reads its trace, writes the page to its output file and, if
/// asked, the terminal view to `terminal` (with cancellations and errors in colour if
/// `colour`).
///
/// # Errors
///
/// A message naming the file that cannot be read or written.
pub fn run(request: &ViewRequest, terminal: &mut impl Write, colour: bool) -> Result<(), String> {
    let bytes = std::fs::read(&request.trace)
        .map_err(|error| format!("cannot read the trace {}: {error}", request.trace.display()))?;
    // A trace is UTF-8; a damaged one is still drawn, its bad bytes shown as U+FFFD.
    let trace = parse_trace(&String::from_utf8_lossy(&bytes));
    let diagram = Diagram::new(&trace, request.window);
    if let Some(output) = &request.output {
        let title = request
            .trace
            .file_name()
            .unwrap_or(request.trace.as_os_str());
        let page = render_html(&diagram, &title.to_string_lossy());
        std::fs::write(output, page)
            .map_err(|error| format!("cannot write the page {}: {error}", output.display()))?;
    }
    if request.terminal {
        let text = if colour {
            render_terminal_in_colour(&diagram)
        } else {
            render_terminal(&diagram)
        };
        terminal
            .write_all(text.as_bytes())
            .map_err(|error| format!("cannot write the terminal view: {error}"))?;
    }
    Ok(())
}
