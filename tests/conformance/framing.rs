//! The wire rules of newline framing: blank lines are skipped; invalid UTF-8 and invalid JSON
//! are answered -32700 with id `null` and the connection continues; a frame over the maximum
//! is skipped to its newline and answered with id `null` (on every transport); frames may
//! arrive in pieces; request ids round-trip exactly.
//!
//! And `Content-Length` framing (LSP's): two Switchboard peers talk over it; its frames on the
//! wire, byte for byte, read in pieces; an oversized message is refused unread and the
//! connection serves on; a malformed header ends the connection with an error that names it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use switchboard::transport::Framing;
use switchboard::{
    ByteStreams, Channel, ConnectionTo, Dispatch, Error, Handled, Handler, Lines, RawJson,
    UntypedMessage, UntypedRole,
};
use switchboard_examples::echo_service::echo_service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{
    SharedWriter, assert_too_large, error_of, guard, hang_up, request, result_of, serve,
};

fn echo(id: Value, text: &str) -> String {
    request(id, "echo", json!({ "text": text }))
}

#[tokio::test]
async fn blank_lines_are_skipped_and_crlf_is_accepted() {
    let (mut peer, server) = serve(echo_service());
    peer.send_bytes(b"\n\n   \n\r\n\t \r\n").await;
    peer.send_bytes(format!("{}\r\n", echo(json!(1), "crlf")).as_bytes())
        .await;
    peer.send_bytes(b"\n\n").await;
    peer.send(&echo(json!(2), "lf")).await;
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":1,"result":{"text":"crlf"}}"#
    );
    assert_eq!(
        peer.recv_line().await,
        r#"{"jsonrpc":"2.0","id":2,"result":{"text":"lf"}}"#
    );
    assert!(
        hang_up(peer, server).await.is_empty(),
        "blank lines are not answered"
    );
}

#[tokio::test]
async fn invalid_utf8_is_a_parse_error_with_id_null_and_the_connection_continues() {
    let (mut peer, server) = serve(echo_service());
    // A well-formed request but for two bytes that are not UTF-8: even its id is not read.
    peer.send_bytes(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"\xff\xfe\"}}\n",
    )
    .await;
    peer.send_bytes(b"\xc3\x28\n").await;
    for _ in 0..2 {
        let answer = peer.recv().await;
        let message = error_of(&answer, Value::Null, -32700)["message"]
            .as_str()
            .unwrap();
        assert!(message.contains("UTF-8"), "{answer}");
    }
    peer.send(&echo(json!(2), "still here")).await;
    assert_eq!(
        result_of(&peer.recv().await, json!(2)),
        &json!({"text": "still here"})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn invalid_json_is_a_parse_error_with_id_null_and_the_connection_continues() {
    let (mut peer, server) = serve(echo_service());
    for broken in [
        r#"{"jsonrpc":"2.0","id":1,"method":"echo""#,
        "not json at all",
        r#"{"a":}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"echo"} trailing"#,
    ] {
        peer.send(broken).await;
        error_of(&peer.recv().await, Value::Null, -32700);
    }
    // Valid JSON that is not a message is -32600, not -32700.
    for not_a_message in ["42", "\"text\"", "true", "null"] {
        peer.send(not_a_message).await;
        error_of(&peer.recv().await, Value::Null, -32600);
    }
    peer.send(&echo(json!(3), "fine")).await;
    assert_eq!(
        result_of(&peer.recv().await, json!(3)),
        &json!({"text": "fine"})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

/// An echo request of exactly `len` bytes.
fn echo_of_length(id: i64, len: usize) -> String {
    let bare = echo(json!(id), "");
    assert!(len >= bare.len());
    let frame = echo(json!(id), &"x".repeat(len - bare.len()));
    assert_eq!(frame.len(), len);
    frame
}

#[tokio::test]
async fn an_oversized_frame_is_skipped_to_its_newline_and_answered_with_id_null() {
    const MAX: usize = 100;
    let (mut peer, server) = serve(echo_service().max_frame_bytes(MAX));
    // A valid request, too long: refused with id null (its id 1 is never read).
    peer.send(&echo_of_length(1, 1000)).await;
    assert_too_large(&peer.recv().await, 1000, MAX);
    // Exactly the maximum passes; one byte more does not.
    peer.send(&echo_of_length(2, MAX)).await;
    assert_eq!(
        result_of(&peer.recv().await, json!(2))["text"]
            .as_str()
            .unwrap()
            .len(),
        MAX - echo(json!(2), "").len()
    );
    peer.send(&echo_of_length(3, MAX + 1)).await;
    assert_too_large(&peer.recv().await, MAX + 1, MAX);
    // Written in pieces, with the next request right behind its newline in the same write.
    let long = echo_of_length(4, 5000);
    peer.send_bytes(&long.as_bytes()[..2000]).await;
    peer.send_bytes(&long.as_bytes()[2000..]).await;
    peer.send_bytes(format!("\n{}\n", echo(json!(5), "next")).as_bytes())
        .await;
    assert_too_large(&peer.recv().await, 5000, MAX);
    assert_eq!(
        result_of(&peer.recv().await, json!(5)),
        &json!({"text": "next"})
    );
    assert!(hang_up(peer, server).await.is_empty());
}

#[tokio::test]
async fn an_oversized_line_is_refused_over_lines() {
    const MAX: usize = 64;
    let lines = [echo_of_length(1, 65), echo_of_length(2, 64)];
    let incoming = futures::stream::iter(lines).map(Ok::<_, io::Error>);
    let (out, written) = mpsc::unbounded::<String>();
    let server = echo_service().max_frame_bytes(MAX);
    guard("connect_to", server.connect_to(Lines::new(out, incoming)))
        .await
        .unwrap();
    let written: Vec<Value> = written
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect()
        .await;
    assert_eq!(written.len(), 2);
    assert_too_large(&written[0], 65, MAX);
    result_of(&written[1], json!(2));
}

/// Records errors the peer sent with id `null` (they answer no request of ours).
struct NullIdErrors(Arc<Mutex<Vec<Error>>>);

impl Handler<UntypedRole> for NullIdErrors {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Response(Err(error), router) if router.id().as_u64().is_none() => {
                self.0.lock().unwrap().push(error);
                Ok(Handled::Yes)
            }
            message => Ok(Handled::pass(message)),
        }
    }
}

#[tokio::test]
async fn an_oversized_frame_is_refused_over_a_channel() {
    let (a, b) = Channel::duplex();
    let served = tokio::spawn(echo_service().max_frame_bytes(200).connect_to(b));
    let refusals = Arc::new(Mutex::new(Vec::new()));
    let client = UntypedRole
        .builder()
        .with_handler(NullIdErrors(Arc::clone(&refusals)));
    let answer = guard(
        "the client",
        client.connect_with(a, async |cx| {
            let big = UntypedMessage::new("echo", json!({"text": "y".repeat(1000)}))?;
            // Never answered by id: the refusal cannot name the request it could not read.
            drop(cx.send_request(big));
            cx.send_request(UntypedMessage::new("echo", json!({"text": "small"}))?)
                .block_task()
                .await
        }),
    )
    .await
    .unwrap();
    assert_eq!(answer, json!({"text": "small"}));
    let refusals = refusals.lock().unwrap().clone();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].code(), -32600);
    assert_eq!(refusals[0].data().unwrap()["maxFrameBytes"], 200);
    guard("the server", served).await.unwrap().unwrap();
}

/// An `AsyncRead` that hands out its bytes one at a time.
struct OneByteAtATime(Vec<u8>, usize);

impl futures::io::AsyncRead for OneByteAtATime {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Some(&byte) = self.0.get(self.1) else {
            return Poll::Ready(Ok(0));
        };
        buf[0] = byte;
        self.1 += 1;
        Poll::Ready(Ok(1))
    }
}

#[tokio::test]
async fn frames_arriving_a_byte_at_a_time_and_a_last_frame_without_newline_are_read() {
    let input = format!(
        "{}\r\n\n{}\n{}",
        echo(json!(1), "one"),
        echo(json!(2), "two"),
        echo(json!(3), "no newline at the end"),
    );
    let output = SharedWriter::default();
    let reader = OneByteAtATime(input.into_bytes(), 0);
    guard(
        "connect_to",
        echo_service().connect_to(ByteStreams::new(output.clone(), reader)),
    )
    .await
    .unwrap();
    assert_eq!(
        output.lines(),
        [
            r#"{"jsonrpc":"2.0","id":1,"result":{"text":"one"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":{"text":"two"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{"text":"no newline at the end"}}"#
        ]
    );
}

#[tokio::test]
async fn request_ids_round_trip_exactly() {
    let (mut peer, server) = serve(echo_service());
    for id in [
        "0",
        "-1",
        "-9223372036854775808",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        r#""""#,
        r#""req-1""#,
        r#""a\"b\\c""#,
        r#""ü✓""#,
        r#""18446744073709551616""#,
        "null",
    ] {
        peer.send(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"echo","params":{{"text":"x"}}}}"#
        ))
        .await;
        assert_eq!(
            peer.recv_line().await,
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"text":"x"}}}}"#),
            "id {id}"
        );
    }
    // Ids JSON-RPC does not allow, or outside i64/u64: refused, with id null.
    for id in [
        "1.5",
        "1e3",
        "18446744073709551616",
        "-9223372036854775809",
        "{}",
        "[]",
        "true",
    ] {
        peer.send(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"echo","params":{{"text":"x"}}}}"#
        ))
        .await;
        error_of(&peer.recv().await, Value::Null, -32600);
    }
    assert!(hang_up(peer, server).await.is_empty());
}

/// `message` in `Content-Length` framing.
fn content_length_frame(message: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{message}", message.len()).into_bytes()
}

/// Reads one `Content-Length` frame from `reader`, checking its header byte for byte.
async fn read_content_length_frame(reader: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut header = Vec::new();
    while !header.ends_with(b"\r\n\r\n") {
        header.push(reader.read_u8().await.unwrap());
    }
    let header = String::from_utf8(header).unwrap();
    let length: usize = header
        .strip_prefix("Content-Length: ")
        .and_then(|rest| rest.strip_suffix("\r\n\r\n"))
        .unwrap_or_else(|| panic!("unexpected header {header:?}"))
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn two_peers_talk_over_byte_streams_with_content_length_framing() {
    let (client_writer, server_reader) = tokio::io::duplex(64 * 1024);
    let (server_writer, client_reader) = tokio::io::duplex(64 * 1024);
    // The server chooses its framing on the component, the client on its builder.
    let server = tokio::spawn(echo_service().connect_to(
        ByteStreams::tokio(server_writer, server_reader).framing(Framing::ContentLength),
    ));
    let client = UntypedRole.builder().framing(Framing::ContentLength);
    let answers = client.connect_with(
        ByteStreams::tokio(client_writer, client_reader),
        async |cx| {
            let mut answers = Vec::new();
            // Raw params with line breaks pass unchanged: nothing here is line-based.
            let pretty = RawJson::from_string("{\n  \"text\": \"a\\nb\"\r\n}".into())?;
            let message = UntypedMessage::from_raw("echo".into(), Some(pretty));
            answers.push(cx.send_request(message).block_task().await?);
            // Many at once: one write carries several frames.
            let mut sent = Vec::new();
            for n in 0..50 {
                let text = "x".repeat(n * 100);
                sent.push(cx.send_request(UntypedMessage::new("echo", json!({ "text": text }))?));
            }
            for request in sent {
                answers.push(request.block_task().await?);
            }
            Ok(answers)
        },
    );
    let answers = guard("the client", answers).await.unwrap();
    assert_eq!(answers[0], json!({ "text": "a\nb" }));
    for (n, answer) in answers[1..].iter().enumerate() {
        assert_eq!(answer["text"].as_str().unwrap().len(), n * 100);
    }
    guard("the server", server).await.unwrap().unwrap();
}

#[tokio::test]
async fn content_length_frames_are_read_in_pieces_and_written_byte_for_byte() {
    let (mut peer_writer, server_reader) = tokio::io::duplex(64 * 1024);
    let (server_writer, mut peer_reader) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(echo_service().connect_to(
        ByteStreams::tokio(server_writer, server_reader).framing(Framing::ContentLength),
    ));
    let first = echo(json!(1), "one");
    let second = echo(json!(2), "two");
    let mut input = format!(
        "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: {}\r\n\r\n{first}",
        first.len()
    )
    .into_bytes();
    input.extend(content_length_frame(&second));
    // A byte at a time, so every header and body is cut everywhere.
    for byte in input {
        peer_writer.write_all(&[byte]).await.unwrap();
    }
    for (id, text) in [(1, "one"), (2, "two")] {
        assert_eq!(
            guard("an answer", read_content_length_frame(&mut peer_reader)).await,
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"text":"{text}"}}}}"#)
        );
    }
    drop(peer_writer);
    guard("the server", server).await.unwrap().unwrap();
    let mut rest = Vec::new();
    peer_reader.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn an_oversized_content_length_message_is_refused_unread_and_the_connection_serves_on() {
    let (mut peer_writer, server_reader) = tokio::io::duplex(64 * 1024);
    let (server_writer, mut peer_reader) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(echo_service().max_frame_bytes(200).connect_to(
        ByteStreams::tokio(server_writer, server_reader).framing(Framing::ContentLength),
    ));
    // Far more than the maximum, and more than the pipe holds: it must be read and dropped.
    let huge = echo(json!(1), &"x".repeat(1_000_000));
    let writing = async {
        peer_writer
            .write_all(&content_length_frame(&huge))
            .await
            .unwrap();
        peer_writer
            .write_all(&content_length_frame(&echo(json!(2), "small")))
            .await
            .unwrap();
        peer_writer
    };
    let reading = async {
        let refusal = read_content_length_frame(&mut peer_reader).await;
        let answer = read_content_length_frame(&mut peer_reader).await;
        (refusal, answer)
    };
    let (peer_writer, (refusal, answer)) =
        guard("both", async { tokio::join!(writing, reading) }).await;
    assert_too_large(&serde_json::from_str(&refusal).unwrap(), huge.len(), 200);
    assert_eq!(
        answer,
        r#"{"jsonrpc":"2.0","id":2,"result":{"text":"small"}}"#
    );
    drop(peer_writer);
    guard("the server", server).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_malformed_content_length_header_ends_the_connection_with_an_error_that_names_it() {
    for (bad, why) in [
        ("Content-Length: -3\r\n\r\n", "not `-3`"),
        ("Content-Type: text\r\n\r\n{}", "without a Content-Length"),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\"}\n",
            "expected a header line",
        ),
    ] {
        let (mut peer_writer, server_reader) = tokio::io::duplex(64 * 1024);
        let (server_writer, mut peer_reader) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(echo_service().connect_to(
            ByteStreams::tokio(server_writer, server_reader).framing(Framing::ContentLength),
        ));
        let mut input = content_length_frame(&echo(json!(1), "before"));
        input.extend_from_slice(bad.as_bytes());
        input.extend(content_length_frame(&echo(json!(2), "after")));
        peer_writer.write_all(&input).await.unwrap();
        // What came before the bad header is answered; nothing after it is read.
        assert_eq!(
            guard("the answer", read_content_length_frame(&mut peer_reader)).await,
            r#"{"jsonrpc":"2.0","id":1,"result":{"text":"before"}}"#
        );
        let error = guard("the server", server).await.unwrap().unwrap_err();
        assert!(
            error.message().contains("Content-Length framing") && error.message().contains(why),
            "{bad:?}: {error}"
        );
        let mut rest = Vec::new();
        peer_reader.read_to_end(&mut rest).await.unwrap();
        assert!(
            rest.is_empty(),
            "{bad:?}: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

#[tokio::test]
async fn whole_message_framing_on_a_byte_stream_is_refused_when_the_connection_starts() {
    let (writer, reader) = tokio::io::duplex(1024);
    let error = echo_service()
        .connect_to(ByteStreams::tokio(writer, reader).framing(Framing::WholeMessage))
        .await
        .unwrap_err();
    assert!(error.message().contains("no message boundaries"), "{error}");
}

/// A protocol whose framing is `Content-Length`, declared once on its role.
#[derive(Clone, Debug)]
struct HeaderFramed;

impl switchboard::Role for HeaderFramed {
    type Counterpart = HeaderFramed;

    fn counterpart(&self) -> HeaderFramed {
        HeaderFramed
    }

    fn framing(&self) -> Framing {
        Framing::ContentLength
    }
}

#[tokio::test]
async fn a_role_declares_its_framing_and_a_builder_or_component_overrides_it() {
    use switchboard::Role;
    let request = echo(json!(1), "hi");
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":"hi"}"#;
    let serve = |builder: switchboard::Builder<HeaderFramed>, streams: ByteStreams<_, _>| {
        builder
            .on_receive_request(async |request: UntypedMessage, responder, _cx| {
                responder.respond(request.params_value()?["text"].clone())
            })
            .connect_to(streams)
    };
    // The role's framing, by default.
    let output = SharedWriter::default();
    let input = content_length_frame(&request);
    guard(
        "the role's framing",
        serve(
            HeaderFramed.builder(),
            ByteStreams::new(output.clone(), futures::io::Cursor::new(input.clone())),
        ),
    )
    .await
    .unwrap();
    assert_eq!(output.bytes(), content_length_frame(answer));
    // The builder's, over the role's.
    let output = SharedWriter::default();
    let input = format!("{request}\n").into_bytes();
    let builder = HeaderFramed.builder().framing(Framing::Newline);
    guard(
        "the builder's framing",
        serve(
            builder,
            ByteStreams::new(output.clone(), futures::io::Cursor::new(input.clone())),
        ),
    )
    .await
    .unwrap();
    assert_eq!(output.lines(), [answer]);
    // The component's, over both.
    let output = SharedWriter::default();
    let streams = ByteStreams::new(output.clone(), futures::io::Cursor::new(input.clone()))
        .framing(Framing::Newline);
    let builder = HeaderFramed.builder().framing(Framing::ContentLength);
    guard("the component's framing", serve(builder, streams))
        .await
        .unwrap();
    assert_eq!(output.lines(), [answer]);
}
