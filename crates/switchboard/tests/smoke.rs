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
