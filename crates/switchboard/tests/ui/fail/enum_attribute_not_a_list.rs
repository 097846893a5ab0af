use serde::{Deserialize, Serialize};
use switchboard::JsonRpcNotification;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
struct Log {
    line: String,
}

#[derive(JsonRpcNotification)]
#[notification]
enum AnyNotification {
    Log(Log),
}

fn main() {}
