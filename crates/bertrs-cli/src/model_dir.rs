//! Resolving `--model` to a local HF directory and loading what it holds.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bertrs_model::device::BackendChoice;
use bertrs_model::{BertConfig, BertForSequenceClassification};
use bertrs_tokenizer::BertTokenizer;
use burn::tensor::Device;

/// A directory as given, or a known asset fetched (and verified) into the cache.
pub fn resolve(model: &str) -> Result<PathBuf> {
    let path = Path::new(model);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let manifest = bertrs_assets::Manifest::builtin()?;
    if manifest.get(model).is_ok() {
        return bertrs_assets::Store::from_env()
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
    let hub = bertrs_assets::Hub::from_env();
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
    choice(backend)?.device().map_err(anyhow::Error::msg)
}

/// `--backend` as given, else the first compiled in.
fn choice(backend: Option<&str>) -> Result<BackendChoice> {
    let backend = match backend {
        Some(name) => name.parse().map_err(anyhow::Error::msg)?,
        None => BackendChoice::default_compiled().context("this build has no backend compiled in")?,
    };
    tracing::info!("backend: {backend}");
    Ok(backend)
}

/// The config and tokenizer of an HF directory, validated once, against each other: every
/// id the tokenizer can produce must have a row in the embedding (`vocab_size`), so no input
/// can index past it later.
pub fn open(dir: &Path) -> Result<(BertConfig, BertTokenizer)> {
    let config = BertConfig::from_file(dir.join("config.json"))?;
    let tokenizer = BertTokenizer::from_dir(dir)?;
    if tokenizer.vocab_size() > config.vocab_size {
        bail!(
            "{}: the tokenizer has {} tokens but config.json's `vocab_size` is {}",
            dir.display(),
            tokenizer.vocab_size(),
            config.vocab_size
        );
    }
    Ok((config, tokenizer))
}

/// A saved classifier about to be used (`eval`, `predict`): the device, the directory, its
/// config and tokenizer checked against each other, and the max length for its inputs. The
/// weights load last ([`Opened::weights`]), after the cheap checks of the data.
pub struct Opened {
    pub backend: BackendChoice,
    pub device: Device,
    pub dir: PathBuf,
    pub config: BertConfig,
    pub tokenizer: BertTokenizer,
    pub max_length: usize,
}

impl Opened {
    /// `--model`, `--backend` and `--max-length` as given.
    pub fn new(model: &str, backend: Option<&str>, max_length_flag: Option<usize>) -> Result<Self> {
        let backend = choice(backend)?;
        let device = backend.device().map_err(anyhow::Error::msg)?;
        let dir = resolve(model)?;
        let (config, tokenizer) = open(&dir)?;
        let max_length = max_length(max_length_flag, &config, None)?;
        Ok(Self { backend, device, dir, config, tokenizer, max_length })
    }

    pub fn weights(&self) -> Result<BertForSequenceClassification> {
        weights(&self.dir, &self.config, &self.device)
    }
}

/// The classifier of a directory [`open`] checked.
pub fn weights(dir: &Path, config: &BertConfig, device: &Device) -> Result<BertForSequenceClassification> {
    Ok(BertForSequenceClassification::from_pretrained_with_config(dir, config, device)?)
}

/// `--max-length`, checked against the model: a batch (padded up to a multiple of
/// `pad_to_multiple_of`, if set) must fit `max_position_embeddings`. Default: 128, or the
/// longest that fits a smaller model.
pub fn max_length(flag: Option<usize>, config: &BertConfig, pad_to_multiple_of: Option<usize>) -> Result<usize> {
    let max_pos = config.max_position_embeddings;
    let multiple = pad_to_multiple_of.unwrap_or(1).max(1);
    let padded = |n: usize| n.div_ceil(multiple).saturating_mul(multiple);
    let fits = |n: usize| padded(n) <= max_pos;
    let n = match flag {
        Some(n) => n,
        None => (3..=128.min(max_pos)).rev().find(|&n| fits(n)).unwrap_or(128.min(max_pos)),
    };
    if n < 3 || !fits(n) {
        let with = if multiple > 1 { format!(" (padded to a multiple of {multiple}: {})", padded(n)) } else { String::new() };
        bail!("--max-length {n}{with} must be between 3 and the model's max_position_embeddings ({max_pos})");
    }
    Ok(n)
}

/// Text pairs need a second token type (`type_vocab_size >= 2`); a model with one would
/// index past its token-type embedding.
pub fn check_pairs(file: &Path, data: &bertrs_data::Encoded, config: &BertConfig) -> Result<()> {
    if config.type_vocab_size < 2 && data.has_pairs() {
        bail!(
            "{}: the rows are text pairs, but the model's config.json has type_vocab_size {} (pairs need 2)",
            file.display(),
            config.type_vocab_size
        );
    }
    Ok(())
}
