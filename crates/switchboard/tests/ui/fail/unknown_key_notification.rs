use serde::{Deserialize, Serialize};
use switchboard::JsonRpcNotification;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(name = "log")]
struct Log {
    line: String,
}

fn main() {}
