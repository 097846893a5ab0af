use serde::{Deserialize, Serialize};
use switchboard::JsonRpcNotification;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
struct Log {
    line: String,
}

#[derive(JsonRpcNotification)]
enum AnyNotification {
    Log(Log),
    Exit,
    Twice(Log, Log),
}

fn main() {}
