//! A dataset on the hub as `datasets.load_dataset` finds its data: the Parquet files of one
//! configuration and split, preferably from the `refs/convert/parquet` revision (the
//! Parquet copy the hub makes of every dataset: `{config}/{split}/0000.parquet`, …), else
//! the Parquet files the repository itself holds on `main` (`data/train-00000-of-00001.parquet`,
//! `train/….parquet`, …), downloaded through [`Hub::download`] into the HF cache
//! (`datasets--org--name`), with the same resume, size and sha256 checks and
//! `HF_HUB_OFFLINE` rules as model files.

use std::path::PathBuf;

use crate::{Error, Hub, Result, is_not_found};

/// The hub's Parquet conversion branch.
pub const PARQUET_REVISION: &str = "refs/convert/parquet";

/// The Parquet files of one configuration of a hub dataset.
#[derive(Debug, Clone)]
pub struct HubDataset {
    hub: Hub,
    repo: String,
    revision: String,
    config: String,
    /// Paths in the repository, inside the configuration.
    files: Vec<String>,
}

impl HubDataset {
    /// Lists the dataset's files and picks the configuration: `config`, else `default`, else
    /// the only one there is.
    pub fn open(hub: &Hub, repo: &str, config: Option<&str>) -> Result<Self> {
        let hub = hub.for_datasets();
        let (revision, listing) = match hub.list_files(repo, PARQUET_REVISION) {
            Ok(files) => (PARQUET_REVISION, files),
            // No conversion (or, offline, none cached): the repository's own files.
            Err(e) if is_not_found(&e) || hub.offline() => match hub.list_files(repo, "main") {
                Ok(files) => ("main", files),
                Err(_) if hub.offline() => return Err(e),
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let parquet: Vec<&String> = listing.iter().filter(|f| f.ends_with(".parquet")).collect();
        let no_data = |message: String| Error::Http { url: format!("{}/datasets/{repo}", hub.endpoint()), message };
        if parquet.is_empty() {
            return Err(no_data(format!("no Parquet files on {revision} (this reads Parquet datasets and the hub's Parquet conversion)")));
        }
        let (config, files) = if revision == PARQUET_REVISION {
            // `{config}/{split}/NNNN.parquet`: the first component names the configuration.
            let mut configs: Vec<&str> = parquet.iter().filter_map(|f| f.split_once('/').map(|(c, _)| c)).collect();
            configs.dedup();
            let chosen = match config {
                Some(c) if configs.contains(&c) => c.to_string(),
                Some(c) => return Err(no_data(format!("no configuration `{c}` (configurations: {})", configs.join(", ")))),
                None if configs.contains(&"default") => "default".into(),
                None if configs.len() == 1 => configs[0].to_string(),
                None => return Err(no_data(format!("several configurations ({}): choose one with --dataset-config", configs.join(", ")))),
            };
            let prefix = format!("{chosen}/");
            let files = parquet.iter().filter_map(|f| f.strip_prefix(&prefix)).map(String::from).collect();
            (chosen, files)
        } else {
            // The repository's own files: a configuration is a top directory when asked for.
            match config {
                Some(c) => {
                    let prefix = format!("{c}/");
                    let files: Vec<String> = parquet.iter().filter_map(|f| f.strip_prefix(&prefix)).map(String::from).collect();
                    if files.is_empty() {
                        return Err(no_data(format!("no Parquet files under `{c}/`")));
                    }
                    (c.to_string(), files)
                }
                None => (String::new(), parquet.iter().map(|f| f.to_string()).collect()),
            }
        };
        Ok(Self { hub, repo: repo.to_string(), revision: revision.to_string(), config, files })
    }

    /// The revision the files come from (`refs/convert/parquet` or `main`).
    pub fn revision(&self) -> &str {
        &self.revision
    }

    pub fn config(&self) -> &str {
        &self.config
    }

    /// The repository paths of `split`'s files, sorted (shard order). A file belongs to a
    /// split when a directory is named after it (`train/0000.parquet`), or when its name is
    /// the split's name followed by `-`, `_` or `.` (`data/train-00000-of-00002.parquet`),
    /// as `datasets`' default data-file patterns have it.
    pub fn split_files(&self, split: &str) -> Vec<String> {
        let belongs = |f: &str| {
            let mut parts: Vec<&str> = f.split('/').collect();
            let name = parts.pop().unwrap_or_default();
            parts.contains(&split)
                || parts.iter().any(|d| d.strip_prefix("partial-") == Some(split))
                || [format!("{split}-"), format!("{split}_"), format!("{split}.")].iter().any(|p| name.starts_with(p.as_str()))
                || name.contains(&format!("-{split}-")) || name.ends_with(&format!("-{split}.parquet"))
        };
        // `files` are inside the configuration's directory (none for a repository's own
        // files read without a configuration).
        let prefix = if self.config.is_empty() { String::new() } else { format!("{}/", self.config) };
        let mut files: Vec<String> = self.files.iter().filter(|f| belongs(f)).map(|f| format!("{prefix}{f}")).collect();
        files.sort();
        files
    }

    /// Downloads (or finds in the cache) `split`'s files; `None` when the dataset has no
    /// such split. `progress` sees (file, bytes so far, total if known).
    pub fn download_split(&self, split: &str, progress: &mut dyn FnMut(&str, u64, Option<u64>)) -> Result<Option<Vec<PathBuf>>> {
        let files = self.split_files(split);
        if files.is_empty() {
            return Ok(None);
        }
        files.iter().map(|f| self.hub.download(&self.repo, &self.revision, f, &mut |d, t| progress(f, d, t))).collect::<Result<_>>().map(Some)
    }
}
