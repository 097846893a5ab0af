use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
struct Echo {
    text: String,
}

fn main() {}
