//! The glue between BERT and the generic trainer: a tokenized dataset's batches as model
//! input, and the classifier step.

use std::path::Path;

use anyhow::Context;

use bertrs_model::{BatchTargets, BertForSequenceClassification, BertInput, Execution};
use bertrs_tokenizer::BertTokenizer;
use bertrs_train::{BatchError, Classifier, Dataset, StepOutput, Target};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// `BertForSequenceClassification` as the trainer sees it.
#[derive(Module, Debug)]
pub struct BertTask {
    pub model: BertForSequenceClassification,
    /// The tokenizer written into every checkpoint and export.
    #[module(skip)]
    pub tokenizer: Option<TokenizerFiles>,
    /// Padding-free (the default) or HF's padded layout (`--padded`).
    #[module(skip)]
    pub execution: Execution,
}

/// The tokenizer files an HF directory may hold (`save_pretrained` of a fast BERT tokenizer).
pub const TOKENIZER_FILES: [&str; 4] = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"];

/// The run's tokenizer as written into every checkpoint and the final model, read once when
/// the run starts: the model directory's tokenizer files, and a `tokenizer.json` serialised
/// from the loaded tokenizer when the directory has none (as `BertTokenizerFast` writes one).
/// So the saved directory always tokenizes as the run did, whatever was there before.
#[derive(Debug, Clone)]
pub struct TokenizerFiles(Vec<(&'static str, Vec<u8>)>);

impl TokenizerFiles {
    pub fn read(dir: &Path, tokenizer: &BertTokenizer) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for name in TOKENIZER_FILES {
            let src = dir.join(name);
            if src.is_file() {
                files.push((name, std::fs::read(&src).with_context(|| format!("cannot read {}", src.display()))?));
            }
        }
        if !files.iter().any(|(n, _)| *n == "tokenizer.json") {
            let json = tokenizer.inner().to_string(false).map_err(|e| anyhow::anyhow!("cannot serialise the tokenizer of {}: {e}", dir.display()))?;
            files.push(("tokenizer.json", json.into_bytes()));
        }
        Ok(Self(files))
    }

    /// Writes the files into `to`, each atomically, and removes the tokenizer files of an
    /// earlier model there that this tokenizer does not have (a stale `vocab.txt` or
    /// `tokenizer_config.json` would change how transformers loads it).
    pub fn write(&self, to: &Path) -> anyhow::Result<()> {
        for (name, bytes) in &self.0 {
            bertrs_fs::write_atomic(&to.join(name), bytes)?;
        }
        for name in TOKENIZER_FILES {
            let stale = to.join(name);
            if !self.0.iter().any(|(n, _)| *n == name) && std::fs::symlink_metadata(&stale).is_ok() {
                std::fs::remove_file(&stale).with_context(|| format!("cannot remove the stale {}", stale.display()))?;
            }
        }
        Ok(())
    }
}

impl Classifier for BertTask {
    type Batch = (BertInput, BatchTargets);

    fn step(&self, (input, labels): Self::Batch) -> StepOutput {
        let logits = self.model.forward(input.with_execution(self.execution));
        let loss = bertrs_model::loss::classification_loss(self.model.config.problem_type(), logits.clone(), labels)
            // The batcher builds labels of the config's problem type and batch size.
            .unwrap_or_else(|e| unreachable!("batch and model disagree: {e}"));
        StepOutput { loss, logits }
    }

    /// BERT's dropout is `bertrs_kernels::dropout`: its masks follow each shard's stream.
    fn parallel_shards(&self) -> bool {
        true
    }

    /// Each checkpoint is also a complete HF directory (as HF's `checkpoint-N/` are), so
    /// `predict`, `eval` and transformers load it directly.
    fn export(&self, dir: &Path) -> Result<(), bertrs_train::ExportError> {
        self.model.save_pretrained(dir)?;
        if let Some(files) = &self.tokenizer {
            // The whole context chain, as `{:#}` prints it.
            files.write(dir).map_err(|e| format!("{e:#}"))?;
        }
        Ok(())
    }
}

/// A tokenized split (`bertrs_data::Encoded`) as the trainer sees it: batches become the
/// model's input and the loss's labels.
#[derive(Debug, Clone)]
pub struct TextSet(pub bertrs_data::Encoded);

impl Dataset for TextSet {
    type Batch = (BertInput, BatchTargets);

    fn len(&self) -> usize {
        self.0.len()
    }

    fn label(&self, i: usize) -> usize {
        self.0.class(i).unwrap_or(0)
    }

    fn target(&self, i: usize) -> Target {
        self.0.target(i).unwrap_or(Target::Class(0))
    }

    fn length(&self, i: usize) -> usize {
        self.0.length(i)
    }

    fn fingerprint(&self) -> Option<u64> {
        Some(self.0.fingerprint())
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Result<Self::Batch, BatchError> {
        let b = self.0.batch(indices, device)?;
        // Unlabelled rows are never given to the trainer (train and eval read labels).
        let targets = b.targets.unwrap_or_else(|| BatchTargets::Class(Tensor::<1, Int>::zeros([indices.len()], device)));
        Ok((b.input, targets))
    }
}
