//! `switchboard-conductor trace view`, the program: a real trace drawn as a page that a real
//! browser renders, as text, and the mistakes it names.
//!
//! `fixtures/cancelled_prompt.jsonl` is a trace the conductor wrote, of an editor talking to
//! `acp_echo_agent` through `acp_prefix_proxy`: `initialize`, `session/new`, a prompt the
//! editor cancels with `$/cancel_request` (answered -32800 on every hop), then a request for
//! a method nobody has (-32601). 52 messages on 3 hops.
//!
//! The browser test runs Chromium headless (Debian's `chromium` package). Without it, the test
//! says on stderr, past the harness's capture, that it is skipped and why; with
//! `SWITCHBOARD_REQUIRE_BROWSER=1` set (as on CI) it fails instead.

// Shared with the other process tests; this one uses part of it.
#[path = "../../../tests/common/external_tool.rs"]
mod external_tool;
#[allow(dead_code)]
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use support::{HANG_GUARD, TempDir, conductor_binary};

/// The trace the tests draw.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cancelled_prompt.jsonl")
}

/// Runs the conductor with `args`.
fn conductor(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(conductor_binary())
        .args(args)
        .output()
        .expect("running switchboard-conductor")
}

/// The browser on this machine, if there is one.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|program| external_tool::runs(program))
}

/// Says that the browser test is skipped, or fails if a browser is required.
fn skip(why: &str) {
    external_tool::skip(
        "view::the_page_renders_in_a_headless_browser",
        why,
        "install Chromium (apt-get install chromium)",
        "SWITCHBOARD_REQUIRE_BROWSER",
    );
}

/// Runs the headless browser on `args`; what it printed. Fails the test if it takes longer
/// than the hang guard (a browser that hangs is killed, not waited for).
fn headless(browser: &str, profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the browser");
    let mut stdout = child.stdout.take().expect("the browser's stdout");
    let (done, printed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = stdout.read_to_string(&mut text);
        let _ = done.send(read.map(|_| text));
    });
    let Ok(text) = printed.recv_timeout(HANG_GUARD) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("hang guard: the browser did not finish within {HANG_GUARD:?}");
    };
    let status = child.wait().expect("waiting for the browser");
    assert!(status.success(), "the browser failed: {status}");
    text.expect("the browser's output")
}

#[test]
fn the_page_renders_in_a_headless_browser() {
    let dir = TempDir::new("view-browser");
    let page = dir.join("cancelled prompt.html");
    let drawn = conductor(&[
        "trace".as_ref(),
        "view".as_ref(),
        fixture().as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert!(drawn.status.success(), "{drawn:?}");
    assert!(drawn.stdout.is_empty(), "with -o alone, nothing is printed");
    let Some(browser) = chromium() else {
        return skip("no chromium, chromium-browser or google-chrome on the PATH");
    };
    let url = format!("file://{}", page.display()).replace(' ', "%20");
    let dom = headless(
        browser,
        &dir.join("profile"),
        &["--dump-dom".to_owned(), url.clone()],
    );
    // The DOM as the browser built it: every lane, every arrow, each kind where it belongs.
    assert_eq!(dom.matches("<g class=\"lane\">").count(), 4, "{dom}");
    for lane in [
        "the editor",
        "the conductor",
        "proxy 1",
        "(`acp_prefix_proxy`)",
        "the agent",
        "(`acp_echo_agent`)",
    ] {
        assert!(dom.contains(&format!(">{lane}<")), "no lane {lane}");
    }
    assert_eq!(dom.matches("<g class=\"message\"").count(), 52);
    assert_eq!(dom.matches("data-kind=\"cancel\"").count(), 4);
    assert_eq!(dom.matches("data-kind=\"error\"").count(), 8);
    assert!(dom.contains(">✕ $/cancel_request (cancels #3)</text>"));
    assert!(
        dom.contains("<a href=\"#m17\"><text class=\"label\""),
        "the editor's answer links to its prompt"
    );
    assert!(!dom.contains("<script"));
    // And it paints: a screenshot is a PNG.
    let screenshot = dir.join("page.png");
    headless(
        browser,
        &dir.join("profile"),
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1100,900".to_owned(),
            url,
        ],
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}

#[test]
fn a_damaged_trace_is_drawn_and_its_damage_reported() {
    let dir = TempDir::new("view-damaged");
    let trace = dir.join("damaged.jsonl");
    let mut text = std::fs::read_to_string(fixture()).expect("the fixture");
    text.push_str("not a trace line\n{\"time\":\"2026-12-05T18:4");
    std::fs::write(&trace, text).expect("writing the trace");
    let drawn = conductor(&["trace".as_ref(), "view".as_ref(), trace.as_os_str()]);
    assert!(drawn.status.success(), "{drawn:?}");
    let stdout = String::from_utf8(drawn.stdout).expect("UTF-8");
    assert!(
        stdout.contains("  52  +1.210021s  │◀╌╌╌╌╌╌╌╌╌╌╌┤"),
        "{stdout}"
    );
    // The summary after the diagram, wrapped at 100 columns.
    let (_, summary) = stdout.split_once("(answers 45)\n").expect("the last arrow");
    assert_eq!(
        summary.split_whitespace().collect::<Vec<_>>().join(" "),
        "52 messages. Line 53 is not a trace record; it was skipped. The last line is cut off, \
         as when the program writing it was killed."
    );
    assert!(stdout.lines().all(|line| line.chars().count() <= 100));
}

#[test]
fn a_missing_file_is_named_and_the_exit_status_is_1() {
    let drawn = conductor(&[
        "trace".as_ref(),
        "view".as_ref(),
        "/no/such/trace.jsonl".as_ref(),
    ]);
    assert_eq!(drawn.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&drawn.stderr);
    assert!(
        stderr.starts_with("switchboard-conductor: cannot read the trace /no/such/trace.jsonl: "),
        "{stderr}"
    );
}

#[test]
fn a_wrong_command_line_is_named_and_the_exit_status_is_2() {
    for (args, problem) in [
        (
            &["trace", "view"][..],
            "trace view needs the trace FILE to draw",
        ),
        (
            &["trace", "draw", "x"][..],
            "unknown trace command \"draw\"",
        ),
        (
            &["trace", "view", "x", "--limit", "0"][..],
            "--limit needs a whole number from 1",
        ),
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_ref()).collect();
        let drawn = conductor(&args);
        assert_eq!(drawn.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&drawn.stderr);
        assert!(
            stderr.starts_with(&format!("switchboard-conductor: {problem}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("usage: switchboard-conductor trace view FILE"),
            "{stderr}"
        );
    }
}

#[test]
fn no_cut_or_odd_value_in_a_trace_makes_the_viewer_panic() {
    use switchboard_conductor::view::{Diagram, Window, parse_trace, render_html, render_terminal};
    let text = std::fs::read_to_string(fixture()).expect("the fixture");
    let draw = |text: &str| {
        let diagram = Diagram::new(&parse_trace(text), Window::default());
        (render_html(&diagram, "t"), render_terminal(&diagram))
    };
    // A trace cut anywhere, as a crash leaves it (every 7th byte, to keep the test quick).
    for cut in (0..text.len())
        .step_by(7)
        .filter(|at| text.is_char_boundary(*at))
    {
        draw(&text[..cut]);
    }
    // Values where the writer never puts them.
    let odd = [
        r#"{"time":"9999-12-31T23:59:60.999999999Z","hop":18446744073709551615,"component":"","direction":"sent","message":{"id":{"a":[1]},"error":"no"}}"#,
        r#"{"time":"0000-01-01T00:00:00Z","hop":0,"component":"the editor","direction":"received","message":{"method":7,"id":null}}"#,
        r#"{"time":1,"hop":1,"component":"x","direction":"received","message":{"jsonrpc":"2.0","method":"proxy/successor","params":{"method":{"x":1}}}}"#,
        r#"{"time":"2026-11-21T09:30:01Z","hop":2,"component":"x","direction":"sent","message":[]}"#,
    ];
    let (page, terminal) = draw(&odd.join("\n"));
    assert_eq!(page.matches("<g class=\"message\"").count(), 4);
    assert!(terminal.contains("4 messages."), "{terminal}");
}
