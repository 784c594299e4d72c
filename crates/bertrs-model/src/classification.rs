//! HF `BertForSequenceClassification`: pooler output → dropout → linear.

use std::path::Path;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};

use crate::bert::BertModel;
use crate::state_dict::StateDict;
use crate::config::BertConfig;
use crate::dropout::Dropout;
use bertrs_core::BertInput;
use bertrs_core::BatchTargets;
use crate::loss::classification_loss;
use crate::vars::Vars;
use crate::{Error, Result};

/// Logits, and the loss when labels were given.
#[derive(Debug, Clone)]
pub struct ClassifierOutput {
    /// `[batch, num_labels]`.
    pub logits: Tensor<2>,
    pub loss: Option<Tensor<1>>,
}

#[derive(Module, Debug)]
pub struct BertForSequenceClassification {
    pub bert: BertModel,
    pub dropout: Dropout,
    pub classifier: Linear,
    #[module(skip)]
    pub config: BertConfig,
}

/// `from_pretrained` keyword arguments that change what loading accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Replace a classification head trained for another number of labels with a fresh one
    /// (HF `ignore_mismatched_sizes=True`) instead of failing.
    pub ignore_mismatched_sizes: bool,
}

impl BertForSequenceClassification {
    /// Builds the model from a checkpoint's tensors. As `from_pretrained`: keys with or
    /// without `bert.`, a missing head is initialised fresh with a warning, any missing
    /// encoder key or wrong shape is an error naming it.
    pub fn load(config: &BertConfig, ckpt: &StateDict, device: &Device) -> Result<Self> {
        Self::load_with(config, ckpt, device, &LoadOptions::default())
    }

    /// [`Self::load`] with options (HF `from_pretrained` keyword arguments).
    pub fn load_with(config: &BertConfig, ckpt: &StateDict, device: &Device, options: &LoadOptions) -> Result<Self> {
        let model = Self::build(&Vars::new(Some(ckpt), device, config.initializer_range), config, options)?;
        let unused = ckpt.unused_keys();
        if !unused.is_empty() {
            tracing::info!(
                "{}: {} weights were not used (e.g. a pre-training head): {:?}",
                ckpt.path().display(),
                unused.len(),
                &unused[..unused.len().min(8)]
            );
        }
        Ok(model)
    }

    /// A fresh model (HF `BertForSequenceClassification(config)`), seeded through the device.
    pub fn init(config: &BertConfig, device: &Device) -> Self {
        let vars = Vars::new(None, device, config.initializer_range);
        Self::build(&vars, config, &LoadOptions::default()).unwrap_or_else(|e| unreachable!("fresh init failed: {e}"))
    }

    /// Reads `config.json` and `model.safetensors` from an HF model directory.
    pub fn from_pretrained(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(dir.join("config.json"))?;
        Self::from_pretrained_with_config(dir, &config, device)
    }

    /// As [`Self::from_pretrained`] with a config the caller has adjusted (e.g. new labels).
    pub fn from_pretrained_with_config(
        dir: impl AsRef<Path>,
        config: &BertConfig,
        device: &Device,
    ) -> Result<Self> {
        Self::from_pretrained_with_options(dir, config, device, &LoadOptions::default())
    }

    /// As [`Self::from_pretrained_with_config`], with options.
    pub fn from_pretrained_with_options(
        dir: impl AsRef<Path>,
        config: &BertConfig,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        // As `from_pretrained`: safetensors first, then a sharded index, then the pickle.
        let weights = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let pickle = dir.join("pytorch_model.bin");
        if index.is_file() && !weights.is_file() {
            let ckpt = StateDict::from_safetensors_index(&index)?;
            return Self::load_with(config, &ckpt, device, options);
        }
        if pickle.is_file() && !weights.is_file() {
            let ckpt = StateDict::from_pytorch(&pickle)?;
            return Self::load_with(config, &ckpt, device, options);
        }
        if !weights.is_file() {
            if !dir.is_dir() {
                return Err(Error::Read {
                    path: dir.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                });
            }
            return Err(Error::NoWeights {
                dir: dir.to_path_buf(),
            });
        }
        let ckpt = StateDict::from_safetensors(&weights)?;
        Self::load_with(config, &ckpt, device, options)
    }

    fn build(vars: &Vars, config: &BertConfig, options: &LoadOptions) -> Result<Self> {
        // A BertModel checkpoint has no prefix; a task checkpoint has `bert.`, which the
        // checkpoint strips, so both read from the root.
        let bert = BertModel::new(vars, config)?;
        let expected = vec![config.num_labels(), config.hidden_size];
        let head = match vars.checkpoint_shape("classifier.weight") {
            None if vars.from_checkpoint() => {
                tracing::warn!(
                    "Some weights of BertForSequenceClassification were not initialized from the \
                     model checkpoint and are newly initialized: ['classifier.bias', \
                     'classifier.weight']. You should probably TRAIN this model on a down-stream \
                     task to be able to use it for predictions and inference."
                );
                vars.fresh()
            }
            // HF `_load_pretrained_model` with `ignore_mismatched_sizes`: a head of another
            // label count is dropped and initialised afresh. Only the head: an encoder weight
            // of another shape means another architecture, which stays an error.
            Some((found, path)) if found != expected => {
                if !options.ignore_mismatched_sizes {
                    return Err(Error::HeadShape { path, key: "classifier.weight".into(), expected, found });
                }
                tracing::warn!(
                    "Some weights of BertForSequenceClassification were not initialized from the \
                     model checkpoint at {} and are newly initialized because the shapes did not \
                     match: classifier.weight: found shape {found:?} in the checkpoint and \
                     {expected:?} in the model instantiated. You should probably TRAIN this model \
                     on a down-stream task to be able to use it for predictions and inference.",
                    path.display()
                );
                vars.fresh()
            }
            _ => vars.clone(),
        };
        Ok(Self {
            bert,
            dropout: Dropout::new(config.classifier_dropout_prob()),
            classifier: head.linear("classifier", config.hidden_size, config.num_labels())?,
            config: config.clone(),
        })
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, input: BertInput) -> Tensor<2> {
        let pooled = self.bert.pooled(input);
        self.classifier.forward(self.dropout.forward(pooled))
    }

    /// Logits and the HF loss for `problem_type`.
    pub fn forward_with_labels(&self, input: BertInput, labels: BatchTargets) -> Result<ClassifierOutput> {
        let logits = self.forward(input);
        let loss = classification_loss(self.config.problem_type(), logits.clone(), labels)?;
        Ok(ClassifierOutput {
            logits,
            loss: Some(loss),
        })
    }
}
