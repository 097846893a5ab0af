use serde::{Deserialize, Serialize};
use switchboard::JsonRpcNotification;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "")]
struct Log {
    line: String,
}

fn main() {}
