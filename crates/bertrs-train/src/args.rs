//! `TrainingArguments`: the HF field names and defaults that the loop uses.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `FromStr`, `Display` and the list of names of a settings enum, by its HF (serde) names: the
/// command line and the TOML config parse the same words as `TrainingArguments` takes.
macro_rules! hf_names {
    ($t:ident { $($v:ident = $name:literal),+ $(,)? }) => {
        impl $t {
            /// Every accepted name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $name),+
                }
            }
        }

        impl std::str::FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name => Ok($t::$v),)+
                    _ => Err(UnknownName { what: stringify!($t), name: s.to_string(), expected: Self::NAMES }),
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A name that none of a settings enum's variants has.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{name}` is not a {what}; expected one of: {}", expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub expected: &'static [&'static str],
}

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

hf_names!(SchedulerType { Linear = "linear", Cosine = "cosine", Constant = "constant", ConstantWithWarmup = "constant_with_warmup" });
hf_names!(EvalStrategy { No = "no", Steps = "steps", Epoch = "epoch" });
hf_names!(SaveStrategy { No = "no", Steps = "steps", Epoch = "epoch" });

/// When checkpoints are written (HF `save_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveStrategy {
    No,
    Steps,
    Epoch,
}

/// A [`TrainingArgs`] field whose value HF would refuse (or that would train a model of NaN).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidArgs {
    /// The HF field name.
    pub field: &'static str,
    pub reason: String,
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
    /// HF's `TrainingArguments.__post_init__` checks, and ours against NaN or infinite values.
    pub fn validate(&self) -> Result<(), InvalidArgs> {
        let bad = |field: &'static str, reason: String| Err(InvalidArgs { field, reason });
        for (field, v) in [("per_device_train_batch_size", self.per_device_train_batch_size), ("per_device_eval_batch_size", self.per_device_eval_batch_size)] {
            if v == 0 {
                return bad(field, format!("{field} must be at least 1"));
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate >= 0.0) {
            return bad("learning_rate", format!("learning_rate {} is not a finite non-negative number", self.learning_rate));
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
                return bad(name, format!("{name} {v} is not a finite non-negative number"));
            }
        }
        for (name, v) in [("adam_beta1", self.adam_beta1), ("adam_beta2", self.adam_beta2)] {
            if !(0.0..1.0).contains(&v) {
                return bad(name, format!("{name} {v} is not in [0, 1)"));
            }
        }
        if !self.num_train_epochs.is_finite() {
            return bad("num_train_epochs", format!("num_train_epochs {} is not finite", self.num_train_epochs));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad("warmup_ratio", format!("warmup_ratio {} is not in [0, 1]", self.warmup_ratio));
        }
        if self.max_steps == 0 && !(self.num_train_epochs > 0.0) {
            return bad("num_train_epochs", "num_train_epochs must be > 0 (or set max_steps)".into());
        }
        if self.eval_strategy == EvalStrategy::Steps && self.eval_steps == 0 {
            return bad("eval_steps", "eval_steps must be > 0 with eval_strategy steps".into());
        }
        if self.gradient_accumulation_steps == 0 {
            return bad("gradient_accumulation_steps", "gradient_accumulation_steps must be at least 1".into());
        }
        if self.save_strategy == SaveStrategy::Steps && self.save_steps == 0 {
            return bad("save_steps", "save_steps must be > 0 with save_strategy steps".into());
        }
        if self.save_total_limit == Some(0) {
            return bad("save_total_limit", "save_total_limit must be at least 1".into());
        }
        // HF's rules (TrainingArguments.__post_init__): the best model is a checkpoint, so
        // checkpoints must be written at the evaluations.
        if self.load_best_model_at_end || self.early_stopping_patience.is_some() {
            let what = if self.load_best_model_at_end { "load_best_model_at_end" } else { "early stopping" };
            if self.eval_strategy == EvalStrategy::No {
                return bad("eval_strategy", format!("{what} needs an eval_strategy other than no"));
            }
            if self.load_best_model_at_end {
                let same = match (self.eval_strategy, self.save_strategy) {
                    (EvalStrategy::Epoch, SaveStrategy::Epoch) => true,
                    (EvalStrategy::Steps, SaveStrategy::Steps) => self.save_steps % self.eval_steps == 0,
                    _ => false,
                };
                if !same {
                    return bad(
                        "save_strategy",
                        "load_best_model_at_end needs save_strategy equal to eval_strategy (and save_steps a multiple of eval_steps)".into(),
                    );
                }
                if self.output_dir.is_none() {
                    return bad("output_dir", "load_best_model_at_end needs an output_dir for its checkpoints".into());
                }
            }
        }
        if let Some(name) = &self.metric_for_best_model
            && !crate::best::is_metric_name(name)
        {
            return bad("metric_for_best_model", format!("metric_for_best_model `{name}` is not one of: {}", crate::METRIC_NAMES.join(", ")));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsed names are the serde (TOML, `training_args` JSON) names, both ways.
    #[test]
    fn names_parse_as_serde_writes_them() {
        fn check<T: std::str::FromStr<Err = UnknownName> + Serialize + std::fmt::Display>(names: &[&str]) {
            for &n in names {
                let v: T = n.parse().unwrap();
                assert_eq!(serde_json::to_value(&v).unwrap(), n);
                assert_eq!(v.to_string(), n);
            }
            let e = "sometimes".parse::<T>().err().unwrap();
            assert!(e.to_string().contains(&names.join(", ")), "{e}");
        }
        check::<SchedulerType>(SchedulerType::NAMES);
        check::<EvalStrategy>(EvalStrategy::NAMES);
        check::<SaveStrategy>(SaveStrategy::NAMES);
        assert_eq!(SchedulerType::NAMES.len(), 4);
    }

    #[test]
    fn invalid_arguments_name_the_field() {
        let a = TrainingArgs { save_total_limit: Some(0), ..TrainingArgs::default() };
        assert_eq!(a.validate().unwrap_err().field, "save_total_limit");
        let a = TrainingArgs { per_device_eval_batch_size: 0, ..TrainingArgs::default() };
        assert_eq!(a.validate().unwrap_err().field, "per_device_eval_batch_size");
        assert!(TrainingArgs::default().validate().is_ok());
    }
}
