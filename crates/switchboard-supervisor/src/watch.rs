//! The worker's executable, watched for a change: the cue to roll forward.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What identifies an executable's contents without reading them: its size, its modification
/// time and (on unix) its inode, which a replaced file changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Fingerprint {
    pub(crate) fn of(path: &Path) -> Option<Fingerprint> {
        let metadata = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Fingerprint {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        })
    }
}

/// Watches one executable.
pub(crate) struct Watch {
    path: PathBuf,
    every: Duration,
    last: Option<Fingerprint>,
}

impl Watch {
    /// Watches the executable `program` names (a path, or a name looked up in `PATH`).
    pub(crate) fn new(program: &Path, every: Duration) -> Watch {
        let path = resolve(program);
        let last = Fingerprint::of(&path);
        Watch { path, every, last }
    }

    /// Resolves once the executable has changed and then stayed the same for one more look
    /// (a file being copied in is not taken half-written).
    pub(crate) async fn changed(&mut self) {
        loop {
            tokio::time::sleep(self.every).await;
            let now = Fingerprint::of(&self.path);
            if now.is_none() || now == self.last {
                continue;
            }
            tokio::time::sleep(self.every).await;
            if Fingerprint::of(&self.path) == now {
                self.last = now;
                return;
            }
        }
    }
}

/// The file `program` runs: itself if it names a path, else the first match in `PATH`.
fn resolve(program: &Path) -> PathBuf {
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| program.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_on_the_path_and_a_path_is_kept() {
        assert_eq!(resolve(Path::new("./worker")), PathBuf::from("./worker"));
        let sh = resolve(Path::new("sh"));
        assert!(sh.is_absolute() || sh == Path::new("sh"));
    }
}
