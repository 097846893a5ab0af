//! A temporary file for tests, shared by the `acp` and `chain` test targets (each includes
//! this file with `#[path]`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file in the temporary directory with a name no other test uses; removed on drop.
pub(crate) struct TempFile(PathBuf);

impl TempFile {
    /// A fresh path (nothing is created).
    pub(crate) fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("switchboard-test-{}-{n}-{label}.txt", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }

    /// A fresh file holding `content`.
    pub(crate) fn with(label: &str, content: &str) -> Self {
        let file = TempFile::new(label);
        std::fs::write(&file.0, content).expect("writing the temporary file");
        file
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The path as prompt text.
    pub(crate) fn display(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
