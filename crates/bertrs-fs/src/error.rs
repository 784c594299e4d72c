use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{dir} is in use by another run (it holds the lock {lock}); wait for it to finish or use another directory")]
    Locked { dir: PathBuf, lock: PathBuf },
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn write_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write { path: path.to_path_buf(), source }
}
