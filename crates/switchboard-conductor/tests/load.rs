//! Chains of processes under load: the `switchboard-conductor` binary with one proxy and with
//! three in front of the `acp_echo_agent` example, driven over its stdio by an editor that
//! sends megabytes at a time. Each test checks that the chain keeps moving and that nothing is
//! lost or reordered: a flood of notifications nobody handles, one prompt of 10 MiB streamed
//! back word by word, twenty sessions prompted at once, an editor that stops reading for a
//! while, the peak memory of every process, and an editor that hangs up while every queue of
//! the chain is full.
//!
//! These reproduce the issue "Chains under load": before its fix the chain deadlocks once a
//! few megabytes are in flight through a proxy, and the hang guard turns that into a failure.
//!
//! Linux only: the tests find the chain's processes, their memory and their processor time in
//! `/proc`.
#![cfg(target_os = "linux")]

// Shared with the process tests, which use the rest of it.
#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;
use switchboard::error::codes::OUTGOING_QUEUE_FULL;
use switchboard::{ByteStreams, ConnectionTo, Error, UntypedMessage};
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_acp::{AcpClient, Agent, ClientSession};
use tokio::sync::watch;

use support::piped::{Piped, gated};
use support::procfs::{Peak, descendants, peak_memory, running, until_idle};
use support::{
    EditorState, Hop, TempDir, drive, echo_agent, echo_of, editor, finish, guard, logging_proxy,
    open_session, prefix_proxy, read_turn, seen_by_agent, spawn_conductor, text,
};

/// The size of every word of a big prompt: the echo agent sends one update per word.
const WORD_BYTES: usize = 512;
/// The words of the one big prompt: 10 MiB.
const BIG_PROMPT_WORDS: usize = 20_000;
/// The sessions prompted at once.
const SESSIONS: usize = 20;
/// The words of each of their prompts: 512 KiB.
const SESSION_PROMPT_WORDS: usize = 1_024;
/// The words of the prompt whose updates the editor leaves unread for a while: 12 MiB, whose
/// updates (about 16 MB on the wire) are more than the three queues nearest the editor hold
/// between them (the conductor's to the editor, the first proxy's, and the conductor's to
/// that proxy, 8 MiB each, in which the pressure of a slow editor stops at half).
const UNREAD_PROMPT_WORDS: usize = 24_576;
/// How long the editor leaves the conductor's stdout unread, at least: until the chain is
/// idle as well (see `support::procfs::until_idle`).
const UNREAD_FOR: Duration = Duration::from_secs(2);
/// How long no process of a chain may use the processor for the chain to count as idle.
const IDLE_FOR: Duration = Duration::from_millis(500);
/// How long to wait for a chain to become idle before going on anyway.
const IDLE_AT_MOST: Duration = Duration::from_secs(10);
/// The notifications of the flood.
const NOISE: usize = 100_000;
/// The sessions whose prompts fill the queues before a hang-up.
const FILLING_SESSIONS: usize = 4;
/// The words of each prompt sent to fill the queues before a hang-up: 1 MiB.
const FILLING_PROMPT_WORDS: usize = 2_048;
/// The most prompt text sent to fill the queues, should they never fill.
const FILLING_CAP_BYTES: usize = 64 * 1024 * 1024;
/// How long `writable()` must stay unresolved for the queues to count as full.
const FULL_AFTER: Duration = Duration::from_secs(1);
/// The bound on the peak resident memory of each process of the chain, in MiB.
///
/// Measured in a debug build (2 cores, nothing else running), for the 10 MiB prompt: the
/// conductor peaks at 67 MiB with one proxy and 99 MiB with three (the prompt is one frame,
/// held by each of its connections in turn), each proxy at about 60 MiB, the echo agent
/// (which keeps the session's transcript) at 81 MiB. Without bounded queues a slow hop
/// would hold the whole 10 MiB of updates once more per hop.
const PEAK_MEMORY_BOUND_MIB: u64 = 192;

/// The two chain shapes every test runs through: one proxy, and three (`logging` picks
/// logging proxies only, as the notification flood wants; otherwise two prefix proxies
/// around a logging one, the last with a prefix of its own).
fn chains(logging: bool) -> [Vec<Hop>; 2] {
    if logging {
        [
            vec![logging_proxy()],
            vec![logging_proxy(), logging_proxy(), logging_proxy()],
        ]
    } else {
        [
            vec![prefix_proxy(None)],
            vec![
                prefix_proxy(None),
                logging_proxy(),
                prefix_proxy(Some("third hop")),
            ],
        ]
    }
}

/// `count` words of exactly [`WORD_BYTES`] bytes each, separated by spaces. Word `n` is
/// `tag`, `n` and a dash, padded with letters: no two are alike, so an echo in the wrong
/// order, or with a word missing, does not match.
fn words(tag: &str, count: usize) -> String {
    let mut text = String::with_capacity(count * (WORD_BYTES + 1));
    for n in 0..count {
        if n > 0 {
            text.push(' ');
        }
        let start = text.len();
        write!(text, "{tag}{n}-").expect("writing to a String");
        let filler = WORD_BYTES - (text.len() - start);
        text.extend((b'a'..=b'z').cycle().take(filler).map(char::from));
    }
    text
}

/// Checks that the echo `said` is `expected`; on a mismatch, names the first word that
/// differs instead of printing megabytes.
#[track_caller]
fn assert_echo(what: &str, said: &str, expected: &str) {
    if said == expected {
        return;
    }
    let (said_words, expected_words): (Vec<&str>, Vec<&str>) = (
        said.split_whitespace().collect(),
        expected.split_whitespace().collect(),
    );
    let at = said_words
        .iter()
        .zip(&expected_words)
        .position(|(a, b)| a != b)
        .unwrap_or(said_words.len().min(expected_words.len()));
    let short = |word: Option<&&str>| word.map(|word| word.chars().take(24).collect::<String>());
    panic!(
        "{what}: the echo has {} words ({} bytes), {} were expected ({} bytes); they differ \
         from word {at} on: said {:?}, expected {:?}",
        said_words.len(),
        said.len(),
        expected_words.len(),
        expected.len(),
        short(said_words.get(at)),
        short(expected_words.get(at)),
    );
}

/// Sends `message` as a notification, waiting for room whenever the outgoing queue is full.
async fn notify_patiently(cx: &ConnectionTo<Agent>, message: UntypedMessage) -> Result<(), Error> {
    loop {
        match cx.send_notification(message.clone()) {
            Err(error) if error.code() == OUTGOING_QUEUE_FULL => cx.writable().await,
            sent => return sent,
        }
    }
}

/// Opens `count` sessions in `cwd` on a connection that is not yet initialized.
async fn open_sessions(
    cx: &ConnectionTo<Agent>,
    cwd: &std::path::Path,
    count: usize,
) -> Result<Vec<ClientSession>, Error> {
    let mut sessions = vec![open_session(cx, cwd).await?];
    while sessions.len() < count {
        let (session, _) = cx.new_session(NewSessionRequest::new(cwd)).await?;
        sessions.push(session);
    }
    Ok(sessions)
}

#[tokio::test]
async fn a_flood_of_unknown_notifications_through_logging_proxies_does_not_freeze_the_chain() {
    for proxies in chains(true) {
        let started = Instant::now();
        let dir = TempDir::new("noise");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        let turn = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            for n in 0..NOISE {
                let noise = UntypedMessage::new("_test/noise", json!({ "n": n }))?;
                notify_patiently(&cx, noise).await?;
            }
            session.send_prompt(vec![text("after the noise")])?;
            read_turn(&mut session).await
        })
        .await;
        let said = echo_of(&seen_by_agent(&proxies, "after the noise"));
        assert_eq!(
            turn,
            (said, StopReason::EndTurn),
            "{} proxies",
            proxies.len()
        );
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");
        eprintln!("{} proxies: {:?}", proxies.len(), started.elapsed());
    }
}

/// What one big prompt through a chain came to: the echo, the stop reason, and the peak
/// memory of every process of the chain shortly before the editor hung up.
struct BigPrompt {
    said: String,
    reason: StopReason,
    peaks: Vec<Peak>,
}

/// Sends `prompt` through `proxies` as one prompt, reads every update as it comes, measures
/// every process's peak memory once the answer is in, then hangs up; the conductor must exit
/// 0.
async fn one_big_prompt(proxies: &[Hop], prompt: &str) -> BigPrompt {
    let dir = TempDir::new("big-prompt");
    let cwd = dir.path().to_owned();
    let mut conductor = spawn_conductor(proxies, None, &echo_agent());
    let pid = conductor.id().expect("the conductor's process id");
    let state = EditorState::default();
    let prompt = prompt.to_owned();
    let big = drive(proxies, &mut conductor, &state, async move |cx| {
        let mut session = open_session(&cx, &cwd).await?;
        session.send_prompt(vec![text(&prompt)])?;
        let (said, reason) = read_turn(&mut session).await?;
        Ok(BigPrompt {
            said,
            reason,
            peaks: peak_memory(pid),
        })
    })
    .await;
    let (status, stderr) = finish(&mut conductor).await;
    assert!(status.success(), "{status}: {stderr}");
    big
}

#[tokio::test]
async fn one_prompt_of_ten_mib_streams_every_update_in_order() {
    let prompt = words("big", BIG_PROMPT_WORDS);
    for proxies in chains(false) {
        let started = Instant::now();
        let big = one_big_prompt(&proxies, &prompt).await;
        let what = format!("{} proxies", proxies.len());
        assert_echo(
            &what,
            &big.said,
            &echo_of(&seen_by_agent(&proxies, &prompt)),
        );
        assert_eq!(big.reason, StopReason::EndTurn, "{what}");
        eprintln!("{what}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn twenty_concurrent_half_megabyte_prompts_all_complete() {
    let prompts: Vec<String> = (0..SESSIONS)
        .map(|session| words(&format!("s{session}w"), SESSION_PROMPT_WORDS))
        .collect();
    for proxies in chains(false) {
        let started = Instant::now();
        let dir = TempDir::new("sessions");
        let cwd = dir.path().to_owned();
        let mut conductor = spawn_conductor(&proxies, None, &echo_agent());
        let state = EditorState::default();
        let sent = prompts.clone();
        let turns = drive(&proxies, &mut conductor, &state, async move |cx| {
            let mut sessions = open_sessions(&cx, &cwd, SESSIONS).await?;
            // Each session sends its prompt, then reads its turn; every prompt is out before
            // any turn is read to its end.
            let turns = sessions
                .iter_mut()
                .zip(&sent)
                .map(|(session, prompt)| async {
                    session.connection().writable().await;
                    session.send_prompt(vec![text(prompt)])?;
                    read_turn(session).await
                });
            join_all(turns)
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        for (index, (prompt, (said, reason))) in prompts.iter().zip(&turns).enumerate() {
            let what = format!("{} proxies, session {index}", proxies.len());
            assert_echo(&what, said, &echo_of(&seen_by_agent(&proxies, prompt)));
            assert_eq!(*reason, StopReason::EndTurn, "{what}");
        }
        let (status, stderr) = finish(&mut conductor).await;
        assert!(status.success(), "{status}: {stderr}");
        eprintln!("{} proxies: {:?}", proxies.len(), started.elapsed());
    }
}

#[tokio::test]
async fn an_editor_that_reads_nothing_for_two_seconds_then_reads_gets_everything() {
    let prompt = words("unread", UNREAD_PROMPT_WORDS);
    for proxies in chains(false) {
        let started = Instant::now();
        let dir = TempDir::new("unread");
        let cwd = dir.path().to_owned();
        let (mut conductor, pid, gate, streams) = gated_conductor(&proxies);
        let state = EditorState::default();
        let sent = prompt.clone();
        let driven = editor(&state).connect_with(streams, async move |cx| {
            let mut session = open_session(&cx, &cwd).await?;
            // Shut before the prompt leaves, so that not one update is read before the
            // gate opens again.
            gate.send_replace(false);
            session.send_prompt(vec![text(&sent)])?;
            tokio::spawn(async move {
                // The chain has filled up with what it could not pass on by the time it
                // stands still; in a debug build that can take longer than the two
                // seconds.
                tokio::join!(
                    tokio::time::sleep(UNREAD_FOR),
                    until_idle(pid, IDLE_FOR, IDLE_AT_MOST)
                );
                gate.send_replace(true);
            });
            read_turn(&mut session).await
        });
        let (said, reason) = match guard("the editor", driven).await {
            Ok(turn) => turn,
            Err(error) => panic!(
                "{} proxies: {error}\nthe conductor's stderr:\n{}",
                proxies.len(),
                conductor.stderr_tail()
            ),
        };
        let what = format!("{} proxies", proxies.len());
        assert_echo(&what, &said, &echo_of(&seen_by_agent(&proxies, &prompt)));
        assert_eq!(reason, StopReason::EndTurn, "{what}");
        let status = guard("the conductor's exit", conductor.child.wait())
            .await
            .expect("waiting for the conductor");
        assert!(status.success(), "{status}: {}", conductor.stderr_tail());
        eprintln!("{what}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn peak_memory_of_every_process_stays_bounded() {
    let prompt = words("peak", BIG_PROMPT_WORDS);
    for proxies in chains(false) {
        let started = Instant::now();
        let big = one_big_prompt(&proxies, &prompt).await;
        let what = format!("{} proxies", proxies.len());
        assert_eq!(big.reason, StopReason::EndTurn, "{what}");
        // The conductor, each proxy and the agent.
        assert_eq!(
            big.peaks.len(),
            proxies.len() + 2,
            "{what}: {:?}",
            big.peaks
        );
        let mut table = format!("{what}: peak resident memory (VmHWM)\n");
        for peak in &big.peaks {
            let mib = peak.kib as f64 / 1024.0;
            writeln!(table, "  {:>8} {:<20} {mib:>8.1} MiB", peak.pid, peak.name)
                .expect("writing to a String");
        }
        eprint!("{table}");
        for peak in &big.peaks {
            assert!(
                peak.kib < PEAK_MEMORY_BOUND_MIB * 1024,
                "{what}: {} ({}) peaked above {PEAK_MEMORY_BOUND_MIB} MiB\n{table}",
                peak.name,
                peak.pid
            );
        }
        eprintln!("{what}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn an_editors_hang_up_ends_the_chain_even_when_every_queue_is_full() {
    let prompt = words("filling", FILLING_PROMPT_WORDS);
    for proxies in chains(false) {
        let started = Instant::now();
        let dir = TempDir::new("full-hang-up");
        let cwd = dir.path().to_owned();
        let (mut conductor, pid, gate, streams) = gated_conductor(&proxies);
        let state = EditorState::default();
        let (filled, filled_in) = futures::channel::oneshot::channel();
        let prompt = prompt.clone();
        let driven = editor(&state).connect_with(streams, async move |cx| {
            let mut sessions = open_sessions(&cx, &cwd, FILLING_SESSIONS).await?;
            let components = descendants(pid);
            // From here on the editor reads nothing: what the agent says piles up.
            gate.send_replace(false);
            let mut sent = 0;
            let mut turn = 0;
            while sent < FILLING_CAP_BYTES {
                if tokio::time::timeout(FULL_AFTER, cx.writable())
                    .await
                    .is_err()
                {
                    break;
                }
                sessions[turn % FILLING_SESSIONS].send_prompt(vec![text(&prompt)])?;
                sent += prompt.len();
                turn += 1;
            }
            let _ = filled.send((components, sent));
            // Held until the test drops the whole connection.
            std::future::pending::<Result<(), Error>>().await
        });
        let (components, sent) = guard("filling the queues", async {
            tokio::select! {
                ended = driven => panic!(
                    "{} proxies: the editor's connection ended while filling: {ended:?}\n\
                     the conductor's stderr:\n{}",
                    proxies.len(),
                    conductor.stderr_tail()
                ),
                filled = filled_in => filled.expect("the editor reports what it sent"),
            }
        })
        .await;
        // The editor's connection is dropped by now, unflushed: the conductor's stdin is
        // closed and so is the read end of its stdout.
        let what = format!("{} proxies", proxies.len());
        assert_eq!(
            components.len(),
            proxies.len() + 1,
            "{what}: the chain's processes: {components:?}"
        );
        let status = guard("the conductor's exit", conductor.child.wait())
            .await
            .expect("waiting for the conductor");
        let left: Vec<u32> = components
            .iter()
            .map(|&(pid, _)| pid)
            .filter(|&pid| running(pid))
            .collect();
        assert!(
            left.is_empty(),
            "{what}: left running: {left:?} of {components:?}"
        );
        eprintln!(
            "{what}: {} MiB of prompts sent, the conductor exited with {status}, {:?}",
            sent / (1024 * 1024),
            started.elapsed()
        );
    }
}

/// The conductor with `proxies`, on plain pipes; its process id; the gate of its stdout; and
/// the editor's transport, which reads the conductor's stdout only while the gate is open.
fn gated_conductor(
    proxies: &[Hop],
) -> (
    Piped,
    u32,
    watch::Sender<bool>,
    impl switchboard::ConnectTo<switchboard_acp::Client>,
) {
    let mut conductor = Piped::conductor(proxies);
    let pid = conductor.child.id().expect("the conductor's process id");
    let (gate, stdout) = gated(conductor.stdout.take().expect("the conductor's stdout"));
    let stdin = conductor.stdin.take().expect("the conductor's stdin");
    (conductor, pid, gate, ByteStreams::tokio(stdin, stdout))
}
