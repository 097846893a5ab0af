//! Guarantee 9: the core names no protocol's method. Its code (doc comments aside, where a
//! protocol's method may be shown as an example) has no string that is one of the methods of
//! the protocols built on it.

use std::path::{Path, PathBuf};

/// Method names, or the start of them, of ACP, MCP and LSP, as they would appear quoted.
const PROTOCOL_METHODS: &[&str] = &[
    "\"$/",
    "\"initialize",
    "\"initialized",
    "\"session/",
    "\"notifications/",
    "\"tools/",
    "\"resources/",
    "\"prompts/",
    "\"textDocument/",
    "\"proxy/",
    "\"shutdown\"",
    "\"exit\"",
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_core_names_no_protocols_method_outside_its_docs() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/switchboard/src");
    let mut files = Vec::new();
    rust_files(&core, &mut files);
    assert!(files.len() > 20, "the core's sources were not found");
    let mut named = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for method in PROTOCOL_METHODS {
                if line.contains(method) {
                    named.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        named.is_empty(),
        "the core names protocol methods:\n{}",
        named.join("\n")
    );
}
