//! The same workloads on the official ACP Rust SDK (`agent-client-protocol` 5.2.0), over its
//! `Channel` or its `ByteStreams` on the same byte pipe, with the same message shapes.

use std::sync::Arc;
use std::time::Duration;

use agent_client_protocol::role::UntypedRole;
use agent_client_protocol::{
    ByteStreams, Channel, ConnectTo, ConnectionTo, Error, JsonRpcNotification, JsonRpcRequest,
    JsonRpcResponse, Responder,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::common::{self, Countdown, Over, TEXT};
use crate::measure::{Measured, Span};

#[derive(Clone, Debug, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Echoed)]
struct Echo {
    text: String,
    n: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonRpcResponse)]
struct Echoed {
    text: String,
    n: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonRpcNotification)]
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

macro_rules! with_end {
    ($end:expr, |$component:ident| $body:expr) => {
        match $end {
            common::End::Channel($component) => $body,
            common::End::Bytes(pipe) => {
                let $component = ByteStreams::new(pipe.write.compat_write(), pipe.read.compat());
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
            async |echo: Echo, responder: Responder<Echoed>, _cx: ConnectionTo<UntypedRole>| {
                responder.respond(Echoed {
                    text: echo.text,
                    n: echo.n,
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_notification(
            async move |_: Tick, _cx: ConnectionTo<UntypedRole>| {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                ticks.tick();
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        );
    with_end!(end, |component| builder.connect_to(component).await)
}

fn check(echoed: Echoed, i: u64) -> Result<(), Error> {
    if echoed.n == i && echoed.text == TEXT {
        Ok(())
    } else {
        Err(Error::internal_error().data(format!("wrong answer to {i}")))
    }
}

fn echo(i: u64) -> Echo {
    Echo {
        text: TEXT.to_owned(),
        n: i,
    }
}

fn tick(i: u64) -> Tick {
    Tick {
        text: TEXT.to_owned(),
        n: i,
    }
}

async fn client<T>(
    end: End,
    main: impl AsyncFnOnce(ConnectionTo<UntypedRole>) -> Result<T, Error>,
) -> Result<T, Error> {
    with_end!(end, |component| connect(component, main).await)
}

async fn connect<T>(
    component: impl ConnectTo<UntypedRole> + 'static,
    main: impl AsyncFnOnce(ConnectionTo<UntypedRole>) -> Result<T, Error>,
) -> Result<T, Error> {
    UntypedRole.builder().connect_with(component, main).await
}

/// Workload 1, after `warmup` requests on the same connection (not timed).
pub async fn sequential(end: End, warmup: u64, n: u64) -> Result<Measured, Error> {
    client(end, async move |cx| {
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
    client(end, async move |cx| {
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

/// Workload 3, after `warmup` notifications counted before the clock starts. The SDK's
/// queues are unbounded, so sending never waits.
pub async fn notifications(
    end: End,
    warmup: u64,
    n: u64,
    ticks: Arc<Countdown>,
) -> Result<Measured, Error> {
    client(end, async move |cx| {
        for i in 0..warmup {
            cx.send_notification(tick(i))?;
        }
        ticks.wait_until(n).await;
        let span = Span::start();
        for i in warmup..warmup + n {
            cx.send_notification(tick(i))?;
        }
        ticks.wait().await;
        Ok(span.finish(n))
    })
    .await
}

/// Workload 4: sends up to `n` ticks for `window`, reports the count through `sent`, then
/// leaves the connection hanging for the caller to tear down.
pub async fn flood(
    end: End,
    n: u64,
    window: Duration,
    sent: oneshot::Sender<u64>,
) -> Result<(), Error> {
    client(end, async move |cx| {
        let mut count = 0;
        let _ = tokio::time::timeout(window, async {
            while count < n {
                cx.send_notification(tick(count))?;
                count += 1;
                // Sending never waits here; yield now and then so the window can end.
                if count % 1024 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            Ok::<_, Error>(())
        })
        .await;
        let _ = sent.send(count);
        std::future::pending::<Result<(), Error>>().await
    })
    .await
}
