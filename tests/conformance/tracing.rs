//! What a connection tells `tracing`: a span per connection with its name and role, DEBUG
//! spans per message with method, id and direction, and failure events that name the method
//! and id even at the INFO level, where no per-message span is open. The test collects the
//! formatted output of a `tracing-subscriber` installed for its thread.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchboard::{Channel, Error, Responder, UntypedMessage, UntypedRole};
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs a named server whose `note` notification handler fails and a client that sends it,
/// then asks `broken`, whose answer callback fails; returns what was logged at `level`.
fn run_at(level: tracing::Level) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _installed = tracing::subscriber::set_default(subscriber);
    futures::executor::block_on(async {
        let (client_end, server_end) = Channel::duplex();
        let server = UntypedRole
            .builder()
            .name("calculator")
            .on_receive_notification(async |_: UntypedMessage, _cx| {
                Err(Error::invalid_params("the note was unreadable"))
            })
            .on_receive_request(
                async |request: UntypedMessage, responder: Responder<Value>, _cx| {
                    responder.respond(request.method().into())
                },
            );
        let client = UntypedRole
            .builder()
            .name("asker")
            .connect_with(client_end, async |cx| {
                cx.send_notification(UntypedMessage::new("note", ())?)?;
                let (answered, heard) = futures::channel::oneshot::channel();
                cx.send_request(UntypedMessage::new("broken", ())?)
                    .on_receiving_result(async move |_: Result<Value, Error>| {
                        let _ = answered.send(());
                        Err(Error::internal_error("the callback could not use it"))
                    });
                heard.await.map_err(|_| Error::internal_error("no answer"))
            });
        let (asked, served) = futures::join!(client, server.connect_to(server_end));
        asked.unwrap();
        served.unwrap();
    });
    captured.text()
}

/// The first line of `logged` that contains `needle`.
#[track_caller]
fn line_with<'a>(logged: &'a str, needle: &str) -> &'a str {
    logged
        .lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} was logged:\n{logged}"))
}

#[test]
fn failures_name_the_connection_the_method_and_the_id_at_the_info_level() {
    let logged = run_at(tracing::Level::INFO);
    let handler_failed = line_with(&logged, "a handler failed");
    assert!(
        handler_failed.contains("connection{name=\"calculator\" role=UntypedRole}"),
        "{handler_failed}"
    );
    assert!(
        handler_failed.contains("method=\"note\""),
        "{handler_failed}"
    );
    assert!(
        handler_failed.contains("the note was unreadable"),
        "{handler_failed}"
    );
    let callback_failed = line_with(&logged, "the callback that received an answer failed");
    assert!(
        callback_failed.contains("connection{name=\"asker\""),
        "{callback_failed}"
    );
    assert!(
        callback_failed.contains("method=\"broken\""),
        "{callback_failed}"
    );
    assert!(callback_failed.contains("id=1"), "{callback_failed}");
    // No per-message span at INFO.
    assert!(!logged.contains("direction="), "{logged}");
}

#[test]
fn at_the_debug_level_each_message_has_a_span_with_its_direction() {
    let logged = run_at(tracing::Level::DEBUG);
    let handler_failed = line_with(&logged, "a handler failed");
    assert!(
        handler_failed.contains("notification{direction=\"received\" method=\"note\"}"),
        "{handler_failed}"
    );
    let callback_failed = line_with(&logged, "the callback that received an answer failed");
    assert!(
        callback_failed.contains("request{direction=\"sent\" method=\"broken\" id=1}"),
        "{callback_failed}"
    );
}
