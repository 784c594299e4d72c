//! Whole-file writes: a temporary file beside the target, then a rename.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result, write_err};

/// Writes `bytes` to `path` atomically (see the crate docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(write_err(path))?;
    f.commit()
}

/// Copies `from` to `to` atomically, following `from` if it is a symlink (an HF cache
/// snapshot points at its blobs).
pub fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    let read_err = |source| Error::Read { path: from.to_path_buf(), source };
    let mut src = std::fs::File::open(from).map_err(read_err)?;
    let mut f = AtomicFile::create(to)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match std::io::Read::read(&mut src, &mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => r.map_err(read_err)?,
        };
        if n == 0 {
            break;
        }
        f.write_all(&buf[..n]).map_err(write_err(to))?;
    }
    f.commit()
}

/// A file being written: it appears at its path, complete, on [`AtomicFile::commit`]; dropped
/// uncommitted (an error, a panic), it is removed and the path keeps what it held.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".tmp");
        // The permissions a plain create would give (0666 less the umask), or those of the
        // file being replaced, set explicitly below since the umask applies at creation.
        let keep = std::fs::symlink_metadata(path).ok().filter(|m| m.is_file()).map(|m| m.permissions());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = b.tempfile_in(dir).map_err(write_err(path))?;
        if let Some(p) = keep {
            tmp.as_file().set_permissions(p).map_err(write_err(path))?;
        }
        Ok(Self { path: path.to_path_buf(), tmp: BufWriter::with_capacity(1 << 16, tmp) })
    }

    /// The path the file will have.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file into place, then syncs the directory so the
    /// rename itself survives a power cut.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self.tmp.into_inner().map_err(|e| Error::Write { path: path.clone(), source: e.into_error() })?;
        tmp.as_file().sync_all().map_err(write_err(&path))?;
        crate::fault::point("synced");
        // The rename replaces a symlink at `path` itself, never the file it points to.
        tmp.persist(&path).map_err(|e| Error::Write { path: path.clone(), source: e.error })?;
        crate::fault::point("renamed");
        if let Some(dir) = path.parent() {
            crate::dir::sync_dir(dir);
        }
        Ok(())
    }
}

/// Write errors name the target path (a full disk says which file it was writing).
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.tmp.write(buf).map_err(|e| named(&self.path, e))?;
        crate::fault::point("written");
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush().map_err(|e| named(&self.path, e))
    }
}

fn named(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_keeps_permissions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.json");
        write_atomic(&p, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
            write_atomic(&p, b"new").unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
        write_atomic(&p, b"newer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"newer");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")], "no temporary file left");
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        write_atomic(&p, b"whole").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let p = d.path().join("out");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_atomic(&p, b"mine").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&p).unwrap(), b"mine");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("no/such/dir/out");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("no/such/dir/out"), "{e}");
    }
}
