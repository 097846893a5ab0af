use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = (), method = "echo2")]
struct Echo {
    text: String,
}

fn main() {}
