//! Building the example binaries a test runs as processes; shared by the `acp` test target
//! and the conductor's process tests (each includes this file with `#[path]`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the examples `names` of `switchboard-examples`, with the cargo and into the target
/// directory and profile of the running test binary, and returns their paths, in order.
/// `workspace` is the repository's root.
pub(crate) fn build_examples(workspace: &Path, names: &[&str]) -> Vec<PathBuf> {
    // A test binary is `<target>/<profile>/deps/NAME-<hash>`; examples go to
    // `<target>/<profile>/examples/`.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", "switchboard-examples"]);
    for name in names {
        build.args(["--example", name]);
    }
    build.arg("--target-dir").arg(target_dir);
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => panic!("no profile directory in {}", exe.display()),
    }
    let status = build.status().expect("running cargo build");
    assert!(
        status.success(),
        "cargo build of the examples {names:?} failed"
    );
    names
        .iter()
        .map(|name| {
            let binary = profile_dir
                .join("examples")
                .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            assert!(binary.exists(), "no binary at {}", binary.display());
            binary
        })
        .collect()
}
