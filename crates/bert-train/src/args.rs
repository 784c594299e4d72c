//! `TrainingArguments`: the HF field names and defaults that the loop uses.

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
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(format!("warmup_ratio {} is not in [0, 1]", self.warmup_ratio));
        }
        if self.max_steps == 0 && !(self.num_train_epochs > 0.0) {
            return Err("num_train_epochs must be > 0 (or set max_steps)".into());
        }
        if self.eval_strategy == EvalStrategy::Steps && self.eval_steps == 0 {
            return Err("eval_steps must be > 0 with eval_strategy steps".into());
        }
        Ok(())
    }

    /// Optimizer steps for `n` training examples (HF: `ceil(n / batch) * epochs`, or `max_steps`).
    pub fn total_steps(&self, n: usize) -> usize {
        if self.max_steps > 0 {
            return self.max_steps;
        }
        let per_epoch = n.div_ceil(self.per_device_train_batch_size);
        (per_epoch as f64 * self.num_train_epochs).ceil() as usize
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
