//! Derive macros for Switchboard message types.
//!
//! Use them through the `switchboard` crate, which re-exports them next to the traits they
//! implement: `use switchboard::{JsonRpcRequest, JsonRpcNotification, JsonRpcResponse};`.
//!
//! - [`JsonRpcRequest`](macro@JsonRpcRequest): a request type (`#[request(method = "..",
//!   response = Type)]`), or an enum of request types.
//! - [`JsonRpcNotification`](macro@JsonRpcNotification): a notification type
//!   (`#[notification(method = "..")]`), or an enum of notification types.
//! - [`JsonRpcResponse`](macro@JsonRpcResponse): marks a type as the result of a request.
//!
//! The params of a struct are written and read with serde, so the struct also derives (or
//! implements) `Serialize` and `Deserialize`. Generated code names the core crate as
//! `::switchboard`; a crate that reaches it through a re-export says where with
//! `crate = path::to::switchboard` in the attribute.

mod attr;
mod expand;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

use attr::Kind;

/// Derives `JsonRpcMessage` and `JsonRpcRequest`.
///
/// # On a struct
///
/// The struct is one request: `#[request(method = "...", response = Type)]` names its method
/// and the type of a successful answer (a [`JsonRpcResponse`](macro@JsonRpcResponse)). The
/// struct is the params, written and read with serde: named fields travel as an object, a
/// tuple struct as an array (or as its single value for a newtype), a unit struct as no params
/// at all. Params that are absent are read as `{}`, so a struct whose fields all have
/// `#[serde(default)]` (or a unit struct) accepts a request without params.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use switchboard::{JsonRpcRequest, JsonRpcResponse};
///
/// #[derive(Serialize, Deserialize, JsonRpcRequest)]
/// #[request(method = "add", response = Sum)]
/// struct Add {
///     a: i64,
///     b: i64,
/// }
///
/// #[derive(Serialize, Deserialize, JsonRpcResponse)]
/// struct Sum(i64);
/// ```
///
/// Generic structs work. The impls carry the struct's own bounds and add none, so bound the
/// parameters on the struct (`T: JsonRpcResponse` covers serde, `Send` and `'static`) and tell
/// serde's `Deserialize` derive to use that bound instead of its own `T: Deserialize<'de>`,
/// which would be ambiguous next to it:
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use switchboard::{JsonRpcRequest, JsonRpcResponse};
/// #[derive(Serialize, Deserialize, JsonRpcRequest)]
/// #[request(method = "store", response = T)]
/// #[serde(bound(deserialize = "T: JsonRpcResponse"))]
/// struct Store<T: JsonRpcResponse> {
///     value: T,
/// }
/// ```
///
/// # On an enum
///
/// An enum whose every variant holds one request type, `Variant(MyRequest)`, is a request that
/// matches the method of any variant. Reading one tries the variants in declaration order and
/// takes the first whose type matches the method; a method no variant matches is -32601
/// (method not found). The attribute is optional: `#[request(response = Type)]` sets the
/// response type, which is `serde_json::Value` otherwise. `method` is not allowed here.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use switchboard::JsonRpcRequest;
/// # #[derive(Serialize, Deserialize, JsonRpcRequest)]
/// # #[request(method = "add", response = i64)]
/// # struct Add { a: i64, b: i64 }
/// # #[derive(Serialize, Deserialize, JsonRpcRequest)]
/// # #[request(method = "multiply", response = i64)]
/// # struct Multiply { a: i64, b: i64 }
/// #[derive(JsonRpcRequest)]
/// enum CalculatorRequest {
///     Add(Add),
///     Multiply(Multiply),
/// }
/// ```
///
/// # Keys
///
/// - `method = "name"`: the JSON-RPC method (structs only, required).
/// - `response = Type`: the answer's type (required on structs, optional on enums).
/// - `crate = path::to::switchboard`: where generated code finds the core crate, for crates
///   that use it through a re-export. Defaults to `::switchboard`.
#[proc_macro_derive(JsonRpcRequest, attributes(request))]
pub fn derive_json_rpc_request(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::message(Kind::Request, &input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `JsonRpcMessage` and `JsonRpcNotification`.
///
/// # On a struct
///
/// The struct is one notification: `#[notification(method = "...")]` names its method. The
/// params are the struct, written and read with serde exactly as for
/// [`JsonRpcRequest`](macro@JsonRpcRequest). Notifications are never answered, so there is no
/// `response` key.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use switchboard::JsonRpcNotification;
///
/// #[derive(Serialize, Deserialize, JsonRpcNotification)]
/// #[notification(method = "log")]
/// struct Log {
///     line: String,
/// }
///
/// #[derive(Serialize, Deserialize, JsonRpcNotification)]
/// #[notification(method = "initialized")]
/// struct Initialized;
/// ```
///
/// # On an enum
///
/// An enum whose every variant holds one notification type matches the method of any
/// variant, like an enum of requests. The attribute is optional; its only key is `crate`.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use switchboard::JsonRpcNotification;
/// # #[derive(Serialize, Deserialize, JsonRpcNotification)]
/// # #[notification(method = "log")]
/// # struct Log { line: String }
/// # #[derive(Serialize, Deserialize, JsonRpcNotification)]
/// # #[notification(method = "initialized")]
/// # struct Initialized;
/// #[derive(JsonRpcNotification)]
/// enum ClientNotification {
///     Log(Log),
///     Initialized(Initialized),
/// }
/// ```
///
/// # Keys
///
/// - `method = "name"`: the JSON-RPC method (structs only, required).
/// - `crate = path::to::switchboard`: where generated code finds the core crate. Defaults to
///   `::switchboard`.
#[proc_macro_derive(JsonRpcNotification, attributes(notification))]
pub fn derive_json_rpc_notification(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::message(Kind::Notification, &input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `JsonRpcResponse`: the type can be the answer to a request.
///
/// Every type that is `Serialize`, `Deserialize` (owned), `Send` and `'static` already is a
/// response, so the derive writes no impl: it checks that the type qualifies, and a missing
/// serde derive is reported here rather than where the type is first used. No attribute is needed;
/// `#[response(crate = path::to::switchboard)]` says where the core crate is when it is used
/// through a re-export.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use switchboard::JsonRpcResponse;
///
/// #[derive(Serialize, Deserialize, JsonRpcResponse)]
/// struct Sum {
///     value: i64,
/// }
///
/// #[derive(Serialize, Deserialize, JsonRpcResponse)]
/// #[serde(tag = "status")]
/// enum Outcome {
///     Done,
///     Failed { reason: String },
/// }
/// ```
#[proc_macro_derive(JsonRpcResponse, attributes(response))]
pub fn derive_json_rpc_response(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::response(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
