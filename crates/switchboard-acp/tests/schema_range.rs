//! `switchboard-acp` works with every ACP schema release it supports (1.17.0 and every later
//! 1.x), whatever features it is built with, and never holds a user on an old release.
//!
//! - Every schema feature this crate passes on exists in the release this build resolved and
//!   in the newest release on crates.io: a pass-through that a new release dropped (by
//!   stabilising it) would hold users on old releases, and this fails first.
//! - A crate with every feature of ours resolves the newest schema and compiles; one with every
//!   feature but those only newer releases have (`unstable_newest`), beside the official SDK
//!   5.2.0 (which pins schema 1.17.0, the oldest supported), resolves 1.17.0 and compiles.
//!
//! They run cargo, as a user's build would, but `cargo check`: a schema release that breaks us
//! breaks type checking, and generating code too would only fill the disk. The checks reuse a
//! target directory of their own under this workspace's.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const SCHEMA: &str = "agent-client-protocol-schema";

fn cargo() -> Command {
    Command::new(env!("CARGO"))
}

/// This workspace's metadata (its resolved lock), as cargo gives it.
fn metadata() -> Value {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON")
}

fn package<'a>(metadata: &'a Value, name: &str) -> &'a Value {
    metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|package| package["name"] == name))
        .unwrap_or_else(|| panic!("no package {name} in the metadata"))
}

/// Our features, and the schema features they pass on.
fn our_features(metadata: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let features = package(metadata, "switchboard-acp")["features"]
        .as_object()
        .expect("our features");
    let prefix = format!("{SCHEMA}/");
    let passed = features
        .values()
        .flat_map(|enables| enables.as_array().into_iter().flatten())
        .filter_map(|enable| enable.as_str()?.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    (features.keys().cloned().collect(), passed)
}

/// The features of the newest schema release, from crates.io (`cargo info`); `None` when
/// the registry cannot be reached.
fn newest_schema_features() -> Option<(String, BTreeSet<String>)> {
    // Outside this workspace: inside it, cargo tells the version its lock holds.
    let output = cargo()
        .args(["info", SCHEMA])
        .current_dir(std::env::temp_dir())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "cargo info failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("version: "))?
        .split_whitespace()
        .next()?
        .to_owned();
    // `features:` then one indented line each: `  name = [...]` or ` +name = [...]`.
    let features = text
        .lines()
        .skip_while(|line| !line.starts_with("features:"))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| {
            line.trim()
                .trim_start_matches('+')
                .split_whitespace()
                .next()
        })
        .map(str::to_owned)
        .collect();
    Some((version, features))
}

#[test]
fn every_pass_through_exists_in_the_resolved_and_the_newest_schema() {
    let metadata = metadata();
    let (_, passed) = our_features(&metadata);
    assert!(
        !passed.is_empty(),
        "no pass-through found: the check would check nothing"
    );
    let schema = package(&metadata, SCHEMA);
    let resolved: BTreeSet<String> = schema["features"]
        .as_object()
        .expect("the schema's features")
        .keys()
        .cloned()
        .collect();
    let missing: Vec<_> = passed.difference(&resolved).collect();
    assert!(
        missing.is_empty(),
        "schema {} has no {missing:?}: make them no-ops in switchboard-acp's Cargo.toml",
        schema["version"]
    );
    match newest_schema_features() {
        Some((version, newest)) => {
            let missing: Vec<_> = passed.difference(&newest).collect();
            assert!(
                missing.is_empty(),
                "schema {version}, the newest, has no {missing:?} (stabilised?): a pass-through \
                 of them holds users on older releases; make them no-ops"
            );
        }
        None => eprintln!("crates.io unreachable: checked the resolved schema only"),
    }
}

/// Our features that the oldest supported schema has too: all but `unstable_newest` and the
/// features only it adds.
fn oldest_schema_features(metadata: &Value) -> BTreeSet<String> {
    let ours = package(metadata, "switchboard-acp")["features"]
        .as_object()
        .expect("our features");
    let newest_only: BTreeSet<&str> = ours["unstable_newest"]
        .as_array()
        .expect("the unstable_newest feature")
        .iter()
        .filter_map(Value::as_str)
        .filter(|feature| *feature != "unstable")
        .chain(["unstable_newest"])
        .collect();
    ours.keys()
        .filter(|feature| !newest_only.contains(feature.as_str()))
        .cloned()
        .collect()
}

/// Checks a scratch crate depending on this one with `features`, plus `extra` dependencies;
/// returns the schema version it resolved.
fn scratch_check(name: &str, features: &BTreeSet<String>, extra: &str) -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = here.join("../../target/schema-range");
    let dir = target.join(name);
    std::fs::create_dir_all(dir.join("src")).expect("the scratch crate's directory");
    let features: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\
         [workspace]\n[dependencies]\nswitchboard-acp = {{ path = {path:?}, features = [{features}] }}\n{extra}\n",
        path = here.display().to_string(),
        features = features.join(", "),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("writing the manifest");
    std::fs::write(
        dir.join("src/lib.rs"),
        "pub use switchboard_acp::schema::SessionOptionsRequest;\n",
    )
    .expect("writing the library");
    // A fresh resolution each time: the newest release, as a new user would get.
    let _ = std::fs::remove_file(dir.join("Cargo.lock"));
    let output = cargo()
        .arg("check")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target.join("build"))
        .output()
        .expect("running cargo check");
    assert!(
        output.status.success(),
        "{name} does not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).expect("the scratch lock");
    schema_version_in(&lock)
}

/// The version of the schema a `Cargo.lock` holds.
fn schema_version_in(lock: &str) -> String {
    let marker = format!("name = \"{SCHEMA}\"\nversion = \"");
    let start = lock.find(&marker).expect("the schema in the lock") + marker.len();
    lock[start..]
        .split('"')
        .next()
        .expect("a version")
        .to_owned()
}

#[test]
fn every_feature_compiles_on_the_newest_schema_and_beside_the_sdk_pinning_1_17() {
    let metadata = metadata();
    let (every, _) = our_features(&metadata);
    let newest = scratch_check("schema-newest", &every, "");
    if let Some((version, _)) = newest_schema_features() {
        assert_eq!(
            newest, version,
            "with every feature, the newest schema is chosen"
        );
    }
    let beside_sdk = scratch_check(
        "schema-with-sdk",
        &oldest_schema_features(&metadata),
        "agent-client-protocol = \"=5.2.0\"",
    );
    assert_eq!(beside_sdk, "1.17.0");
}
