//! The workloads on Switchboard, over its `Channel` or over `ByteStreams` on a byte pipe.

use std::future::{Future, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard::dynamic::{DynamicHandlerRegistration, RoutingKey};
use switchboard::error::codes::OUTGOING_QUEUE_FULL;
use switchboard::handler::NotificationHandler;
use switchboard::{
    ByteStreams, Channel, ConnectTo, ConnectionTo, Error, JsonRpcNotification, JsonRpcRequest,
    JsonRpcResponse, Responder, UntypedRole,
};
use tokio::sync::oneshot;

use crate::common::{self, Countdown, Over, TEXT};
use crate::measure::{Measured, Span};

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Echoed)]
struct Echo {
    text: String,
    n: u64,
}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Echoed {
    text: String,
    n: u64,
}

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "tick")]
struct Tick {
    text: String,
    n: u64,
}

/// One end of either transport.
pub type End = common::End<Channel>;

/// A connected pair of ends over `over`: (client, server).
pub fn ends(over: Over) -> (End, End) {
    common::ends(over, Channel::duplex)
}

/// Runs `connect` with the end made into a component; one place for the two transports.
macro_rules! with_end {
    ($end:expr, |$component:ident| $body:expr) => {
        match $end {
            common::End::Channel($component) => $body,
            common::End::Bytes(pipe) => {
                let $component = ByteStreams::tokio(pipe.write, pipe.read);
                $body
            }
        }
    };
}

/// Serves echo requests and counts ticks; with `delay`, each tick takes that long (the flood).
pub async fn serve(end: End, ticks: Arc<Countdown>, delay: Option<Duration>) -> Result<(), Error> {
    let builder = UntypedRole
        .builder()
        .on_receive_request(
            |echo: Echo, responder: Responder<Echoed>, _cx: ConnectionTo<UntypedRole>| {
                ready(responder.respond(Echoed {
                    text: echo.text,
                    n: echo.n,
                }))
            },
        )
        .on_receive_notification(move |_: Tick, _cx: ConnectionTo<UntypedRole>| {
            // Counted before the future is made, so only the flood's slow handler needs to
            // hold on to the counter.
            let slow = delay.map(|delay| (delay, Arc::clone(&ticks)));
            if slow.is_none() {
                ticks.tick();
            }
            async move {
                if let Some((delay, ticks)) = slow {
                    tokio::time::sleep(delay).await;
                    ticks.tick();
                }
                Ok(())
            }
        });
    with_end!(end, |component| builder.connect_to(component).await)
}

fn check(echoed: Echoed, i: u64) -> Result<(), Error> {
    if echoed.n == i && echoed.text == TEXT {
        Ok(())
    } else {
        Err(Error::internal_error(format_args!("wrong answer to {i}")))
    }
}

fn echo(i: u64) -> Echo {
    Echo {
        text: TEXT.to_owned(),
        n: i,
    }
}

/// Runs `main` as the client over `end`.
async fn client<T, Fut>(
    end: End,
    main: impl FnOnce(ConnectionTo<UntypedRole>) -> Fut + Send + 'static,
) -> Result<T, Error>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    with_end!(end, |component| connect(component, main).await)
}

async fn connect<T, Fut>(
    component: impl ConnectTo<UntypedRole>,
    main: impl FnOnce(ConnectionTo<UntypedRole>) -> Fut + Send + 'static,
) -> Result<T, Error>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    UntypedRole.builder().connect_with(component, main).await
}

/// Workload 1, after `warmup` requests on the same connection (not timed).
pub async fn sequential(end: End, warmup: u64, n: u64) -> Result<Measured, Error> {
    client(end, move |cx| async move {
        for i in 0..warmup {
            check(cx.send_request(echo(i)).block_task().await?, i)?;
        }
        let span = Span::start();
        for i in warmup..warmup + n {
            check(cx.send_request(echo(i)).block_task().await?, i)?;
        }
        Ok(span.finish(n))
    })
    .await
}

/// Workload 2, after `warmup` requests on the same connection (not timed).
pub async fn pipelined(end: End, warmup: u64, n: u64) -> Result<Measured, Error> {
    client(end, move |cx| async move {
        let send = |i| {
            let answer = cx.send_request(echo(i)).block_task();
            async move { check(answer.await?, i) }
        };
        common::pipelined(0..warmup, send).await?;
        let span = Span::start();
        common::pipelined(warmup..warmup + n, send).await?;
        Ok(span.finish(n))
    })
    .await
}

/// Sends the notification `make` builds, waiting for room while the outgoing queue is full:
/// how a sender goes at the peer's pace.
async fn send_paced<N: JsonRpcNotification<UntypedRole>>(
    cx: &ConnectionTo<UntypedRole>,
    mut make: impl FnMut() -> N,
) -> Result<(), Error> {
    loop {
        match cx.send_notification(make()) {
            Err(error) if error.code() == OUTGOING_QUEUE_FULL => cx.writable().await,
            sent => return sent,
        }
    }
}

fn tick(i: u64) -> Tick {
    Tick {
        text: TEXT.to_owned(),
        n: i,
    }
}

/// Workload 3, after `warmup` notifications on the same connection, counted before the
/// clock starts (`ticks` counts down from `warmup + n`).
pub async fn notifications(
    end: End,
    warmup: u64,
    n: u64,
    ticks: Arc<Countdown>,
) -> Result<Measured, Error> {
    client(end, move |cx| async move {
        for i in 0..warmup {
            send_paced(&cx, || tick(i)).await?;
        }
        ticks.wait_until(n).await;
        let span = Span::start();
        for i in warmup..warmup + n {
            send_paced(&cx, || tick(i)).await?;
        }
        ticks.wait().await;
        Ok(span.finish(n))
    })
    .await
}

/// Workload 4: sends up to `n` ticks for `window`, reports how many were sent through
/// `sent`, then leaves the connection hanging for the caller to tear down.
pub async fn flood(
    end: End,
    n: u64,
    window: Duration,
    sent: oneshot::Sender<u64>,
) -> Result<(), Error> {
    client(end, move |cx| async move {
        let mut count = 0;
        let _ = tokio::time::timeout(window, async {
            while count < n {
                send_paced(&cx, || tick(count)).await?;
                count += 1;
            }
            Ok::<_, Error>(())
        })
        .await;
        let _ = sent.send(count);
        std::future::pending::<Result<(), Error>>().await
    })
    .await
}

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "open", response = Opened)]
struct Open {
    sessions: u64,
}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Opened {}

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "session/tick")]
#[serde(rename_all = "camelCase")]
struct SessionTick {
    session_id: String,
    text: String,
    n: u64,
}

/// Where workload 5's ticks went: a count per session, and how many reached a handler of
/// another session. Checked after every run, in release builds too.
pub struct Routed {
    per_session: Vec<AtomicU64>,
    misrouted: AtomicU64,
}

impl Routed {
    pub fn new(sessions: u64) -> Arc<Routed> {
        Arc::new(Routed {
            per_session: (0..sessions).map(|_| AtomicU64::new(0)).collect(),
            misrouted: AtomicU64::new(0),
        })
    }

    /// Every one of `n` ticks, sent round-robin, reached its own session's handler.
    pub fn check(&self, n: u64) -> Result<(), String> {
        let misrouted = self.misrouted.load(Ordering::Relaxed);
        if misrouted != 0 {
            return Err(format!(
                "{misrouted} ticks reached another session's handler"
            ));
        }
        let sessions = self.per_session.len() as u64;
        for (s, count) in self.per_session.iter().enumerate() {
            let s = s as u64;
            let expected = n / sessions + u64::from(s < n % sessions);
            let got = count.load(Ordering::Relaxed);
            if got != expected {
                return Err(format!("session s{s} got {got} ticks, not {expected}"));
            }
        }
        Ok(())
    }
}

/// Workload 5, server side: `open` adds one keyed dynamic handler per session; every
/// `session/tick` reaches its session's handler through the routing key.
pub async fn serve_sessions(
    end: End,
    ticks: Arc<Countdown>,
    routed: Arc<Routed>,
) -> Result<(), Error> {
    let sessions = Arc::new(Mutex::new(Vec::<DynamicHandlerRegistration>::new()));
    let builder = UntypedRole.builder().on_receive_request(
        move |open: Open, responder: Responder<Opened>, cx: ConnectionTo<UntypedRole>| {
            let mut sessions = sessions.lock().unwrap_or_else(|e| e.into_inner());
            for s in 0..open.sessions {
                let ticks = Arc::clone(&ticks);
                let routed = Arc::clone(&routed);
                let mine = format!("s{s}");
                let handler = NotificationHandler::new(
                    move |tick: SessionTick, _cx: ConnectionTo<UntypedRole>| {
                        if tick.session_id == mine {
                            routed.per_session[s as usize].fetch_add(1, Ordering::Relaxed);
                        } else {
                            routed.misrouted.fetch_add(1, Ordering::Relaxed);
                        }
                        ticks.tick();
                        ready(Ok(()))
                    },
                );
                let key = RoutingKey::new("sessionId", format!("s{s}"));
                sessions.push(cx.add_keyed_handler(key, handler));
            }
            ready(responder.respond(Opened {}))
        },
    );
    with_end!(end, |component| builder.connect_to(component).await)
}

/// Workload 5, client side: opens `sessions`, then sends `n` ticks round-robin over them.
pub async fn sessions(
    end: End,
    sessions: u64,
    warmup: u64,
    n: u64,
    ticks: Arc<Countdown>,
) -> Result<Measured, Error> {
    client(end, move |cx| async move {
        cx.send_request(Open { sessions }).block_task().await?;
        let ids: Vec<String> = (0..sessions).map(|s| format!("s{s}")).collect();
        let send = async |range: std::ops::Range<u64>| {
            for i in range {
                let session = &ids[(i % sessions) as usize];
                let tick = || SessionTick {
                    session_id: session.clone(),
                    text: TEXT.to_owned(),
                    n: i,
                };
                send_paced(&cx, tick).await?;
            }
            Ok::<_, Error>(())
        };
        send(0..warmup).await?;
        ticks.wait_until(n).await;
        let span = Span::start();
        send(warmup..warmup + n).await?;
        ticks.wait().await;
        Ok(span.finish(n))
    })
    .await
}
