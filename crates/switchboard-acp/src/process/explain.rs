//! [`AgentProcess::explain`]: a connection error, told from the agent's side.
//!
//! When an agent dies, the client sees only that its connection closed. The reason is
//! elsewhere: in the agent's exit status and in the last things it wrote to stderr ("missing
//! API key", a stack trace). `explain` fetches both and adds them to the error.

use std::process::ExitStatus;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::Error;

use super::AgentProcess;

/// How long [`AgentProcess::explain`] waits for an agent whose connection closed to exit
/// before it kills it: 2 s. An agent that closes its stdout is normally exiting; one that is
/// still there after this is stuck, and is killed so that nothing is left behind.
pub const EXIT_GRACE: Duration = Duration::from_secs(2);

/// At most this many of the agent's last stderr lines go into an explained error: 20.
pub const EXPLAINED_STDERR_LINES: usize = 20;

/// At most this many bytes of the agent's stderr go into an explained error: 4 KiB, so that
/// an agent that printed a novel does not make an error message one.
pub const EXPLAINED_STDERR_BYTES: usize = 4 * 1024;

/// What became of the agent, as far as `explain` could find out.
enum Fate {
    /// It exited (or was killed by someone else) with this status.
    Exited(ExitStatus),
    /// Its connection closed but it did not exit within [`EXIT_GRACE`], so `explain` killed
    /// it; the error, if killing failed.
    KilledWhenStuck(Option<Error>),
    /// It is still running, and the error was not about the connection closing.
    Running,
    /// The system would not say.
    Unknown(Error),
}

impl AgentProcess {
    /// Turns `error`, from the connection to this agent, into one that says what became of
    /// the agent: whether it exited and with what status, and the last lines it wrote to
    /// stderr (at most [`EXPLAINED_STDERR_LINES`] lines and [`EXPLAINED_STDERR_BYTES`]
    /// bytes). The code stays the same, so the result is checked the same way as the
    /// original (`is_connection_closed`, `is_timeout`, ...).
    ///
    /// If `error` says the connection closed and the agent is still running, this waits up to
    /// [`EXIT_GRACE`] for it to exit, and kills it (with its process group) if it does not.
    /// Otherwise it does not wait, and a running agent is left running.
    ///
    /// The error's data, when it has none or has an object, gains an `agent` entry with the
    /// same facts: `program`, `state` (the phrase used in the message), `exitCode` (or
    /// `null`) and `stderr`.
    ///
    /// ```no_run
    /// use switchboard_acp::Client;
    /// use switchboard_acp::process::{AgentProcess, Handshake, handshake};
    ///
    /// # async fn run() -> Result<(), switchboard::Error> {
    /// let mut agent = AgentProcess::spawn_line("my-agent --acp")?;
    /// let started = Client
    ///     .builder()
    ///     .connect_with(agent.stdio()?, async |cx| {
    ///         handshake(&cx, Handshake::new("/tmp")).await.map(|started| started.new_session)
    ///     })
    ///     .await;
    /// if let Err(error) = started {
    ///     let error = agent.explain(error).await;
    ///     // For example: "Connection closed: ...; the agent `my-agent` exited with status 1;
    ///     // its stderr ends with:\nerror: no API key set"
    ///     eprintln!("{}", error.message());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn explain(&mut self, error: Error) -> Error {
        let fate = self.fate(error.is_connection_closed()).await;
        let tail = self.stderr_tail();
        let stderr = last_lines(&tail, EXPLAINED_STDERR_LINES, EXPLAINED_STDERR_BYTES);
        explained(error, &self.program, &self.description, &fate, stderr)
    }

    /// Finds out whether the agent exited, waiting for it (and killing it) only when the
    /// connection closed.
    async fn fate(&mut self, connection_closed: bool) -> Fate {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) if connection_closed => {
                match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                    Ok(Ok(status)) => return Fate::Exited(status),
                    Ok(Err(error)) => return Fate::Unknown(error),
                    Err(_elapsed) => {
                        return Fate::KilledWhenStuck(self.child.kill().await.err());
                    }
                }
            }
            Ok(None) => return Fate::Running,
            Err(error) => return Fate::Unknown(error),
        };
        // The agent has exited, but what it wrote last may still be on its way into the tail:
        // `wait` returns at once for an exited child, after taking in all of it. Bounded all
        // the same, in case the platform waits for a grandchild holding stderr open.
        let _ = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await;
        Fate::Exited(status)
    }
}

/// The explained error: `error`'s code, its message followed by the agent's fate and stderr,
/// and its data with an `agent` entry added.
fn explained(error: Error, program: &str, who: &str, fate: &Fate, stderr: &str) -> Error {
    let state = describe(fate);
    let mut message = format!("{}; {who} {state}", error.message());
    if stderr.is_empty() {
        message.push_str("; it wrote nothing to stderr");
    } else {
        message.push_str("; its stderr ends with:\n");
        message.push_str(stderr);
    }
    let exit_code = match fate {
        Fate::Exited(status) => status.code(),
        _ => None,
    };
    let agent = json!({
        "program": program,
        "state": state,
        "exitCode": exit_code,
        "stderr": stderr,
    });
    let data = match error.data().cloned() {
        None => Some(json!({ "agent": agent })),
        Some(Value::Object(mut fields)) => {
            fields.entry("agent").or_insert(agent);
            Some(Value::Object(fields))
        }
        // Data of another shape is the peer's; it is kept as it is.
        Some(other) => Some(other),
    };
    let explained = Error::new(error.code(), message);
    match data {
        Some(data) => explained.with_data(data),
        None => explained,
    }
}

/// The agent's fate as the end of a sentence that starts "the agent `program` ...".
fn describe(fate: &Fate) -> String {
    match fate {
        Fate::Exited(status) => describe_status(*status),
        Fate::KilledWhenStuck(None) => format!(
            "did not exit within {EXIT_GRACE:?} of its connection closing, so it was killed"
        ),
        Fate::KilledWhenStuck(Some(error)) => format!(
            "did not exit within {EXIT_GRACE:?} of its connection closing, and killing it \
             failed: {}",
            error.message()
        ),
        Fate::Running => "is still running".to_owned(),
        Fate::Unknown(error) => {
            format!("is in a state that could not be read: {}", error.message())
        }
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("exited ({status})")
}

/// The end of `text`: its last `max_lines` lines, cut further to its last `max_bytes` bytes
/// at a line start, without the trailing line break. A last line longer than `max_bytes` is
/// cut inside, at a character boundary.
fn last_lines(text: &str, max_lines: usize, max_bytes: usize) -> &str {
    let text = text.trim_end();
    if max_lines == 0 || max_bytes == 0 {
        return "";
    }
    // After the `max_lines`-th line break from the end, if there are that many.
    let mut start = text
        .rmatch_indices('\n')
        .nth(max_lines - 1)
        .map_or(0, |(at, _)| at + 1);
    if text.len() - start > max_bytes {
        let earliest = text.len() - max_bytes;
        // The first line that starts at or after `earliest`. A line break is one byte, so the
        // position after it is always a character boundary.
        start = match text.as_bytes()[earliest..].iter().position(|&b| b == b'\n') {
            Some(at) => earliest + at + 1,
            None => (earliest..text.len())
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(text.len()),
        };
    }
    text.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::error::codes;

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let text = "one\ntwo\nthree\nfour\n\n";
        assert_eq!(last_lines(text, 2, 100), "three\nfour");
        assert_eq!(last_lines(text, 10, 100), "one\ntwo\nthree\nfour");
        assert_eq!(last_lines("", 5, 100), "");
        assert_eq!(last_lines(text, 0, 100), "");
    }

    #[test]
    fn the_tail_keeps_whole_lines_within_its_bytes() {
        let text = "aaaaaaaaaa\nbbbbb\ncc\n";
        // "bbbbb\ncc" is 8 bytes; with 9 allowed, the cut falls inside the a's.
        assert_eq!(last_lines(text, 10, 9), "bbbbb\ncc");
        assert_eq!(last_lines(text, 10, 8), "cc");
    }

    #[test]
    fn a_long_last_line_is_cut_at_a_character_boundary() {
        // Each "é" is two bytes; a cut after 5 bytes from the end falls inside one.
        let text = "éééé";
        assert_eq!(last_lines(text, 3, 5), "éé");
        assert_eq!(last_lines("short\nxxxxxxxx", 3, 4), "xxxx");
    }

    #[test]
    fn an_explained_error_keeps_the_code_and_the_peers_data() {
        let original = Error::connection_closed("end of input")
            .with_data(json!({"why": "eof", "agent": "kept"}));
        let fate = Fate::Running;
        let error = explained(
            original,
            "my-agent",
            "the agent `my-agent`",
            &fate,
            "line 1\nline 2",
        );
        assert_eq!(error.code(), codes::CONNECTION_CLOSED);
        assert_eq!(
            error.message(),
            "Connection closed: end of input; the agent `my-agent` is still running; its \
             stderr ends with:\nline 1\nline 2"
        );
        // The peer's own `agent` entry is not overwritten.
        assert_eq!(error.data(), Some(&json!({"why": "eof", "agent": "kept"})));

        let error = explained(
            Error::timed_out(EXIT_GRACE),
            "a",
            "the agent `a`",
            &Fate::Running,
            "",
        );
        assert!(error.is_timeout());
        assert!(error.message().ends_with("it wrote nothing to stderr"));
        assert_eq!(
            error.data(),
            Some(&json!({"agent": {
                "program": "a", "state": "is still running", "exitCode": null, "stderr": "",
            }}))
        );
    }
}
