//! Tests that need a program this project does not build (node, a browser): whether it runs,
//! and the one way such a test is skipped. Shared by the LSP test and the conductor's trace
//! viewer test (each includes this file with `#[path]`).

use std::io::Write;
use std::process::Command;

/// Whether `program --version` runs.
pub(crate) fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Says that `test` is skipped and `why`, with how to install what it needs, straight to
/// stderr so it is seen even when the test passes (the harness captures `eprintln!`). Fails
/// instead when the environment variable `required_by` is set, as CI sets it.
pub(crate) fn skip(test: &str, why: &str, install: &str, required_by: &str) {
    assert!(
        std::env::var_os(required_by).is_none(),
        "{required_by} is set, but {why}"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED {test}: {why}; {install} to run it\n"
    );
}
