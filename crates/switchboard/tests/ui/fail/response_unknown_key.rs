use serde::{Deserialize, Serialize};
use switchboard::JsonRpcResponse;

#[derive(Serialize, Deserialize, JsonRpcResponse)]
#[response(method = "sum")]
struct Sum(i64);

fn main() {}
