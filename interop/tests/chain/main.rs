//! The official SDK (`agent-client-protocol` 5.2.0) in our chains: our prefix proxies in front
//! of an agent built on the SDK (`sdk.rs`), and a proxy built on the SDK, alone and between
//! two of ours (`sdk_proxy.rs`). The helpers are the main workspace's (`tests/chain/`).

#[allow(dead_code)]
#[path = "../../../tests/chain/components.rs"]
mod components;

#[allow(dead_code)]
#[path = "../../../tests/chain/support.rs"]
mod support;

mod sdk;
mod sdk_proxy;
