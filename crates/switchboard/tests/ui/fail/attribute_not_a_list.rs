use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request = "echo"]
struct Echo {
    text: String,
}

fn main() {}
