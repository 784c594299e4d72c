//! `--dataset org/name`: a hub dataset's splits as local Parquet files, as
//! `load_dataset("org/name", config)` finds them (bertrs-assets' `HubDataset`; HF_ENDPOINT,
//! HF_HOME, HF_TOKEN and HF_HUB_OFFLINE apply).

use std::path::PathBuf;

use anyhow::{Context, Result};
use bertrs_assets::{Hub, HubDataset};

/// The built-in dataset's name (the PyPI-pinned Rotten Tomatoes copy).
pub const BUILT_IN: &str = "rotten-tomatoes";

/// A hub dataset, its file list read once.
pub struct Dataset {
    id: String,
    data: HubDataset,
}

impl Dataset {
    pub fn open(id: &str, config: Option<&str>) -> Result<Self> {
        let data = HubDataset::open(&Hub::from_env(), id, config).with_context(|| format!("dataset `{id}`"))?;
        Ok(Self { id: id.to_string(), data })
    }

    /// `split`'s files, downloaded or from the cache; `None` when the dataset has no such split.
    pub fn split(&self, split: &str) -> Result<Option<Vec<PathBuf>>> {
        let mut last = String::new();
        let id = &self.id;
        self.data
            .download_split(split, &mut |file, done, total| {
                if file != last {
                    eprintln!("downloading dataset {id}/{file} ({:.1} MB)", total.unwrap_or(done) as f64 / 1e6);
                    last = file.to_string();
                }
            })
            .with_context(|| format!("dataset `{id}`, split `{split}`"))
    }

    /// `split`'s files; a missing split is an error naming the dataset.
    pub fn required(&self, split: &str) -> Result<Vec<PathBuf>> {
        self.split(split)?.with_context(|| {
            let config = if self.data.config().is_empty() { String::new() } else { format!(" (configuration `{}`)", self.data.config()) };
            format!("dataset `{}`{config} has no `{split}` split on {}", self.id, self.data.revision())
        })
    }
}

/// The input files of `eval`/`predict`: the file given, or a hub dataset split's files.
pub fn inputs(file: Option<&PathBuf>, dataset: Option<&str>, config: Option<&str>, split: &str) -> Result<Vec<PathBuf>> {
    match (file, dataset) {
        (Some(f), _) => Ok(vec![f.clone()]),
        (None, Some(id)) => Dataset::open(id, config)?.required(split),
        (None, None) => anyhow::bail!("no input: give a file or --dataset"),
    }
}
