//! The glue between BERT and the generic trainer: a tokenized dataset that batches with
//! dynamic padding, and the classifier step.

use std::path::{Path, PathBuf};

use bert_model::{BertForSequenceClassification, BertInput, Labels};
use bert_train::{Classifier, Dataset, StepOutput};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// `BertForSequenceClassification` as the trainer sees it.
#[derive(Module, Debug)]
pub struct BertTask {
    pub model: BertForSequenceClassification,
    /// Where the tokenizer files come from, copied into every checkpoint and export.
    #[module(skip)]
    pub tokenizer_dir: Option<PathBuf>,
}

/// The tokenizer files an HF directory may hold (`save_pretrained` of a fast BERT tokenizer).
pub const TOKENIZER_FILES: [&str; 4] = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"];

/// Copies the tokenizer files of `from` that exist into `to`, each atomically.
pub fn copy_tokenizer(from: &Path, to: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    for f in TOKENIZER_FILES {
        let src = from.join(f);
        if src.is_file() {
            let bytes = std::fs::read(&src).with_context(|| format!("cannot read {}", src.display()))?;
            bert_model::export::write_atomic(&to.join(f), &bytes)?;
        }
    }
    Ok(())
}

impl Classifier for BertTask {
    type Batch = (BertInput, Labels);

    fn step(&self, (input, labels): Self::Batch) -> StepOutput {
        let logits = self.model.forward(input);
        let loss = bert_model::loss::classification_loss(self.model.config.problem_type(), logits.clone(), labels)
            // The batcher builds labels of the config's problem type and batch size.
            .unwrap_or_else(|e| unreachable!("batch and model disagree: {e}"));
        StepOutput { loss, logits }
    }

    /// Each checkpoint is also a complete HF directory (as HF's `checkpoint-N/` are), so
    /// `predict`, `eval` and transformers load it directly.
    fn export(&self, dir: &Path) -> Result<(), String> {
        self.model.save_pretrained(dir).map_err(|e| e.to_string())?;
        match &self.tokenizer_dir {
            Some(from) => copy_tokenizer(from, dir).map_err(|e| format!("{e:#}")),
            None => Ok(()),
        }
    }
}

/// Examples tokenized once (no padding); batches are padded to their longest row.
#[derive(Debug, Default)]
pub struct TokenizedSet {
    pub input_ids: Vec<Vec<u32>>,
    pub token_type_ids: Vec<Vec<u32>>,
    pub labels: Vec<usize>,
    pub pad_id: u32,
}

impl Dataset for TokenizedSet {
    type Batch = (BertInput, Labels);

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    fn length(&self, i: usize) -> usize {
        self.input_ids[i].len()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Self::Batch {
        let s = indices.iter().map(|&i| self.input_ids[i].len()).max().unwrap_or(0);
        let b = indices.len();
        let (mut ids, mut mask, mut types) = (vec![self.pad_id as i64; b * s], vec![0i64; b * s], vec![0i64; b * s]);
        for (r, &i) in indices.iter().enumerate() {
            for (c, (&id, &t)) in self.input_ids[i].iter().zip(&self.token_type_ids[i]).enumerate() {
                ids[r * s + c] = id as i64;
                mask[r * s + c] = 1;
                types[r * s + c] = t as i64;
            }
        }
        let input = BertInput::from_ids(b, s, ids, mask, types, device)
            .unwrap_or_else(|e| unreachable!("sizes are computed here: {e}"));
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        let labels = Labels::Class(Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device));
        (input, labels)
    }
}
