//! The command line, read: every option, and what is refused.

use super::*;

fn run(args: &[&str]) -> Result<Invocation, String> {
    match parse(args.iter().map(OsString::from))? {
        Parsed::Run(invocation) => Ok(invocation),
        Parsed::Help => Err("help".to_owned()),
        Parsed::View(_) => Err("view".to_owned()),
    }
}

fn view(args: &[&str]) -> Result<ViewRequest, String> {
    match parse(args.iter().map(OsString::from))? {
        Parsed::View(request) => Ok(request),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn trace_view_draws_a_file_as_a_page_or_text() {
    let request = view(&["trace", "view", "t.jsonl"]).unwrap();
    assert_eq!(request.trace, PathBuf::from("t.jsonl"));
    assert_eq!((request.output, request.terminal), (None, true));
    assert_eq!(request.window, Window::default());
    let request = view(&["trace", "view", "-o", "out.html", "t.jsonl", "--from", "3"]).unwrap();
    assert_eq!(request.output, Some(PathBuf::from("out.html")));
    assert!(!request.terminal);
    assert_eq!(request.window.first, 3);
    let request = view(&[
        "trace",
        "view",
        "t",
        "--output",
        "o",
        "--terminal",
        "--limit",
        "9",
    ]);
    let request = request.unwrap();
    assert!(request.terminal);
    assert_eq!(request.window.limit, 9);
    // `--` still makes `trace` the agent's program.
    assert_eq!(
        run(&["--", "trace", "view"]).unwrap().agent,
        ["trace", "view"]
    );
}

#[test]
fn trace_view_mistakes_are_named() {
    assert!(view(&["trace"]).unwrap_err().contains("trace view FILE"));
    assert!(
        view(&["trace", "show"])
            .unwrap_err()
            .contains("unknown trace command")
    );
    assert!(
        view(&["trace", "view"])
            .unwrap_err()
            .contains("needs the trace FILE")
    );
    assert!(
        view(&["trace", "view", "a", "b"])
            .unwrap_err()
            .contains("is a second")
    );
    assert_eq!(
        view(&["trace", "view", "a", "-o"]).unwrap_err(),
        "--output needs a value"
    );
    assert!(
        view(&["trace", "view", "a", "--from", "0"])
            .unwrap_err()
            .contains("from 1")
    );
    assert!(
        view(&["trace", "view", "a", "--limit", "x"])
            .unwrap_err()
            .contains("\"x\"")
    );
    assert_eq!(
        view(&["trace", "view", "a", "--nope"]).unwrap_err(),
        "unknown option --nope for trace view"
    );
}

#[test]
fn options_come_before_the_agent_in_either_spelling() {
    let invocation = run(&[
        "--trace=t.jsonl",
        "--proxy",
        "a --x",
        "--proxy=b",
        "--",
        "agent",
        "--proxy",
    ])
    .unwrap();
    assert_eq!(invocation.trace, Some(PathBuf::from("t.jsonl")));
    assert_eq!(invocation.proxies, ["a --x", "b"]);
    // After `--`, everything is the agent's, options included.
    assert_eq!(invocation.agent, ["agent", "--proxy"]);
    assert_eq!(run(&["agent", "x"]).unwrap().agent, ["agent", "x"]);
}

#[test]
fn mistakes_are_named() {
    assert_eq!(run(&["--proxy"]).unwrap_err(), "--proxy needs a value");
    assert_eq!(
        run(&["--nope", "--", "a"]).unwrap_err(),
        "unknown option --nope"
    );
    assert!(run(&["--proxy", "p"]).unwrap_err().starts_with("no agent"));
    assert!(
        run(&["--proxy", "p", "--"])
            .unwrap_err()
            .starts_with("no agent")
    );
    assert_eq!(run(&["-h", "--", "a"]).unwrap_err(), "help");
}

#[test]
fn listen_takes_an_explicit_host_and_its_own_options() {
    let invocation = run(&[
        "--listen",
        "127.0.0.1:0",
        "--token=s",
        "--allow-origin",
        "https://a.example",
        "--allow-origin",
        "https://b.example",
        "--idle-timeout",
        "5",
        "--",
        "agent",
    ])
    .unwrap();
    let listen = invocation.listen.unwrap();
    assert_eq!(listen.address, "127.0.0.1:0");
    assert_eq!(listen.token.as_deref(), Some("s"));
    assert_eq!(
        listen.allowed_origins,
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(listen.idle_timeout, Some(Duration::from_secs(5)));
    assert_eq!(listen.tls, None);
    let tls = run(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
        "--",
        "a",
    ])
    .unwrap()
    .listen
    .unwrap()
    .tls;
    assert_eq!(tls, Some(("c.pem".into(), "k.pem".into())));
    assert_eq!(
        run(&["--listen", "127.0.0.1:0", "--tls-cert", "c.pem", "--", "a"]).unwrap_err(),
        "--tls-cert and --tls-key go together"
    );
    assert_eq!(
        run(&["--tls-key", "k.pem", "--", "a"]).unwrap_err(),
        "--tls-key is for serving: give --listen HOST:PORT"
    );
    assert!(run(&["--listen", "[::1]:8080", "a"]).is_ok());
    assert!(run(&["--listen", "localhost:8080", "a"]).is_ok());
    for address in [":8080", "8080", "127.0.0.1", "127.0.0.1:http", "[]:80"] {
        let error = run(&["--listen", address, "a"]).unwrap_err();
        assert!(error.contains("host spelled out"), "{address}: {error}");
    }
    for option in ["--token", "--allow-origin", "--idle-timeout"] {
        let error = run(&[option, "1", "a"]).unwrap_err();
        assert!(
            error.starts_with(option) && error.contains("--listen"),
            "{error}"
        );
    }
    let error = run(&["--listen", "127.0.0.1:0", "--trace", "t", "a"]).unwrap_err();
    assert!(error.contains("not with --listen"), "{error}");
    let error = run(&["--listen", "127.0.0.1:0", "--idle-timeout", "0", "a"]).unwrap_err();
    assert!(error.contains("from 1"), "{error}");
}

#[test]
fn an_agent_given_as_a_url_is_reached_not_started() {
    for url in [
        "http://h:1/acp",
        "https://h/acp",
        "ws://h:1/acp",
        "wss://h/acp",
    ] {
        let invocation = run(&["--agent-token", "t", "--", url]).unwrap();
        assert_eq!(invocation.agent_url(), Some(url));
        assert_eq!(invocation.agent_token.as_deref(), Some("t"));
        // No MCP relay: it would run on the agent's machine, where this program is not.
        let chain = format!("{:?}", invocation.chain().unwrap());
        assert!(chain.contains("mcp_bridge: None"), "{chain}");
    }
    let chain = format!("{:?}", run(&["agent"]).unwrap().chain().unwrap());
    assert!(chain.contains("mcp_bridge: Some"), "{chain}");
    assert_eq!(run(&["./http-agent"]).unwrap().agent_url(), None);
    let error = run(&["--", "http://h/acp", "--flag"]).unwrap_err();
    assert!(error.contains("takes no arguments"), "{error}");
    let error = run(&["--agent-token", "t", "--", "agent"]).unwrap_err();
    assert!(error.contains("given as a URL"), "{error}");
    let error = run(&["--agent-root-cert", "ca.pem", "--", "agent"]).unwrap_err();
    assert!(error.contains("given as a URL"), "{error}");
    let missing = run(&[
        "--agent-root-cert",
        "/nonexistent/ca.pem",
        "--",
        "https://h/acp",
    ])
    .unwrap()
    .chain()
    .unwrap_err();
    assert!(
        missing.message().contains("/nonexistent/ca.pem"),
        "{missing}"
    );
}

#[test]
fn restart_is_for_an_agent_this_program_starts() {
    let invocation = run(&["--restart", "--", "agent", "--flag"]).unwrap();
    assert!(invocation.restart);
    let chain = format!("{:?}", invocation.chain().unwrap());
    assert!(
        !chain.contains("Process"),
        "the supervisor starts the agent: {chain}"
    );
    let plain = run(&["agent"]).unwrap();
    assert!(!plain.restart);
    let chain = format!("{:?}", plain.chain().unwrap());
    assert!(
        chain.contains(r#"agent_program: Some("agent")"#),
        "started by the chain: {chain}"
    );
    let error = run(&["--restart", "--", "ws://h/acp"]).unwrap_err();
    assert!(error.contains("--restart"), "{error}");
}

#[test]
fn a_proxy_command_that_cannot_be_split_names_the_proxy() {
    let invocation = run(&["--proxy", "ok", "--proxy", "unclosed 'quote", "--", "a"]).unwrap();
    let error = invocation.chain().unwrap_err();
    assert!(error.message().starts_with("proxy 2: "), "{error}");
}
