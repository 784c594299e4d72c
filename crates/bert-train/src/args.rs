//! `TrainingArguments`: the HF field names and defaults that the loop uses.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerType {
    Linear,
    Cosine,
    Constant,
    ConstantWithWarmup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalStrategy {
    No,
    Steps,
    Epoch,
}

/// When checkpoints are written (HF `save_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveStrategy {
    No,
    Steps,
    Epoch,
}

/// HF `TrainingArguments` (the subset the loop implements), HF defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingArgs {
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_epsilon: f64,
    pub max_grad_norm: f64,
    pub num_train_epochs: f64,
    /// Overrides `num_train_epochs` when > 0.
    pub max_steps: usize,
    pub lr_scheduler_type: SchedulerType,
    pub warmup_steps: usize,
    pub warmup_ratio: f64,
    pub per_device_train_batch_size: usize,
    pub per_device_eval_batch_size: usize,
    pub seed: u64,
    pub eval_strategy: EvalStrategy,
    pub eval_steps: usize,
    pub logging_steps: usize,
    /// Micro-batches whose gradients are averaged into one optimizer step.
    pub gradient_accumulation_steps: usize,
    /// Batches of similar lengths (HF `LengthGroupedSampler`), less padding.
    pub group_by_length: bool,
    /// Drop the last incomplete batch of each epoch.
    pub dataloader_drop_last: bool,
    /// Where checkpoints go (`checkpoint-<step>/`); none: no checkpoints are written.
    pub output_dir: Option<PathBuf>,
    pub save_strategy: SaveStrategy,
    pub save_steps: usize,
    /// Keep at most this many checkpoints (the best one is always kept), oldest deleted first.
    pub save_total_limit: Option<usize>,
    /// At the end, return the model of the best evaluation's checkpoint.
    pub load_best_model_at_end: bool,
    /// `loss`/`eval_loss` or a metric name (`accuracy`, `f1_macro`, …); default `loss`.
    pub metric_for_best_model: Option<String>,
    /// Default: false for losses, true for everything else (HF's rule).
    pub greater_is_better: Option<bool>,
    /// HF `EarlyStoppingCallback`: stop after this many evaluations without improvement.
    pub early_stopping_patience: Option<usize>,
    /// An improvement must beat the best by more than this.
    pub early_stopping_threshold: f64,
}

impl Default for TrainingArgs {
    fn default() -> Self {
        Self {
            learning_rate: 5e-5,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            max_grad_norm: 1.0,
            num_train_epochs: 3.0,
            max_steps: 0,
            lr_scheduler_type: SchedulerType::Linear,
            warmup_steps: 0,
            warmup_ratio: 0.0,
            per_device_train_batch_size: 8,
            per_device_eval_batch_size: 8,
            seed: 42,
            eval_strategy: EvalStrategy::No,
            eval_steps: 500,
            logging_steps: 500,
            gradient_accumulation_steps: 1,
            group_by_length: false,
            dataloader_drop_last: false,
            output_dir: None,
            save_strategy: SaveStrategy::Steps,
            save_steps: 500,
            save_total_limit: None,
            load_best_model_at_end: false,
            metric_for_best_model: None,
            greater_is_better: None,
            early_stopping_patience: None,
            early_stopping_threshold: 0.0,
        }
    }
}

impl TrainingArgs {
    pub fn validate(&self) -> Result<(), String> {
        if self.per_device_train_batch_size == 0 || self.per_device_eval_batch_size == 0 {
            return Err("batch sizes must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate >= 0.0) {
            return Err(format!("learning_rate {} is not a finite non-negative number", self.learning_rate));
        }
        // Any NaN or infinity here ends as a model of NaN (HF accepts them and trains one).
        let finite = [
            ("weight_decay", self.weight_decay),
            ("max_grad_norm", self.max_grad_norm),
            ("adam_epsilon", self.adam_epsilon),
            ("early_stopping_threshold", self.early_stopping_threshold),
        ];
        for (name, v) in finite {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} {v} is not a finite non-negative number"));
            }
        }
        for (name, v) in [("adam_beta1", self.adam_beta1), ("adam_beta2", self.adam_beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(format!("{name} {v} is not in [0, 1)"));
            }
        }
        if !self.num_train_epochs.is_finite() {
            return Err(format!("num_train_epochs {} is not finite", self.num_train_epochs));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(format!("warmup_ratio {} is not in [0, 1]", self.warmup_ratio));
        }
        if self.max_steps == 0 && !(self.num_train_epochs > 0.0) {
            return Err("num_train_epochs must be > 0 (or set max_steps)".into());
        }
        if self.eval_strategy == EvalStrategy::Steps && self.eval_steps == 0 {
            return Err("eval_steps must be > 0 with eval_strategy steps".into());
        }
        if self.gradient_accumulation_steps == 0 {
            return Err("gradient_accumulation_steps must be at least 1".into());
        }
        if self.save_strategy == SaveStrategy::Steps && self.save_steps == 0 {
            return Err("save_steps must be > 0 with save_strategy steps".into());
        }
        if self.save_total_limit == Some(0) {
            return Err("save_total_limit must be at least 1".into());
        }
        // HF's rules (TrainingArguments.__post_init__): the best model is a checkpoint, so
        // checkpoints must be written at the evaluations.
        if self.load_best_model_at_end || self.early_stopping_patience.is_some() {
            let what = if self.load_best_model_at_end { "load_best_model_at_end" } else { "early stopping" };
            if self.eval_strategy == EvalStrategy::No {
                return Err(format!("{what} needs an eval_strategy other than no"));
            }
            if self.load_best_model_at_end {
                let same = match (self.eval_strategy, self.save_strategy) {
                    (EvalStrategy::Epoch, SaveStrategy::Epoch) => true,
                    (EvalStrategy::Steps, SaveStrategy::Steps) => self.save_steps % self.eval_steps == 0,
                    _ => false,
                };
                if !same {
                    return Err("load_best_model_at_end needs save_strategy equal to eval_strategy (and save_steps a multiple of eval_steps)".into());
                }
                if self.output_dir.is_none() {
                    return Err("load_best_model_at_end needs an output_dir for its checkpoints".into());
                }
            }
        }
        if let Some(name) = &self.metric_for_best_model
            && !crate::best::is_metric_name(name)
        {
            return Err(format!("metric_for_best_model `{name}` is not one of: {}", crate::best::METRIC_NAMES.join(", ")));
        }
        Ok(())
    }

    /// Batches in one epoch of `n` examples (the last one partial unless dropped).
    pub fn batches_per_epoch(&self, n: usize) -> usize {
        if self.dataloader_drop_last {
            n / self.per_device_train_batch_size
        } else {
            n.div_ceil(self.per_device_train_batch_size)
        }
    }

    /// Optimizer steps in one epoch of `n` examples: HF's
    /// `ceil(batches / gradient_accumulation_steps)`.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        self.batches_per_epoch(n).div_ceil(self.gradient_accumulation_steps).max(1)
    }

    /// Optimizer steps for `n` training examples (HF: steps per epoch × epochs, or `max_steps`).
    pub fn total_steps(&self, n: usize) -> usize {
        if self.max_steps > 0 {
            return self.max_steps;
        }
        (self.steps_per_epoch(n) as f64 * self.num_train_epochs).ceil() as usize
    }

    /// HF `get_warmup_steps`: `warmup_steps` if set, else `ceil(ratio * total)`.
    pub fn warmup(&self, total: usize) -> usize {
        if self.warmup_steps > 0 {
            self.warmup_steps
        } else {
            (self.warmup_ratio * total as f64).ceil() as usize
        }
    }
}
