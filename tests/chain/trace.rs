//! The chain's trace, read back after one prompt through 0, 1 and 3 proxies: every line is a
//! JSON object with the five fields, hops run from the editor (0) to the agent (n + 1), and
//! one request can be followed from hop to hop.

use serde_json::Value;
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_acp::{AcpClient, Client};
use switchboard_examples::acp_echo::echo_agent;

use crate::support::{
    Memory, PROXY_COUNTS, chunk_text, drive, hello, on_hop, requests, transparent,
};

/// Checks `time` is UTC RFC 3339 with microseconds: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
#[track_caller]
fn assert_time(time: &str) {
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.ddddddZ", "{time}");
}

/// Who each hop's lines say is at its other end.
fn component(hop: usize, n: usize) -> String {
    match hop {
        0 => "the editor".to_owned(),
        hop if hop <= n => format!("proxy {hop}"),
        _ => "the agent".to_owned(),
    }
}

/// The one request of `method` among `messages`: its id and params.
fn one<'a>(messages: impl Iterator<Item = &'a Value>, method: &str) -> (&'a Value, &'a Value) {
    match requests(messages, method).as_slice() {
        [one] => *one,
        other => panic!("expected one `{method}`, found {other:?}"),
    }
}

/// The answer to `id` among `messages`.
fn answer<'a>(messages: impl Iterator<Item = &'a Value>, id: &Value) -> &'a Value {
    let mut answers =
        messages.filter(|message| message.get("method").is_none() && message["id"] == *id);
    let found = answers
        .next()
        .unwrap_or_else(|| panic!("no answer to {id}"));
    assert!(answers.next().is_none(), "two answers to {id}");
    found
}

#[tokio::test]
async fn every_line_has_its_fields_and_one_prompt_can_be_followed() {
    for n in PROXY_COUNTS {
        let memory = Memory::default();
        let chain = transparent(echo_agent(), n).trace(memory.trace());
        let (said, reason) = drive(chain, Client.builder(), async |cx| {
            cx.initialize(hello()).block_task().await?;
            let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
            let mut said = Vec::new();
            let answer = session
                .prompt("follow me", |update| said.extend(chunk_text(&update)))
                .await?;
            Ok((said, answer.stop_reason))
        })
        .await;
        assert_eq!(said, ["follow ", "me "], "{n} proxies");
        assert_eq!(reason, StopReason::EndTurn, "{n} proxies");

        let trace = memory.lines();
        let agent = n + 1;
        let mut hops_seen = vec![false; agent + 1];
        for line in &trace {
            let fields = line
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {line}"));
            let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
            names.sort_unstable();
            assert_eq!(
                names,
                ["component", "direction", "hop", "message", "time"],
                "{line}"
            );
            assert_time(line["time"].as_str().unwrap_or_else(|| panic!("{line}")));
            let hop = line["hop"].as_u64().unwrap_or_else(|| panic!("{line}"));
            let hop = usize::try_from(hop).unwrap();
            assert!(hop <= agent, "{n} proxies: hop {hop} in {line}");
            hops_seen[hop] = true;
            assert_eq!(line["component"], component(hop, n), "{line}");
            assert!(
                line["direction"] == "received" || line["direction"] == "sent",
                "{line}"
            );
            assert_eq!(line["message"]["jsonrpc"], "2.0", "{line}");
        }
        assert!(
            hops_seen.iter().all(|&seen| seen),
            "{n} proxies: {hops_seen:?}"
        );

        // The prompt: received from the editor on hop 0, sent on as it was on hop 1, and its
        // answer sent back on hop 0, after it.
        let (editor_id, editor_prompt) = one(on_hop(&trace, 0, "received"), "session/prompt");
        let (next_id, next_prompt) = one(on_hop(&trace, 1, "sent"), "session/prompt");
        assert_eq!(next_prompt, editor_prompt, "{n} proxies");
        let to_editor = answer(on_hop(&trace, 0, "sent"), editor_id);
        let to_next = answer(on_hop(&trace, 1, "received"), next_id);
        assert_eq!(to_editor["result"]["stopReason"], "end_turn", "{n} proxies");
        assert_eq!(to_editor["result"], to_next["result"], "{n} proxies");
        let line_of = |direction: &str, wanted: &dyn Fn(&Value) -> bool| {
            trace
                .iter()
                .position(|line| {
                    line["hop"] == 0 && line["direction"] == direction && wanted(&line["message"])
                })
                .unwrap_or_else(|| panic!("{n} proxies: no such line on hop 0"))
        };
        let asked = line_of("received", &|message| message["method"] == "session/prompt");
        let answered = line_of("sent", &|message| message == to_editor);
        assert!(asked < answered, "{n} proxies: answered before asked");

        // `initialize` reaches the first proxy as `proxy/initialize`, the agent as itself.
        let (_, editor_init) = one(on_hop(&trace, 0, "received"), "initialize");
        let (_, agent_init) = one(on_hop(&trace, agent, "sent"), "initialize");
        assert_eq!(agent_init, editor_init, "{n} proxies");
        for hop in 1..=n {
            let (_, proxy_init) = one(on_hop(&trace, hop, "sent"), "proxy/initialize");
            assert_eq!(proxy_init, editor_init, "{n} proxies, hop {hop}");
            let plain = requests(on_hop(&trace, hop, "sent"), "initialize");
            assert!(plain.is_empty(), "{n} proxies, hop {hop}: {plain:?}");
            // And comes back from it inside `proxy/successor`, as `initialize`.
            let (_, passed_on) = one(on_hop(&trace, hop, "received"), "initialize");
            assert_eq!(passed_on, editor_init, "{n} proxies, hop {hop}");
        }
        let wrapped = requests(on_hop(&trace, agent, "sent"), "proxy/initialize");
        assert!(wrapped.is_empty(), "{n} proxies: {wrapped:?}");
    }
}
