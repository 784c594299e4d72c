//! Resolving `--model` to a local HF directory and loading what it holds.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bert_model::device::Backend;
use bert_model::{BertConfig, BertForSequenceClassification};
use bert_tokenizer::BertTokenizer;
use burn::tensor::Device;

/// A directory as given, or a known asset fetched (and verified) into the cache.
pub fn resolve(model: &str) -> Result<PathBuf> {
    let path = Path::new(model);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let manifest = bert_assets::Manifest::builtin()?;
    if manifest.get(model).is_ok() {
        return bert_assets::Store::from_env()
            .fetch(model)
            .with_context(|| format!("fetching model `{model}`"));
    }
    // `org/name` or a legacy `name`: a hub id, fetched into the HF cache on first use as
    // `from_pretrained` does (HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE apply).
    let hub_id = !model.is_empty()
        && model.split('/').count() <= 2
        && !model.starts_with(['.', '/', '~'])
        && model.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if !hub_id {
        bail!("model `{model}`: no such directory, and not a known asset name or hub id");
    }
    let hub = bert_assets::Hub::from_env();
    let mut last = String::new();
    hub.download_model(model, "main", &mut |file, done, total| {
        if file != last {
            eprintln!("downloading {model}/{file} ({:.1} MB)", total.unwrap_or(done) as f64 / 1e6);
            last = file.to_string();
        }
    })
    .with_context(|| format!("model `{model}`: no such directory, not a known asset name; as a hub id"))
}

pub fn device(backend: Option<&str>) -> Result<Device> {
    let backend = match backend {
        Some(name) => name.parse().map_err(anyhow::Error::msg)?,
        None => Backend::default_compiled().context("this build has no backend compiled in")?,
    };
    tracing::info!("backend: {backend}");
    backend.device().map_err(anyhow::Error::msg)
}

/// The config, tokenizer and classifier of an HF directory, checked against each other.
pub fn load(dir: &Path, device: &Device) -> Result<(BertConfig, BertTokenizer, BertForSequenceClassification)> {
    let config = BertConfig::from_file(dir.join("config.json"))?;
    let tokenizer = BertTokenizer::from_dir(dir)?;
    if tokenizer.vocab_size() > config.vocab_size {
        bail!(
            "{}: the tokenizer has {} tokens but config.json's vocab_size is {}",
            dir.display(),
            tokenizer.vocab_size(),
            config.vocab_size
        );
    }
    let model = BertForSequenceClassification::from_pretrained_with_config(dir, &config, device)?;
    Ok((config, tokenizer, model))
}
