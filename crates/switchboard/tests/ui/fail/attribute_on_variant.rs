use serde::{Deserialize, Serialize};
use switchboard::JsonRpcRequest;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = ())]
struct Echo {
    text: String,
}

#[derive(JsonRpcRequest)]
enum AnyRequest {
    #[request(method = "echo")]
    Echo(Echo),
}

fn main() {}
