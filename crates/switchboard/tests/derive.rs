//! The derived message impls at run time: method names, params written and read, enum dispatch.

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard::{
    Error, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, UntypedMessage, UntypedRole,
};

/// The derived impls hold for every counterpart role; these tests read them for `UntypedRole`
/// through this one-role view, so each call names no role.
trait Plain: Sized {
    fn matches_method(method: &str) -> bool;
    fn method(&self) -> &str;
    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error>;
    fn from_untyped(message: UntypedMessage) -> Result<Self, Error>;
    fn into_untyped(self) -> Result<UntypedMessage, Error>;
}

impl<T: switchboard::JsonRpcMessage<UntypedRole>> Plain for T {
    fn matches_method(method: &str) -> bool {
        T::matches_method(method)
    }
    fn method(&self) -> &str {
        switchboard::JsonRpcMessage::<UntypedRole>::method(self)
    }
    fn write_params(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        switchboard::JsonRpcMessage::<UntypedRole>::write_params(self, out)
    }
    fn from_untyped(message: UntypedMessage) -> Result<Self, Error> {
        T::from_untyped(message)
    }
    fn into_untyped(self) -> Result<UntypedMessage, Error> {
        switchboard::JsonRpcMessage::<UntypedRole>::into_untyped(self)
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "echo", response = Echoed)]
struct Echo {
    text: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
struct Echoed {
    text: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "math/add", response = i64)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "ping", response = ())]
struct Ping;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "list", response = Vec<String>)]
struct List {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "pair", response = serde_json::Value)]
struct Pair(i64, String);

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcRequest)]
#[request(method = "store", response = T)]
// serde's own `T: Deserialize<'de>` would be ambiguous next to `T: DeserializeOwned`.
#[serde(bound(deserialize = "T: JsonRpcResponse"))]
struct Store<T: JsonRpcResponse> {
    value: T,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "log")]
struct Log {
    line: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcNotification)]
#[notification(method = "initialized")]
struct Initialized;

#[derive(Debug, PartialEq, JsonRpcRequest)]
enum AnyRequest {
    Echo(Echo),
    Add(Add),
    Ping(Ping),
}

#[derive(Debug, PartialEq, JsonRpcRequest)]
#[request(response = Echoed)]
enum EchoOnly {
    Echo(Echo),
}

/// Variants are tried in order: the untyped catch-all goes last.
#[derive(Debug, PartialEq, JsonRpcNotification)]
enum AnyNotification {
    Log(Log),
    Initialized(Initialized),
    Other(UntypedMessage),
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonRpcResponse)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Outcome {
    Done,
    Failed { reason: String },
}

fn params(message: &impl Plain) -> String {
    let mut out = Vec::new();
    message.write_params(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn untyped(method: &str, params: serde_json::Value) -> UntypedMessage {
    UntypedMessage::new(method, params).unwrap()
}

fn no_params(method: &str) -> UntypedMessage {
    UntypedMessage::from_raw(method.into(), None)
}

/// Compile-time checks that the derives implemented the right traits with the right types.
fn response_of<R: JsonRpcRequest<UntypedRole, Response = T>, T>() {}
fn is_notification<N: JsonRpcNotification<UntypedRole>>() {}
fn is_response<R: JsonRpcResponse>() {}

#[test]
fn the_traits_and_response_types_are_derived() {
    response_of::<Echo, Echoed>();
    response_of::<Add, i64>();
    response_of::<Ping, ()>();
    response_of::<List, Vec<String>>();
    response_of::<Store<u64>, u64>();
    response_of::<AnyRequest, serde_json::Value>();
    response_of::<EchoOnly, Echoed>();
    is_notification::<Log>();
    is_notification::<Initialized>();
    is_notification::<AnyNotification>();
    is_response::<Echoed>();
    is_response::<Outcome>();
}

#[test]
fn a_struct_has_its_method() {
    assert_eq!(Echo { text: "hi".into() }.method(), "echo");
    assert_eq!(Add { a: 1, b: 2 }.method(), "math/add");
    assert_eq!(Log { line: "x".into() }.method(), "log");
    assert!(Echo::matches_method("echo"));
    assert!(!Echo::matches_method("Echo"));
    assert!(!Echo::matches_method("echo "));
    assert!(!Echo::matches_method(""));
    assert!(Add::matches_method("math/add"));
    assert!(Initialized::matches_method("initialized"));
    assert!(Store::<u64>::matches_method("store"));
}

#[test]
fn a_struct_writes_its_params_with_serde() {
    assert_eq!(params(&Echo { text: "hi".into() }), r#"{"text":"hi"}"#);
    assert_eq!(params(&Add { a: 1, b: 2 }), r#"{"a":1,"b":2}"#);
    assert_eq!(params(&Pair(7, "x".into())), r#"[7,"x"]"#);
    assert_eq!(params(&Store { value: true }), r#"{"value":true}"#);
    assert_eq!(params(&Log { line: "x".into() }), r#"{"line":"x"}"#);
}

#[test]
fn a_unit_struct_writes_null() {
    assert_eq!(params(&Ping), "null");
    assert_eq!(params(&Initialized), "null");
}

#[test]
fn a_struct_reads_its_params() {
    let echo = Echo::from_untyped(untyped("echo", json!({"text": "hi"}))).unwrap();
    assert_eq!(echo, Echo { text: "hi".into() });
    let add = Add::from_untyped(untyped("math/add", json!({"a": 1, "b": 2}))).unwrap();
    assert_eq!(add, Add { a: 1, b: 2 });
    let pair = Pair::from_untyped(untyped("pair", json!([7, "x"]))).unwrap();
    assert_eq!(pair, Pair(7, "x".into()));
    let store = Store::<String>::from_untyped(untyped("store", json!({"value": "v"}))).unwrap();
    assert_eq!(
        store,
        Store {
            value: "v".to_string()
        }
    );
}

#[test]
fn absent_params_read_as_an_empty_object() {
    let list = List::from_untyped(no_params("list")).unwrap();
    assert_eq!(
        list,
        List {
            cursor: None,
            limit: 0
        }
    );
    let list = List::from_untyped(untyped("list", json!({"limit": 5}))).unwrap();
    assert_eq!(
        list,
        List {
            cursor: None,
            limit: 5
        }
    );
}

#[test]
fn a_unit_struct_reads_absent_params() {
    assert_eq!(Ping::from_untyped(no_params("ping")).unwrap(), Ping);
    assert_eq!(
        Initialized::from_untyped(no_params("initialized")).unwrap(),
        Initialized
    );
    // `UntypedMessage::new` leaves out params that serialize to null.
    assert_eq!(
        Ping::from_untyped(untyped("ping", json!(null))).unwrap(),
        Ping
    );
}

#[test]
fn absent_params_are_missing_fields_for_a_struct_that_needs_them() {
    let error = Echo::from_untyped(no_params("echo")).unwrap_err();
    assert_eq!(error.code(), -32602);
    assert!(
        error.message().contains("missing field `text`"),
        "{}",
        error.message()
    );
}

#[test]
fn a_wrong_typed_field_is_invalid_params_naming_the_field() {
    let error = Add::from_untyped(untyped("math/add", json!({"a": 1, "b": "two"}))).unwrap_err();
    assert_eq!(error.code(), -32602);
    assert!(
        error.message().contains("b: invalid type"),
        "{}",
        error.message()
    );
    assert_eq!(error.data().unwrap()["field"], "b");

    let error = Log::from_untyped(untyped("log", json!({"line": 5}))).unwrap_err();
    assert_eq!(error.code(), -32602);
    assert!(error.message().contains("line"), "{}", error.message());
}

#[test]
fn a_missing_field_is_invalid_params() {
    let error = Add::from_untyped(untyped("math/add", json!({"a": 1}))).unwrap_err();
    assert_eq!(error.code(), -32602);
    assert!(
        error.message().contains("missing field `b`"),
        "{}",
        error.message()
    );
}

#[test]
fn into_untyped_keeps_method_and_params() {
    let message = Echo { text: "hi".into() }.into_untyped().unwrap();
    assert_eq!(message.method(), "echo");
    assert_eq!(message.params().unwrap().get(), r#"{"text":"hi"}"#);

    let message = Ping.into_untyped().unwrap();
    assert_eq!(message.method(), "ping");
    assert!(message.params().is_none());

    let echo = Echo::from_untyped(
        Echo {
            text: "back".into(),
        }
        .into_untyped()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(echo.text, "back");
}

#[test]
fn an_enum_matches_the_methods_of_its_variants() {
    assert!(AnyRequest::matches_method("echo"));
    assert!(AnyRequest::matches_method("math/add"));
    assert!(AnyRequest::matches_method("ping"));
    assert!(!AnyRequest::matches_method("log"));
    assert!(!AnyRequest::matches_method("Echo"));
    assert!(EchoOnly::matches_method("echo"));
    assert!(!EchoOnly::matches_method("ping"));
    // The untyped variant matches anything.
    assert!(AnyNotification::matches_method("whatever"));
}

#[test]
fn an_enum_delegates_method_and_params_to_its_variant() {
    let add = AnyRequest::Add(Add { a: 1, b: 2 });
    assert_eq!(add.method(), "math/add");
    assert_eq!(params(&add), r#"{"a":1,"b":2}"#);
    let ping = AnyRequest::Ping(Ping);
    assert_eq!(ping.method(), "ping");
    assert_eq!(params(&ping), "null");
}

#[test]
fn an_enum_reads_the_variant_whose_method_matches() {
    let echo = AnyRequest::from_untyped(untyped("echo", json!({"text": "hi"}))).unwrap();
    assert_eq!(echo, AnyRequest::Echo(Echo { text: "hi".into() }));
    let add = AnyRequest::from_untyped(untyped("math/add", json!({"a": 1, "b": 2}))).unwrap();
    assert_eq!(add, AnyRequest::Add(Add { a: 1, b: 2 }));
    let ping = AnyRequest::from_untyped(no_params("ping")).unwrap();
    assert_eq!(ping, AnyRequest::Ping(Ping));
}

#[test]
fn an_enum_tries_its_variants_in_order() {
    let log = AnyNotification::from_untyped(untyped("log", json!({"line": "x"}))).unwrap();
    assert_eq!(log, AnyNotification::Log(Log { line: "x".into() }));
    let initialized = AnyNotification::from_untyped(no_params("initialized")).unwrap();
    assert_eq!(initialized, AnyNotification::Initialized(Initialized));
    let other = AnyNotification::from_untyped(untyped("progress", json!({"done": 3}))).unwrap();
    assert_eq!(
        other,
        AnyNotification::Other(untyped("progress", json!({"done": 3})))
    );
}

#[test]
fn an_enum_reports_bad_params_of_the_matching_variant() {
    let error =
        AnyRequest::from_untyped(untyped("math/add", json!({"a": "one", "b": 2}))).unwrap_err();
    assert_eq!(error.code(), -32602);
    assert_eq!(error.data().unwrap()["field"], "a");
}

#[test]
fn an_enum_without_a_matching_variant_is_method_not_found() {
    let error: Error = AnyRequest::from_untyped(untyped("log", json!({"line": "x"}))).unwrap_err();
    assert_eq!(error.code(), -32601);
    assert!(error.message().contains("log"), "{}", error.message());
    let error = EchoOnly::from_untyped(no_params("ping")).unwrap_err();
    assert_eq!(error.code(), -32601);
}

#[test]
fn an_enum_turns_into_its_variants_untyped_form() {
    let message = AnyRequest::Echo(Echo { text: "hi".into() })
        .into_untyped()
        .unwrap();
    assert_eq!(message, untyped("echo", json!({"text": "hi"})));
    let message = AnyRequest::Ping(Ping).into_untyped().unwrap();
    assert_eq!(message, no_params("ping"));
    let raw = untyped("progress", json!({"done": 3}));
    let message = AnyNotification::Other(raw.clone()).into_untyped().unwrap();
    assert_eq!(message, raw);
}

#[test]
fn a_response_round_trips_through_its_provided_methods() {
    let mut out = Vec::new();
    Outcome::Failed {
        reason: "no".into(),
    }
    .write_result(&mut out)
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"status":"failed","reason":"no"}"#
    );
    let raw = switchboard::RawJson::from_string(r#"{"status":"done"}"#.into()).unwrap();
    assert_eq!(Outcome::from_result(raw).unwrap(), Outcome::Done);
}
