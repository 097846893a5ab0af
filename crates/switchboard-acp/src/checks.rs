//! Rules of ACP that the schema's types cannot say by their shape, checked as a message is
//! read, so that every agent built on this crate refuses what the protocol forbids with
//! -32602 before a handler sees it.
//!
//! - A session's working directory (`cwd` of `session/new`, `session/load`,
//!   `session/resume`, and `session/fork` where it exists) must be an absolute path.

use std::any::Any;
use std::path::Path;

use switchboard::Error;

use crate::schema;

/// Checks `message` (any type of the message table) against the rules above.
pub(crate) fn check<T: Any>(message: &T) -> Result<(), Error> {
    let message: &dyn Any = message;
    if let Some(new) = message.downcast_ref::<schema::NewSessionRequest>() {
        return absolute("cwd", &new.cwd);
    }
    if let Some(load) = message.downcast_ref::<schema::LoadSessionRequest>() {
        return absolute("cwd", &load.cwd);
    }
    if let Some(resume) = message.downcast_ref::<schema::ResumeSessionRequest>() {
        return absolute("cwd", &resume.cwd);
    }
    #[cfg(feature = "unstable_session_fork")]
    if let Some(fork) = message.downcast_ref::<schema::ForkSessionRequest>() {
        return absolute("cwd", &fork.cwd);
    }
    Ok(())
}

/// `path` is absolute, for this machine or for a Windows client (`C:\…`, `\\server\…`): an
/// agent may serve a client on another system.
fn absolute(field: &str, path: &Path) -> Result<(), Error> {
    let text = path.to_string_lossy();
    let bytes = text.as_bytes();
    let windows_drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/');
    if path.is_absolute() || windows_drive || text.starts_with(r"\\") {
        return Ok(());
    }
    Err(
        Error::invalid_params(format!("`{field}` must be an absolute path, not `{text}`"))
            .with_data(serde_json::json!({ "field": field, "path": text })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_cwd_is_refused_naming_the_field() {
        let error = check(&schema::NewSessionRequest::new("work/here")).unwrap_err();
        assert_eq!(error.code(), -32602);
        assert!(
            error.message().contains("`cwd` must be an absolute path"),
            "{error}"
        );
        for absolute in ["/home/me", r"C:\Users\me", "D:/work", r"\\server\share"] {
            check(&schema::NewSessionRequest::new(absolute)).unwrap();
        }
        assert!(check(&schema::NewSessionRequest::new("")).is_err());
        assert!(check(&schema::LoadSessionRequest::new("s", "rel")).is_err());
    }
}
