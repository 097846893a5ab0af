//! A first end-to-end check over the untyped API.

use serde_json::json;
use switchboard::{Channel, Error, UntypedMessage, UntypedRole};

#[tokio::test]
async fn request_and_answer_over_a_channel() {
    let (a, b) = Channel::duplex();
    let server = UntypedRole
        .builder()
        .on_receive_request(async |request: UntypedMessage, responder, _cx| {
            responder
                .respond(json!({"method": request.method(), "params": request.params_value()?}))
        })
        .connect_to(b);
    let client = UntypedRole.builder().connect_with(a, async |cx| {
        let answer = cx
            .send_request(UntypedMessage::new("hi", json!({"x": 1}))?)
            .block_task()
            .await?;
        Ok::<_, Error>(answer)
    });
    let (answer, served) = tokio::join!(client, server);
    assert_eq!(answer.unwrap(), json!({"method": "hi", "params": {"x": 1}}));
    served.unwrap();
}

/// `all_answered` polled by a task other than the connection's loop is pending while a
/// request is being handled, and is woken by the answer itself (the last responder's drop
/// takes the waiters), not by some later poll.
#[tokio::test]
async fn all_answered_wakes_a_waiter_outside_the_loop_when_the_last_request_is_answered() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let (a, b) = Channel::duplex();
    let (held_tx, mut held_rx) = tokio::sync::mpsc::channel(1);
    let server = UntypedRole
        .builder()
        .on_receive_request(move |_request: UntypedMessage, responder, _cx| {
            let held = held_tx
                .try_send(responder)
                .map_err(|_| Error::internal_error("the test holds one request"));
            async move { held }
        })
        .connect_with(b, async move |cx| {
            let responder = held_rx.recv().await.expect("the request arrives");
            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(Arc::clone(&flag));
            let mut answered = Box::pin(cx.all_answered());
            let mut context = Context::from_waker(&waker);
            assert!(answered.as_mut().poll(&mut context).is_pending());
            responder.respond(json!("done"))?;
            assert!(flag.0.load(Ordering::SeqCst), "the answer wakes the waiter");
            assert_eq!(answered.as_mut().poll(&mut context), Poll::Ready(()));
            Ok::<_, Error>(())
        });
    let client = UntypedRole.builder().connect_with(a, async |cx| {
        cx.send_request(UntypedMessage::new("hold", json!({}))?)
            .block_task()
            .await
    });
    let (answer, served) = tokio::join!(client, server);
    assert_eq!(answer.unwrap(), json!("done"));
    served.unwrap();
}
