//! `crate = ..` names the core crate through another path, such as a re-export.

mod reexport {
    pub use switchboard as sb;
}

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, switchboard::JsonRpcRequest)]
#[request(method = "echo", response = Echoed, crate = ::switchboard)]
struct Echo {
    text: String,
}

#[derive(Serialize, Deserialize, switchboard::JsonRpcResponse)]
#[response(crate = crate::reexport::sb)]
struct Echoed {
    text: String,
}

#[derive(Serialize, Deserialize, switchboard::JsonRpcNotification)]
#[notification(crate = reexport::sb, method = "log")]
struct Log {
    line: String,
}

#[derive(switchboard::JsonRpcRequest)]
#[request(crate = "reexport::sb")]
enum AnyRequest {
    Echo(Echo),
}

#[derive(switchboard::JsonRpcNotification)]
#[notification(crate = self::reexport::sb)]
enum AnyNotification {
    Log(Log),
}

fn main() {
    use reexport::sb::{JsonRpcMessage, UntypedRole};
    assert!(<AnyRequest as JsonRpcMessage<UntypedRole>>::matches_method("echo"));
    assert!(<AnyNotification as JsonRpcMessage<UntypedRole>>::matches_method("log"));
}
