//! What may name a path in the HF cache. Repository ids and revisions come from the user,
//! commit hashes and etags from the server: each becomes a directory or file name under the
//! cache (`models--<repo>/refs/<revision>`, `snapshots/<commit>/`, `blobs/<etag>`), so each
//! is checked before it is joined to a path, with huggingface_hub's rules where it has them.

use crate::{Error, Result};

/// huggingface_hub `REGEX_COMMIT_HASH`: exactly 40 lowercase hex digits.
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// huggingface_hub `validate_repo_id`: `name` or `namespace/name` of `[A-Za-z0-9_.-]`, at
/// most 96 characters, no `--` or `..`, not starting or ending with `-` or `.`.
pub fn check_repo_id(repo: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Http { url: repo.into(), message: format!("not a valid repository id: {why}") });
    if repo.is_empty() || repo.len() > 96 {
        return bad("it must have 1 to 96 characters");
    }
    if repo.matches('/').count() > 1 {
        return bad("it must be `name` or `namespace/name`");
    }
    if repo.contains("--") || repo.contains("..") {
        return bad("`--` and `..` are not allowed");
    }
    for part in repo.split('/') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
            return bad("only letters, digits, `_`, `-` and `.` are allowed");
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return bad("a part cannot start or end with `-` or `.`");
        }
    }
    Ok(())
}

/// A revision names a file under `refs/` (branches and tags may hold `/`, as `refs/pr/1`
/// does): relative, no empty, `.` or `..` component, no backslash or control character.
pub fn check_revision(revision: &str) -> Result<()> {
    let ok = !revision.is_empty()
        && revision.len() <= 256
        && !revision.starts_with('/')
        && !revision.chars().any(|c| c == '\\' || c.is_control())
        && revision.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if ok {
        Ok(())
    } else {
        Err(Error::Http { url: revision.into(), message: "not a valid revision (a branch, tag or commit)".into() })
    }
}

/// A file of a repository stays inside its snapshot (huggingface_hub refuses the same):
/// relative, no empty, `.` or `..` component, no backslash or control character.
pub fn check_file_name(file: &str) -> std::result::Result<(), BadFileName> {
    let ok = !file.is_empty()
        && !file.starts_with('/')
        && !file.chars().any(|c| c == '\\' || c.is_control())
        && file.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if ok { Ok(()) } else { Err(BadFileName(file.to_string())) }
}

/// A repository file name that would leave its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a file name inside the repository")]
pub struct BadFileName(pub String);

/// An etag names a blob: 1 to 128 of `[A-Za-z0-9_-]` (git's sha1 or LFS's sha256 on the hub).
pub fn is_blob_name(etag: &str) -> bool {
    !etag.is_empty() && etag.len() <= 128 && etag.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_the_cache_are_refused() {
        assert!(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
        for c in ["../../../../tmp/x", "0123456789ABCDEF0123456789abcdef01234567", "0123", "", "main"] {
            assert!(!is_commit_hash(c), "{c}");
        }
        for r in ["bert-base-uncased", "org/model", "sentence-transformers/all-MiniLM-L6-v2", "a.b_c/d-e"] {
            assert!(check_repo_id(r).is_ok(), "{r}");
        }
        for r in ["", "../x", "a/b/c", "a--b", "a/..", "/abs", "a/", ".hidden", "x y", "a\\b"] {
            assert!(check_repo_id(r).is_err(), "{r}");
        }
        for r in ["main", "v1.0", "refs/pr/1", "0123456789abcdef0123456789abcdef01234567"] {
            assert!(check_revision(r).is_ok(), "{r}");
        }
        for r in ["", "..", "a/../b", "/etc", "a//b", "a\\b", "./a", "a\nb"] {
            assert!(check_revision(r).is_err(), "{r:?}");
        }
        for f in ["config.json", "onnx/model.onnx"] {
            assert!(check_file_name(f).is_ok(), "{f}");
        }
        for f in ["", "../x", "/etc/passwd", "a/../../b", "a\\..\\b", "./x", "a//b"] {
            assert!(check_file_name(f).is_err(), "{f}");
        }
        assert!(is_blob_name("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        for e in ["", "a/b", "..", "a.b", "x\0"] {
            assert!(!is_blob_name(e), "{e:?}");
        }
    }
}
