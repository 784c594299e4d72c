//! Whole-directory writes (checkpoints): built under a temporary name, renamed into place.

use std::path::Path;

use tempfile::TempDir;

use crate::error::{Error, Result, write_err};

/// A new, empty directory in `parent` with a fresh name starting `.{prefix}.` and ending
/// `.tmp`; removed when dropped unless [`persist_dir`] moves it into place first.
pub fn temp_dir_in(parent: &Path, prefix: &str) -> Result<TempDir> {
    std::fs::create_dir_all(parent).map_err(write_err(parent))?;
    tempfile::Builder::new().prefix(&format!(".{prefix}.")).suffix(".tmp").tempdir_in(parent).map_err(write_err(parent))
}

/// Syncs every file of `tmp` and renames it to `to`, replacing a directory already there.
/// Until the rename `to` keeps what it held; after it, the new directory is complete.
pub fn persist_dir(tmp: TempDir, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(tmp.path()).map_err(write_err(tmp.path()))?;
    for entry in entries {
        let path = entry.map_err(write_err(tmp.path()))?.path();
        if path.is_file() {
            std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(write_err(&path))?;
        }
    }
    sync_dir(tmp.path());
    crate::fault::point("directory synced");
    // A directory cannot be renamed over a non-empty one: the old one is first renamed away
    // (atomically), then deleted. A crash in between leaves the new one under its temporary
    // name, never a partial directory under the final name.
    remove_dir_atomic(to)?;
    let kept = tmp.keep();
    std::fs::rename(&kept, to).map_err(|source| {
        let _ = std::fs::remove_dir_all(&kept);
        Error::Write { path: to.to_path_buf(), source }
    })?;
    crate::fault::point("directory renamed");
    if let Some(parent) = to.parent() {
        sync_dir(parent);
    }
    Ok(())
}

/// Removes a directory (or file) so that it is never seen half-deleted under its name: it is
/// renamed to a temporary name first (`remove_dir_all` alone, killed midway, would leave a
/// checkpoint without its optimizer state that still looks like one). A crash before the
/// deletion ends leaves the temporary name, which [`remove_stale_temps`] clears.
pub fn remove_dir_atomic(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Write { path: path.to_path_buf(), source: e }),
    };
    if !meta.is_dir() {
        return std::fs::remove_file(path).map_err(write_err(path));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // A fresh name, reserved by creating it, then replaced by the directory (rename onto an
    // empty directory is allowed).
    let doomed = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempdir_in(parent).map_err(write_err(path))?.keep();
    std::fs::rename(path, &doomed).map_err(|source| {
        let _ = std::fs::remove_dir(&doomed);
        Error::Write { path: path.to_path_buf(), source }
    })?;
    crate::fault::point("directory renamed away");
    remove_entries(&doomed)?;
    std::fs::remove_dir(&doomed).map_err(write_err(&doomed))
}

/// Deletes what `dir` holds, one entry at a time (a fault point after each: a kill in the
/// middle of a deletion is one of the cases the fault tests reach).
fn remove_entries(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(write_err(dir))? {
        let entry = entry.map_err(write_err(dir))?;
        let path = entry.path();
        let removed = if entry.file_type().map_err(write_err(&path))?.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(write_err(&path))?;
        crate::fault::point("removed");
    }
    Ok(())
}

/// Removes the leftovers of writers killed mid-write in `dir`: hidden entries ending `.tmp`
/// (files or directories, this crate's temporary names) or `.tmp<pid>` (older releases').
/// Call it only while holding the directory's [`crate::DirLock`].
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(0) };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temp = name.ends_with(".tmp")
            || name.rsplit_once(".tmp").is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if !(name.starts_with('.') && temp) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let r = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        r.map_err(write_err(&path))?;
        removed += 1;
    }
    Ok(removed)
}

/// Makes renames and creations in `dir` durable (best effort: not every platform or file
/// system can sync a directory).
pub fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_appears_whole_and_leftovers_are_cleared() {
        let d = tempfile::tempdir().unwrap();
        let to = d.path().join("checkpoint-2");
        std::fs::create_dir(&to).unwrap();
        std::fs::write(to.join("old"), b"1").unwrap();
        let t = temp_dir_in(d.path(), "checkpoint-2").unwrap();
        std::fs::write(t.path().join("model"), b"2").unwrap();
        persist_dir(t, &to).unwrap();
        assert!(!to.join("old").exists());
        assert_eq!(std::fs::read(to.join("model")).unwrap(), b"2");

        let left = temp_dir_in(d.path(), "checkpoint-3").unwrap().keep();
        std::fs::write(left.join("half"), b"").unwrap();
        remove_dir_atomic(&to).unwrap();
        assert!(!to.exists());
        std::fs::write(d.path().join(".model.safetensors.tmp123"), b"").unwrap();
        std::fs::write(d.path().join("notes.tmp"), b"").unwrap();
        assert_eq!(remove_stale_temps(d.path()).unwrap(), 2);
        assert!(d.path().join("notes.tmp").exists(), "only hidden temporary names");
        assert!(!left.exists());
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("notes.tmp")], "the removed checkpoint left nothing");
    }
}
