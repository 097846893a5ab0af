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
//! | `model.rs` | the diagram: lanes, arrows, which answer goes with which request |
//! | `html.rs` | the diagram as one self-contained HTML page with an inline SVG |
//! | `terminal.rs` | the diagram as plain text, at most 100 columns wide |

mod html;
mod model;
mod parse;

pub use html::render_html;
pub use model::{Arrow, Diagram, Kind, Lane, Window};
pub use parse::{Direction, ParsedTrace, Record, parse_trace};
