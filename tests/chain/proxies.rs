//! What proxies do in a chain, with 1 and 3 proxies (with none there is nobody to do it): one
//! answers a prompt itself, so the agent never sees it; one adds an update of its own before
//! the agent's; several change the prompt, each in turn.

use serde_json::Value;
use switchboard_acp::schema::{NewSessionRequest, StopReason};
use switchboard_acp::{AcpClient, Client, Proxy};
use switchboard_conductor::Chain;
use switchboard_examples::acp_echo::echo_agent;

use crate::components::{
    PONG, announcement, announcing_proxy, ping, ping_proxy, prefix_proxy, tag,
};
use crate::support::{Memory, chain_of, chunk_text, drive, hello, on_hop, prompt_texts, requests};

/// Chains with proxies, for behaviours that need one.
const WITH_PROXIES: [usize; 2] = [1, 3];

/// Sends `prompts` one after the other on one session, through `chain`; returns the text of
/// each turn's updates and its stop reason.
async fn turns(chain: Chain, prompts: &[&str]) -> Vec<(Vec<String>, StopReason)> {
    let prompts: Vec<String> = prompts.iter().map(|&prompt| prompt.to_owned()).collect();
    drive(chain, Client.builder(), async move |cx| {
        cx.initialize(hello()).block_task().await?;
        let (mut session, _) = cx.new_session(NewSessionRequest::new("/")).await?;
        let mut turns = Vec::new();
        for prompt in prompts {
            let mut said = Vec::new();
            let answer = session
                .prompt(prompt, |update| said.extend(chunk_text(&update)))
                .await?;
            turns.push((said, answer.stop_reason));
        }
        Ok(turns)
    })
    .await
}

/// Whether any message on `hop`, either way, mentions `text`.
fn hop_mentions(trace: &[Value], hop: usize, text: &str) -> bool {
    ["received", "sent"]
        .into_iter()
        .flat_map(|direction| on_hop(trace, hop, direction))
        .any(|message| message.to_string().contains(text))
}

#[tokio::test]
async fn a_proxy_answers_a_prompt_itself_and_the_agent_never_sees_it() {
    for n in WITH_PROXIES {
        // The answering proxy sits in the middle: proxies before it pass the ping on, those
        // after it and the agent never get it.
        let answering = n.div_ceil(2);
        let memory = Memory::default();
        let mut chain = Chain::new(echo_agent()).trace(memory.trace());
        for k in 1..=n {
            chain = if k == answering {
                chain.proxy(ping_proxy(k))
            } else {
                chain.proxy(Proxy.builder())
            };
        }
        let ping = ping(answering);
        let turns = turns(chain, &[&ping, "after the ping"]).await;
        assert_eq!(
            turns,
            [
                (vec![PONG.to_owned()], StopReason::EndTurn),
                (
                    vec!["after ".to_owned(), "the ".to_owned(), "ping ".to_owned()],
                    StopReason::EndTurn
                ),
            ],
            "{n} proxies"
        );
        let trace = memory.lines();
        for hop in 0..=n + 1 {
            assert_eq!(
                hop_mentions(&trace, hop, &ping),
                hop <= answering,
                "{n} proxies: hop {hop} and the ping"
            );
        }
        // The agent got exactly one prompt: the second.
        let agent = n + 1;
        let prompts = requests(on_hop(&trace, agent, "sent"), "session/prompt");
        let texts: Vec<Vec<String>> = prompts.iter().map(|(_, p)| prompt_texts(p)).collect();
        assert_eq!(texts, [["after the ping"]], "{n} proxies");
    }
}

#[tokio::test]
async fn a_proxy_injects_an_update_before_the_agents_chunks() {
    for n in WITH_PROXIES {
        let chain = chain_of(echo_agent(), n, announcing_proxy);
        let turns = turns(chain, &["hello world", "again"]).await;
        for (turn, words) in turns.iter().zip([&["hello ", "world "][..], &["again "]]) {
            // Each proxy speaks before it passes the prompt on, so in chain order, and all
            // of them before the agent.
            let mut expected: Vec<String> = (1..=n).map(announcement).collect();
            expected.extend(words.iter().map(|&word| word.to_owned()));
            assert_eq!(turn.0, expected, "{n} proxies");
            assert_eq!(turn.1, StopReason::EndTurn, "{n} proxies");
        }
    }
}

#[tokio::test]
async fn prefix_proxies_change_the_prompt_each_in_turn() {
    for n in WITH_PROXIES {
        let memory = Memory::default();
        let chain = chain_of(echo_agent(), n, prefix_proxy).trace(memory.trace());
        let turns = turns(chain, &["hello"]).await;
        // Each proxy puts its tag in front of what it was given: the agent reads the tag of
        // the proxy nearest to it first, and the editor's text last.
        let mut expected: Vec<String> = (1..=n).rev().map(|k| format!("{} ", tag(k))).collect();
        expected.push("hello ".to_owned());
        assert_eq!(turns, [(expected, StopReason::EndTurn)], "{n} proxies");

        // Hop by hop: what the conductor sent on hop k had been through proxies 1..k.
        let trace = memory.lines();
        for hop in 1..=n + 1 {
            let sent = requests(on_hop(&trace, hop, "sent"), "session/prompt");
            let [(_, params)] = sent.as_slice() else {
                panic!("{n} proxies, hop {hop}: expected one prompt, found {sent:?}");
            };
            let mut expected: Vec<String> = (1..hop).rev().map(tag).collect();
            expected.push("hello".to_owned());
            assert_eq!(prompt_texts(params), expected, "{n} proxies, hop {hop}");
        }
    }
}
