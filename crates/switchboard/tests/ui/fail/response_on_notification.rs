use serde::{Deserialize, Serialize};
use switchboard::JsonRpcNotification;

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log", response = ())]
struct Log {
    line: String,
}

fn main() {}
