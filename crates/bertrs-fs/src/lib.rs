//! Files written whole or not at all, and directories one run at a time: the one place the
//! workspace writes files it wants to survive a crash.
//!
//! - [`write_atomic`], [`copy_atomic`] and [`AtomicFile`]: a file is written under a fresh
//!   random name in its own directory (created exclusively, so a symlink planted there is
//!   never followed), synced, and renamed over the target; a replaced file keeps its
//!   permissions. A crash leaves the old file or the new one, never half of either.
//! - [`persist_dir`]: the same for a directory built under a [`temp_dir_in`] name, and
//!   [`remove_dir_atomic`]: a directory gone whole, never seen half-deleted.
//! - [`DirLock`]: an exclusive advisory lock on a directory, released when the process ends
//!   however it ends, so two runs cannot write one output directory.
//! - [`same_file`]: whether two paths name one file (an output that is its own input).
//! - [`fault::point`]: where fault tests kill the process (`BERT_KILL_AT`).

mod atomic;
mod dir;
mod error;
pub mod fault;
mod lock;

pub use atomic::{AtomicFile, copy_atomic, write_atomic};
pub use dir::{persist_dir, remove_dir_atomic, remove_stale_temps, sync_dir, temp_dir_in};
pub use error::{Error, Result};
pub use lock::{DirLock, LOCK_FILE, open_lock_file};

use std::path::Path;

/// Whether `a` and `b` exist and are the same file (same device and inode on Unix), however
/// they are spelled: through `..`, a symlink or a hard link.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}
