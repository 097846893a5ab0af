use switchboard::JsonRpcNotification;

#[derive(JsonRpcNotification)]
enum Nothing {}

fn main() {}
