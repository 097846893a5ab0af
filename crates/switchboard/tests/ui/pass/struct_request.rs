//! Structs of every shape, with and without generics.

use serde::{Deserialize, Serialize};
use switchboard::{
    JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, UntypedRole,
};

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ping", response = ())]
struct Ping;

#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = r"math/add", response = Sum)]
struct Add(i64, i64);

#[derive(Serialize, Deserialize, JsonRpcResponse)]
struct Sum(i64);

/// Several attributes are merged.
#[derive(Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "store")]
#[request(response = Vec<T>)]
#[serde(bound(deserialize = "T: JsonRpcResponse"))]
struct Store<T>
where
    T: JsonRpcResponse,
{
    values: Vec<T>,
}

#[derive(Serialize, Deserialize, JsonRpcResponse)]
#[serde(bound(deserialize = "T: JsonRpcResponse"))]
struct Page<T: JsonRpcResponse> {
    items: Vec<T>,
    next: Option<String>,
}

#[derive(Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "initialized")]
struct Initialized {}

fn request<R: JsonRpcRequest<UntypedRole, Response = T>, T>() {}
fn notification<N: JsonRpcNotification<UntypedRole>>() {}

fn main() {
    request::<Ping, ()>();
    request::<Add, Sum>();
    request::<Store<String>, Vec<String>>();
    notification::<Initialized>();
    let _: Option<Page<u64>> = None;
    assert!(<Add as JsonRpcMessage<UntypedRole>>::matches_method("math/add"));
    assert_eq!(JsonRpcMessage::<UntypedRole>::method(&Ping), "ping");
}
