//! Enums of messages, with and without the attribute.

use serde::{Deserialize, Serialize};
use switchboard::{
    JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, UntypedMessage, UntypedRole,
};

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = String)]
struct Echo {
    text: String,
}

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ping", response = ())]
struct Ping;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
struct Log {
    line: String,
}

#[derive(JsonRpcRequest)]
enum AnyRequest {
    /// Doc comments on variants are fine.
    Echo(Echo),
    Ping(Ping),
}

#[derive(JsonRpcRequest)]
#[request(response = String)]
enum EchoOrUntyped {
    Echo(Echo),
    Other(UntypedMessage),
}

#[derive(JsonRpcNotification)]
#[notification()]
enum AnyNotification {
    Log(Log),
}

/// A generic enum carries its own bounds, and gets the variants' message bounds added.
#[derive(JsonRpcNotification)]
enum Either<A: Send, B> {
    Left(A),
    Right(B),
}

fn request<R: JsonRpcRequest<UntypedRole, Response = T>, T>() {}
fn notification<N: JsonRpcNotification<UntypedRole>>() {}

fn main() {
    request::<AnyRequest, serde_json::Value>();
    request::<EchoOrUntyped, String>();
    notification::<AnyNotification>();
    notification::<Either<Log, UntypedMessage>>();
    assert!(<AnyRequest as JsonRpcMessage<UntypedRole>>::matches_method("ping"));
}
