//! The interoperability suite against the official ACP Rust SDK, which lives in `interop/`,
//! a workspace of its own (the SDK pins the oldest schema release we support; this workspace
//! builds against the newest). `cargo test --workspace` runs it through this test, with the
//! same cargo and profile, into `target/interop`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_official_sdk_interoperates_with_our_crates_both_ways() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut test = Command::new(env!("CARGO"));
    test.current_dir(&root)
        .args(["test", "--manifest-path", "interop/Cargo.toml"])
        .env("CARGO_TARGET_DIR", root.join("target/interop"));
    if !cfg!(debug_assertions) {
        test.arg("--release");
    }
    let output = test.output().expect("running cargo test in interop/");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with --nocapture, and on failure: what each interop test did.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the interop suite failed:\n{stdout}\n{stderr}"
    );
    let passed: usize = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 39, "only {passed} interop tests ran:\n{stdout}");
}
