use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = ())]
struct Echo {
    text: String,
}

#[derive(JsonRpcRequest)]
enum AnyRequest {
    Echo(Echo),
    /// Not a message type.
    Add {
        a: i64,
        b: i64,
    },
}

fn main() {}
