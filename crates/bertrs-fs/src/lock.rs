//! One run per directory: an exclusive `flock` on a lock file inside it. The kernel drops
//! the lock when the process ends, by `kill -9` too, so a crashed run never leaves the
//! directory locked.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result, write_err};

/// The lock file's name in a locked directory (it stays there; removing a lock file while
/// another process may open it would let two runs in).
pub const LOCK_FILE: &str = ".bert.lock";

/// Directories this process holds, so that a library call (the trainer's checkpoints) inside
/// a command that already locked the directory does not lock itself out.
static HELD: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// An exclusive lock on a directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    /// `None`: this process already held the directory when this guard was taken.
    file: Option<File>,
    key: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed (so a directory that cannot be written fails here, before any
    /// work) and locks it; another process holding it is an error at once, not a wait.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let key = dir.canonicalize().map_err(write_err(dir))?;
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        let set = held.get_or_insert_with(HashSet::new);
        if set.contains(&key) {
            return Ok(Self { file: None, key });
        }
        let path = dir.join(LOCK_FILE);
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { dir: dir.to_path_buf(), lock: path }),
            Err(std::fs::TryLockError::Error(source)) => return Err(Error::Write { path, source }),
        }
        set.insert(key.clone());
        Ok(Self { file: Some(file), key })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(set) = held.as_mut() {
                set.remove(&self.key);
            }
        }
    }
}

/// Opens a lock file for `File::lock`/`try_lock`: created if missing, never truncated,
/// never through a symlink (a link planted at its name is an error, not a way to make this
/// process create or lock another file).
pub fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(path).map_err(write_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_reentrant_in_process() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        let a = DirLock::acquire(&dir).unwrap();
        // The same process again (the trainer inside the CLI): allowed.
        let inner = DirLock::acquire(&dir).unwrap();
        drop(inner);
        // Another open file description, as another process would have: refused.
        let other = open_lock_file(&dir.join(LOCK_FILE)).unwrap();
        assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        let e = DirLock::acquire(&d.path().join("out/../out")).map(|_| ());
        assert!(e.is_ok(), "the same directory spelled otherwise is the same holder");
        drop(a);
        assert!(other.try_lock().is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dir = d.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(LOCK_FILE)).unwrap();
        assert!(DirLock::acquire(&dir).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
