use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo")]
#[request(response = (), method = "echo")]
struct Echo {
    text: String,
}

fn main() {}
