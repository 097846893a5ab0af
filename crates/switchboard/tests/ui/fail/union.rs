use switchboard::JsonRpcRequest;

#[derive(JsonRpcRequest)]
#[request(method = "bits", response = ())]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
