//! Guarantee 7, a runtime-neutral core: every future the API returns is `Send` (checked at
//! compile time with `assert_send`, then run), and a connection runs to completion on
//! `futures::executor::block_on` and on a `futures::executor::LocalPool`, with no tokio
//! runtime anywhere — including spawned tasks and `block_task()` inside them. A future inside
//! a connection that keeps waking itself does not keep the connection's poll from returning.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures::channel::oneshot;
use futures::executor::{LocalPool, block_on};
use futures::task::LocalSpawnExt;
use serde_json::{Value, json};
use switchboard::router::ResponseRouter;
use switchboard::{
    ByteStreams, Channel, ConnectionTo, Dispatch, Error, Handled, Handler, Lines, Responder,
    SentRequest, UntypedMessage, UntypedRole,
};

use crate::support::{SharedWriter, notification, off_runtime};

/// Compiles only if `T` is `Send`.
fn assert_send<T: Send>(_: &T) {}

/// Compiles only if `T` is `Send + 'static`: what `tokio::spawn` and thread pools ask for.
fn assert_send_static<T: Send + 'static>(_: &T) {}

/// Compiles only if the type is `Send + Sync`.
fn assert_send_sync<T: Send + Sync>() {}

fn no_tokio_here() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "this test must run outside any tokio runtime"
    );
}

/// A server answering every request with its method and params, through a spawned task that
/// itself asks the client something and waits with `block_task()`.
fn server() -> switchboard::Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, cx| {
            let task_cx = cx.clone();
            cx.spawn(async move {
                let ask = task_cx.send_request(UntypedMessage::new("client/name", json!({}))?);
                let name = ask.block_task().await?;
                responder.respond(json!({
                    "method": request.method(),
                    "params": request.params_value()?,
                    "client": name,
                }))
            });
            Ok(())
        })
}

/// A client that answers `client/name`.
fn client() -> switchboard::Builder<UntypedRole, impl Handler<UntypedRole> + 'static> {
    UntypedRole
        .builder()
        .on_receive_request(async |_: UntypedMessage, responder, _cx| {
            responder.respond(json!("futures"))
        })
}

/// A handler that looks at responses itself, to check `ResponseRouter::route` is `Send`.
struct RouteItMyself;

impl Handler<UntypedRole> for RouteItMyself {
    async fn handle(
        &mut self,
        dispatch: Dispatch,
        _cx: &ConnectionTo<UntypedRole>,
    ) -> Result<Handled<Dispatch>, Error> {
        match dispatch {
            Dispatch::Response(result, router) => {
                let routing = router.route(result);
                assert_send(&routing);
                routing.await;
                Ok(Handled::Yes)
            }
            other => {
                let unclaimed = switchboard::role::unclaimed(other);
                assert_send(&unclaimed);
                unclaimed.await?;
                Ok(Handled::Yes)
            }
        }
    }
}

#[test]
fn every_future_the_api_returns_is_send() {
    off_runtime(|| {
        assert_send_sync::<ConnectionTo<UntypedRole>>();
        assert_send_sync::<Error>();
        fn assert_send_type<T: Send>() {}
        assert_send_type::<Responder<Value>>();
        assert_send_type::<SentRequest<Value>>();
        assert_send_type::<ResponseRouter>();
        assert_send_type::<Dispatch>();

        let (a, b) = Channel::duplex();
        let served = server().connect_to(b);
        assert_send_static(&served);
        let main = client()
            .with_handler(RouteItMyself)
            .connect_with(a, async |cx| {
                let writable = cx.writable();
                assert_send_static(&writable);
                writable.await;
                let sent = cx.send_request(UntypedMessage::new("ping", json!([1]))?);
                let waiting = sent.block_task();
                assert_send_static(&waiting);
                let mapped = cx
                    .send_request(UntypedMessage::new("pong", json!({}))?)
                    .map(|answer| Ok(answer["method"].clone()))
                    .block_task();
                assert_send_static(&mapped);
                Ok::<_, Error>((waiting.await?, mapped.await?))
            });
        assert_send_static(&main);

        // Run them too, without tokio: the assertions above are about futures that work.
        no_tokio_here();
        let (answers, served) = block_on(futures::future::join(main, served));
        let (ping, pong) = answers.unwrap();
        served.unwrap();
        assert_eq!(
            ping,
            json!({"method": "ping", "params": [1], "client": "futures"})
        );
        assert_eq!(pong, "pong");
    });
}

#[test]
fn a_connection_runs_on_block_on_without_tokio() {
    off_runtime(|| {
        no_tokio_here();
        let (a, b) = Channel::duplex();
        let notes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&notes);
        let server = server().on_receive_notification(move |note: UntypedMessage, _cx| {
            seen.lock().unwrap().push(note.method().to_owned());
            async { Ok(()) }
        });
        let main = client().connect_with(a, async |cx| {
            cx.send_notification(UntypedMessage::new("hello", json!({}))?)?;
            let mut answers = Vec::new();
            for n in 0..3 {
                let sent = cx.send_request(UntypedMessage::new("count", json!({"n": n}))?);
                answers.push(sent.block_task().await?["params"]["n"].clone());
            }
            Ok::<_, Error>(answers)
        });
        let (answers, served) = block_on(futures::future::join(main, server.connect_to(b)));
        assert_eq!(answers.unwrap(), [json!(0), json!(1), json!(2)]);
        served.unwrap();
        assert_eq!(*notes.lock().unwrap(), ["hello"]);
    });
}

#[test]
fn byte_streams_run_on_block_on_without_tokio() {
    off_runtime(|| {
        no_tokio_here();
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":2,"method":"pong"}"#,
            "\n"
        );
        let output = SharedWriter::default();
        let server = UntypedRole.builder().on_receive_request(
            async |request: UntypedMessage, responder, _cx| {
                responder.respond(json!(request.method()))
            },
        );
        let reader = futures::io::Cursor::new(input.as_bytes().to_vec());
        block_on(server.connect_to(ByteStreams::new(output.clone(), reader))).unwrap();
        assert_eq!(
            output.lines(),
            [
                r#"{"jsonrpc":"2.0","id":1,"result":"ping"}"#,
                r#"{"jsonrpc":"2.0","id":2,"result":"pong"}"#
            ]
        );
    });
}

#[test]
fn a_connection_runs_on_a_local_pool_without_tokio() {
    off_runtime(|| {
        no_tokio_here();
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        let (a, b) = Channel::duplex();
        let (server_done, server_result) = oneshot::channel();
        spawner
            .spawn_local(async move {
                let _ = server_done.send(server().connect_to(b).await);
            })
            .unwrap();
        let answer = pool.run_until(client().connect_with(a, async |cx| {
            cx.send_request(UntypedMessage::new("local", json!({"pool": true}))?)
                .block_task()
                .await
        }));
        assert_eq!(
            answer.unwrap(),
            json!({"method": "local", "params": {"pool": true}, "client": "futures"})
        );
        // The client hung up; the server sees the end of input and returns on the same pool.
        pool.run();
        pool.run_until(server_result).unwrap().unwrap();
    });
}

/// The same futures on a multi-threaded tokio runtime: `tokio::spawn` needs `Send + 'static`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_futures_can_be_spawned_on_a_multi_threaded_runtime() {
    let (a, b) = Channel::duplex();
    let served = tokio::spawn(server().connect_to(b));
    let main = tokio::spawn(client().connect_with(a, async |cx| {
        cx.send_request(UntypedMessage::new("threads", json!({}))?)
            .block_task()
            .await
    }));
    let answer = crate::support::guard("the client", main)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer["client"], "futures");
    crate::support::guard("the server", served)
        .await
        .unwrap()
        .unwrap();
}

/// How many polls [`Spin`] waits before it gives up: far more than one poll of a connection may
/// take, so that a connection that never yields fails the test instead of hanging it.
const GIVE_UP: usize = 10_000;

/// Pending until `released`, waking its task each time it is polled: a busy wait with a
/// `yield_now`, or a tokio I/O type or channel once the task's budget is spent (outside a
/// worker thread, in `block_on`, tokio wakes the task at once).
struct Spin {
    released: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
}

impl Future for Spin {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let polls = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.released.load(Ordering::SeqCst) || polls >= GIVE_UP {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Counts the wakes of the task that polls the connection.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_future_that_keeps_waking_itself_does_not_keep_the_connection_from_yielding() {
    off_runtime(|| {
        let released = Arc::new(AtomicBool::new(false));
        let polls = Arc::new(AtomicUsize::new(0));
        let (spin_released, spin_polls) = (Arc::clone(&released), Arc::clone(&polls));
        let server =
            UntypedRole
                .builder()
                .on_receive_notification(move |_: UntypedMessage, _cx| {
                    let spin = Spin {
                        released: Arc::clone(&spin_released),
                        polls: Arc::clone(&spin_polls),
                    };
                    async move {
                        spin.await;
                        Ok(())
                    }
                });
        let incoming = futures::stream::iter([Ok::<_, io::Error>(notification("spin", json!({})))]);
        let (out, _written) = futures::channel::mpsc::unbounded::<String>();
        let mut connection = Box::pin(server.connect_to(Lines::new(out, incoming)));

        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let first = connection.as_mut().poll(&mut Context::from_waker(&waker));
        let spun = polls.load(Ordering::SeqCst);
        assert!(
            spun < GIVE_UP,
            "one poll of the connection polled the spinning handler {spun} times"
        );
        assert!(first.is_pending(), "the handler has not finished");
        assert!(
            wakes.0.load(Ordering::SeqCst) > 0,
            "the connection yielded without waking its task: nobody would poll it again"
        );

        released.store(true, Ordering::SeqCst);
        block_on(connection).unwrap();
    });
}

/// The same with tokio's real budget: a connection awaited in a multi-threaded runtime's
/// `block_on` (as in `#[tokio::main]`), whose handler sends on a tokio channel. Once the
/// budget is spent, the send wakes the task and stays pending until the task yields.
#[test]
fn a_spent_tokio_budget_does_not_stall_a_connection_in_block_on() {
    off_runtime(|| {
        const NOTES: u64 = 300;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (forward, mut forwarded) = tokio::sync::mpsc::channel::<u64>(NOTES as usize);
        let server =
            UntypedRole
                .builder()
                .on_receive_notification(move |note: UntypedMessage, _cx| {
                    let forward = forward.clone();
                    async move {
                        let n = note.params_value()?["n"].as_u64().unwrap_or_default();
                        forward
                            .send(n)
                            .await
                            .map_err(|_| Error::internal_error("the test stopped listening"))
                    }
                });
        let incoming = futures::stream::iter(
            (0..NOTES).map(|n| Ok::<_, io::Error>(notification("tick", json!({ "n": n })))),
        );
        let (out, _written) = futures::channel::mpsc::unbounded::<String>();
        runtime
            .block_on(server.connect_to(Lines::new(out, incoming)))
            .unwrap();
        let mut received = Vec::new();
        while let Ok(n) = forwarded.try_recv() {
            received.push(n);
        }
        assert_eq!(received, (0..NOTES).collect::<Vec<_>>());
    });
}
