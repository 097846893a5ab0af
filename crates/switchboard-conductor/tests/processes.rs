//! Chains of processes: the `switchboard-conductor` binary, started by the test as an editor
//! would start an agent, with 0, 1 and 3 proxy programs in front of the `acp_echo_agent`
//! example. Each test drives it over its stdio and checks what crosses every hop: prompts and
//! updates in order, the agent's requests back to the editor, both kinds of cancellation, a
//! component that dies, the editor hanging up, a bad command line, and the trace.

// Shared with the other process tests; this one uses part of it.
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::sync::atomic::Ordering;

use serde_json::Value;
use switchboard_acp::schema::{PromptRequest, StopReason};

#[cfg(target_os = "linux")]
use support::procfs::running;
use support::trace::{cancels, is_rfc3339_micros, read_trace, requests};
use support::{
    EditorState, Hop, TempDir, drive, echo_agent, echo_of, finish, guard, open_session,
    prefix_proxy, programs, quote, read_turn, read_until, seen_by_agent, shapes, shell_proxy,
    spawn_conductor, text,
};

/// `-32099`: what a request gets when the chain it was travelling through broke.
const CONNECTION_CLOSED: i32 = -32099;

#[tokio::test]
async fn prompts_and_updates_cross_every_hop_in_order() {
    let prompts = ["one two three", "four five"];
    for proxies in shapes() {
        let dir = TempDir::new("order");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        let turns = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            let mut turns = Vec::new();
            for prompt in prompts {
                session.send_prompt(vec![text(prompt)])?;
                turns.push(read_turn(&mut session).await?);
            }
            Ok(turns)
        })
        .await;
        for (prompt, (said, reason)) in prompts.iter().zip(&turns) {
            // Every chunk, in order, then the answer: a chunk overtaken by the answer would be
            // missing from `said`.
            assert_eq!(*said, echo_of(&seen_by_agent(&proxies, prompt)));
            assert_eq!(*reason, StopReason::EndTurn);
        }
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");

        // The logging proxy's stderr reaches the conductor's: one line per message it passed.
        let logged = |what: &str| {
            let line = format!("acp_logging_proxy: {what}");
            stderr.lines().filter(|l| l.starts_with(&line)).count()
        };
        let chunks: usize = turns
            .iter()
            .map(|(said, _)| said.matches(' ').count())
            .sum();
        if proxies.iter().any(|hop| hop.program == "acp_logging_proxy") {
            assert_eq!(
                logged("← client: session/prompt #"),
                prompts.len(),
                "{stderr}"
            );
            assert_eq!(
                logged("→ agent: session/prompt #"),
                prompts.len(),
                "{stderr}"
            );
            assert_eq!(logged("← agent: session/update"), chunks, "{stderr}");
            assert_eq!(logged("→ client: session/update"), chunks, "{stderr}");
        } else {
            assert_eq!(logged(""), 0, "{stderr}");
        }
    }
}

#[tokio::test]
async fn the_agents_requests_cross_every_hop_back_to_the_editor() {
    for proxies in shapes() {
        let dir = TempDir::new("callbacks");
        let cwd = dir.path().to_owned();
        let notes = dir.join("notes.txt");
        std::fs::write(&notes, "the first line\nthe second line\n").unwrap();
        let (allowed, refused) = (dir.join("allowed.txt"), dir.join("refused.txt"));
        // Each prompt, whether the editor allows writing, and what the agent adds to the echo.
        let turns = [
            (
                format!("read @{}", notes.display()),
                false,
                format!("[{}: the first line] ", notes.display()),
            ),
            (
                format!("keep >{}", allowed.display()),
                true,
                format!("[wrote {}] ", allowed.display()),
            ),
            (
                format!("drop >{}", refused.display()),
                false,
                format!("[not allowed to write {}] ", refused.display()),
            ),
        ];

        let state = EditorState::default();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let (asked, prompts) = (state.clone(), turns.clone());
        let said = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            let mut said = Vec::new();
            for (prompt, allow, _) in prompts {
                asked.allow.store(allow, Ordering::SeqCst);
                session.send_prompt(vec![text(&prompt)])?;
                said.push(read_turn(&mut session).await?);
            }
            Ok(said)
        })
        .await;

        for ((prompt, _, added), (said, reason)) in turns.iter().zip(&said) {
            assert_eq!(*said, echo_of(&seen_by_agent(&proxies, prompt)) + added);
            assert_eq!(*reason, StopReason::EndTurn);
        }
        // The agent writes the prompt as it got it, prefixes and all.
        let written = std::fs::read_to_string(&allowed).expect("the allowed write happened");
        assert_eq!(written, seen_by_agent(&proxies, &turns[1].0));
        assert!(!refused.exists(), "a refused write happened anyway");
        let asked = [&allowed, &refused].map(|path| format!("Write {}", path.display()));
        assert_eq!(state.asked(), asked);
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");
    }
}

#[tokio::test]
async fn session_cancel_crosses_every_hop() {
    for proxies in shapes() {
        let dir = TempDir::new("session-cancel");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        let (before, held, after) = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            session.send_prompt(vec![text("/hold held forever")])?;
            // The word after `/hold` is said once the agent holds the turn.
            let before = read_until(&mut session, "held ").await?;
            session.cancel()?;
            let held = read_turn(&mut session).await?;
            // The session goes on after a cancelled turn.
            session.send_prompt(vec![text("still here")])?;
            let after = read_turn(&mut session).await?;
            Ok((before, held, after))
        })
        .await;
        assert_eq!(before, echo_of(&seen_by_agent(&proxies, "held")));
        assert_eq!(held, (String::new(), StopReason::Cancelled));
        let expected = echo_of(&seen_by_agent(&proxies, "still here"));
        assert_eq!(after, (expected, StopReason::EndTurn));
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");
    }
}

#[tokio::test]
async fn a_cancelled_prompt_request_cancels_its_own_request_on_every_hop() {
    for proxies in shapes() {
        let dir = TempDir::new("request-cancel");
        let cwd = dir.path().to_owned();
        let trace = dir.join("trace.jsonl");
        let notes = dir.join("notes.txt");
        std::fs::write(&notes, "noted\n").unwrap();
        let read = format!("@{}", notes.display());
        let mut conductor = spawn_conductor(&proxies, Some(&trace), &echo_agent());
        let state = EditorState::default();
        let before = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            // The agent's request up the chain puts the request counters of the proxies' hops
            // ahead of the editor's and the agent hop's: the held prompt then has one id at
            // the editor, another between the proxies, and another at the agent, so a cancel
            // passed on with the id it came with would name the wrong request.
            session.send_prompt(vec![text(&read)])?;
            read_turn(&mut session).await?;
            let prompt = PromptRequest::new(session.id().clone(), vec![text("/hold waiting")]);
            let request = cx.send_request(prompt);
            let before = read_until(&mut session, "waiting ").await?;
            // `$/cancel_request` for the prompt; the agent says so in the session.
            request.cancel();
            read_until(&mut session, "(request cancelled) ").await?;
            Ok(before)
        })
        .await;
        assert_eq!(before, echo_of(&seen_by_agent(&proxies, "waiting")));
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");

        let trace = read_trace(&trace);
        let agent = proxies.len() + 1;
        // The editor cancels the prompt it sent.
        let asked = requests(&trace, 0, "received", "session/prompt");
        assert_cancelled(&trace, 0, "received", &asked);
        for hop in 1..=agent {
            // The conductor cancels the prompt it sent on this hop, by that hop's id.
            let passed_on = requests(&trace, hop, "sent", "session/prompt");
            assert_cancelled(&trace, hop, "sent", &passed_on);
        }
        for hop in 1..agent {
            // Each proxy cancels the prompt it sent its successor, by its own id.
            let passed_on: Vec<_> = requests(&trace, hop, "received", "proxy/successor")
                .into_iter()
                .filter(|(_, message)| message["params"]["method"] == "session/prompt")
                .collect();
            assert_cancelled(&trace, hop, "received", &passed_on);
        }
    }
}

/// Checks that two prompts of `prompts` crossed `hop`, and that after the second, the held
/// one, `$/cancel_request` crossed the hop in the same direction, naming its id and no other.
#[track_caller]
fn assert_cancelled(trace: &[Value], hop: usize, direction: &str, prompts: &[(usize, &Value)]) {
    let [_, (asked_at, request)] = prompts else {
        panic!("hop {hop}: expected two prompts {direction}, got {prompts:?}");
    };
    let cancels = cancels(trace, hop, direction);
    assert!(
        !cancels.is_empty(),
        "hop {hop}: no `$/cancel_request` {direction}"
    );
    for (at, id) in cancels {
        assert_eq!(
            id, &request["id"],
            "hop {hop}: a cancel {direction} names another id"
        );
        assert!(at > *asked_at, "hop {hop}: cancelled before it was asked");
    }
}

#[tokio::test]
async fn an_agent_that_crashes_mid_prompt_fails_the_prompt_and_the_conductor() {
    for proxies in shapes() {
        let dir = TempDir::new("agent-crash");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        let error = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            let answer = session.prompt("/crash now", |_| {}).await;
            Ok(answer.expect_err("a prompt whose agent died was answered"))
        })
        .await;
        let fate = "the agent (`acp_echo_agent`) exited with status 3";
        assert_eq!(error.code(), CONNECTION_CLOSED, "{error}");
        assert!(error.message().contains(fate), "{error}");
        let last_words = "acp_echo_agent: crashing, as the prompt asked";
        assert!(error.message().contains(last_words), "{error}");
        let (status, stderr) = finish(&mut conductor).await;
        assert_eq!(status.code(), Some(1), "{status}: {stderr}");
        let said = stderr
            .lines()
            .find(|line| line.starts_with("switchboard-conductor: "));
        assert!(said.is_some_and(|line| line.contains(fate)), "{stderr}");
    }
}

#[tokio::test]
async fn a_proxy_that_dies_breaks_the_chain_and_is_named() {
    let script = "read request; echo 'stub proxy: leaving after one message' >&2; exit 5";
    let dying = shell_proxy(script);
    let third = prefix_proxy(Some("third hop"));
    let chains = [
        (vec![dying.clone()], 1),
        (vec![prefix_proxy(None), dying, third], 2),
    ];
    for (proxies, position) in chains {
        let dir = TempDir::new("proxy-crash");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        // The proxy reads `proxy/initialize` and exits: the editor's `initialize` fails.
        let error = drive(&proxies, &mut conductor, &state, async move |cx| {
            let opened = open_session(&cx, &cwd).await;
            Ok(opened.expect_err("a chain with a dead proxy opened"))
        })
        .await;
        let fate = format!("proxy {position} (`sh`) exited with status 5");
        assert_eq!(error.code(), CONNECTION_CLOSED, "{error}");
        assert!(error.message().contains(&fate), "{error}");
        let last_words = "stub proxy: leaving after one message";
        assert!(error.message().contains(last_words), "{error}");
        let (status, stderr) = finish(&mut conductor).await;
        assert_eq!(status.code(), Some(1), "{status}: {stderr}");
        let said = stderr
            .lines()
            .find(|line| line.starts_with("switchboard-conductor: "));
        assert!(said.is_some_and(|line| line.contains(&fate)), "{stderr}");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn when_the_editor_hangs_up_the_conductor_exits_0_and_leaves_nothing_running() {
    for proxies in shapes() {
        let dir = TempDir::new("hang-up");
        let cwd = dir.path().to_owned();
        let pid_file = dir.join("pids");
        // Each component writes down its process id, then becomes the program (same process).
        let record = "echo $$ >> \"$0\"; exec \"$@\"";
        let recorded: Vec<Hop> = proxies
            .iter()
            .map(|hop| Hop {
                command: format!(
                    "sh -c {} {} {}",
                    quote(record),
                    quote(&pid_file),
                    hop.command
                ),
                ..hop.clone()
            })
            .collect();
        let mut agent: Vec<OsString> = ["sh", "-c", record].map(OsString::from).into();
        agent.push(pid_file.clone().into());
        agent.extend(echo_agent());

        let mut conductor = spawn_conductor(&recorded, None, &agent);
        let state = EditorState::default();
        let (turn, pids) = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            session.send_prompt(vec![text("hello")])?;
            let turn = read_turn(&mut session).await?;
            // Every component has passed a message on by now, so each has written its id.
            let pids: BTreeSet<u32> = std::fs::read_to_string(&pid_file)
                .expect("the components' ids")
                .lines()
                .map(|line| line.trim().parse().expect("a process id"))
                .collect();
            assert!(pids.iter().all(|&pid| running(pid)), "{pids:?}");
            // Returning drops the connection: the conductor's stdin closes.
            Ok((turn, pids))
        })
        .await;
        let said = echo_of(&seen_by_agent(&proxies, "hello"));
        assert_eq!(turn, (said, StopReason::EndTurn));
        assert_eq!(pids.len(), proxies.len() + 1, "{pids:?}");
        let (status, stderr) = finish(&mut conductor).await;
        assert_eq!(status.code(), Some(0), "{status}: {stderr}");
        assert!(!stderr.contains("switchboard-conductor:"), "{stderr}");
        let left: Vec<u32> = pids.into_iter().filter(|&pid| running(pid)).collect();
        assert!(
            left.is_empty(),
            "{} proxies: left running: {left:?}",
            proxies.len()
        );
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_component_that_outlives_the_hang_up_is_killed() {
    let proxies = vec![support::logging_proxy()];
    let dir = TempDir::new("stubborn");
    let cwd = dir.path().to_owned();
    let pid_file = dir.join("pids");
    // The agent runs as a child of the shell; when it has exited, the shell becomes a process
    // that holds the agent's pipes open and never reads them.
    let linger = "echo $$ >> \"$0\"; \"$@\"; exec sleep 600";
    let mut agent: Vec<OsString> = ["sh", "-c", linger].map(OsString::from).into();
    agent.push(pid_file.clone().into());
    agent.extend(echo_agent());

    let mut conductor = spawn_conductor(&proxies, None, &agent);
    let state = EditorState::default();
    let pid = drive(&proxies, &mut conductor, &state, async move |cx| {
        let mut session = open_session(&cx, &cwd).await?;
        session.send_prompt(vec![text("hello")])?;
        read_turn(&mut session).await?;
        let pids = std::fs::read_to_string(&pid_file).expect("the agent's id");
        Ok(pids.trim().parse::<u32>().expect("a process id"))
    })
    .await;
    assert!(running(pid));
    let (status, stderr) = finish(&mut conductor).await;
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
    // Killed before the conductor exited.
    assert!(!running(pid), "the lingering agent {pid} is still running");
}

/// Runs the conductor with `args` and nothing on stdin; returns its exit code, stdout and
/// stderr.
async fn run_conductor(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(support::conductor_binary())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output();
    let output = guard("the conductor", output)
        .await
        .expect("running the conductor");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[tokio::test]
async fn a_bad_command_line_is_refused_with_the_reason() {
    let agent = programs().echo_agent.to_str().expect("a UTF-8 path");
    let proxy = quote(&programs().prefix_proxy);
    let usage = "usage: switchboard-conductor";

    let (code, _, stderr) = run_conductor(&[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("switchboard-conductor: no agent"),
        "{stderr}"
    );
    assert!(stderr.contains(usage), "{stderr}");

    let (code, _, stderr) = run_conductor(&["--proxy", &proxy, "--"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no agent"), "{stderr}");

    let (code, _, stderr) = run_conductor(&["--verbose", "--", agent]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unknown option --verbose"), "{stderr}");

    let unclosed = format!("{proxy} --prefix 'never closed");
    let args = ["--proxy", &proxy, "--proxy", &unclosed, "--", agent];
    let (code, _, stderr) = run_conductor(&args).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("switchboard-conductor: proxy 2: "),
        "{stderr}"
    );
    assert!(stderr.contains("quote"), "{stderr}");

    let (code, stdout, _) = run_conductor(&["--help"]).await;
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with(usage), "{stdout}");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_named() {
    let agent = programs().echo_agent.to_str().expect("a UTF-8 path");
    let proxy = quote(&programs().prefix_proxy);
    let missing = "/nonexistent/switchboard-test/no_such_program";
    let named = format!("could not start `{missing}`");

    let args = ["--proxy", &proxy, "--proxy", missing, "--", agent];
    let (code, _, stderr) = run_conductor(&args).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("switchboard-conductor: "), "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");

    let (code, _, stderr) = run_conductor(&["--proxy", &proxy, "--", missing]).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");
}

#[tokio::test]
async fn the_trace_records_every_hop_as_json_lines() {
    for proxies in shapes() {
        let dir = TempDir::new("trace");
        let cwd = dir.path().to_owned();
        let trace = dir.join("trace.jsonl");
        let mut conductor = spawn_conductor(&proxies, Some(&trace), &echo_agent());
        let state = EditorState::default();
        drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            session.send_prompt(vec![text("traced words")])?;
            read_turn(&mut session).await
        })
        .await;
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");
        check_trace(&proxies, &read_trace(&trace), "traced words");
    }
}

/// Checks every line of the trace of one prompt, `prompt`, through `proxies`.
fn check_trace(proxies: &[Hop], trace: &[Value], prompt: &str) {
    let agent = proxies.len() + 1;
    let mut components = vec![None; agent + 1];
    let mut directions = vec![BTreeSet::new(); agent + 1];
    let fields = BTreeSet::from(["time", "hop", "component", "direction", "message"]);
    for line in trace {
        let object = line.as_object().expect("each line an object");
        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, fields, "{line}");
        let time = line["time"].as_str().expect("a string");
        assert!(is_rfc3339_micros(time), "{line}");
        let hop = line["hop"].as_u64().expect("a hop number");
        let hop = usize::try_from(hop).expect("a small hop number");
        assert!(hop <= agent, "{line}");
        let direction = line["direction"].as_str().expect("a direction");
        assert!(["received", "sent"].contains(&direction), "{line}");
        assert_eq!(line["message"]["jsonrpc"], "2.0", "{line}");
        directions[hop].insert(direction);
        let component = line["component"].as_str().expect("a component");
        // One name per hop.
        assert_eq!(
            *components[hop].get_or_insert(component),
            component,
            "{line}"
        );
    }
    for (hop, seen) in directions.iter().enumerate() {
        assert_eq!(seen.len(), 2, "hop {hop} was not crossed both ways");
    }
    assert_eq!(components[0], Some("the editor"));
    for (index, hop) in proxies.iter().enumerate() {
        let name = format!("proxy {} (`{}`)", index + 1, hop.program);
        assert_eq!(components[index + 1], Some(name.as_str()));
    }
    assert_eq!(components[agent], Some("the agent (`acp_echo_agent`)"));

    // The prompt as the editor sent it, and as the agent got it.
    let texts = |hop: usize, direction: &str| -> Vec<String> {
        let [(_, prompt)] = requests(trace, hop, direction, "session/prompt")[..] else {
            panic!("hop {hop}: not one prompt {direction}");
        };
        let blocks = prompt["params"]["prompt"].as_array().expect("blocks");
        let text = |block: &Value| block["text"].as_str().expect("a text block").to_owned();
        blocks.iter().map(text).collect()
    };
    assert_eq!(texts(0, "received"), [prompt]);
    let lines: Vec<&str> = proxies
        .iter()
        .rev()
        .filter_map(|hop| hop.adds.as_deref())
        .chain([prompt])
        .collect();
    assert_eq!(texts(agent, "sent"), lines);
}
