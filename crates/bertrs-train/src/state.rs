//! The loop's state, as HF keeps it in `trainer_state.json`: the log history (a flat row per
//! logging step or evaluation, `state.log_history`) and where to continue.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::EvalMetrics;
use crate::metrics::{ClassificationMetrics, MultiLabelMetrics, RegressionMetrics};

/// One row of the log history (HF `state.log_history`): a training log or an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LogRow")]
pub struct LogEntry {
    pub step: usize,
    pub epoch: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    /// An evaluation's metrics under HF's keys (`eval_accuracy`, `eval_f1_macro`, …; see
    /// [`EvalMetrics::values`]); empty for a training row. A NaN (the correlation of a
    /// constant prediction) is written as JSON `null`, as Python's `json` cannot.
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
}

impl LogEntry {
    /// A training row.
    pub fn training(step: usize, epoch: f64, loss: f64, learning_rate: f64, grad_norm: f64) -> Self {
        Self {
            step,
            epoch,
            loss: Some(loss),
            learning_rate: Some(learning_rate),
            grad_norm: Some(grad_norm),
            eval_loss: None,
            metrics: BTreeMap::new(),
        }
    }

    /// An evaluation row.
    pub fn evaluation(step: usize, epoch: f64, loss: f64, metrics: &EvalMetrics) -> Self {
        Self { step, epoch, loss: None, learning_rate: None, grad_norm: None, eval_loss: Some(loss), metrics: eval_keys(metrics) }
    }

    /// Whether the row is an evaluation.
    pub fn is_eval(&self) -> bool {
        self.eval_loss.is_some()
    }

    /// An evaluation metric by name, with or without HF's `eval_` prefix (`metric_for_best_model`
    /// takes both); `loss` is the evaluation loss. For multi-label rows `accuracy` is the subset
    /// accuracy, the accuracy `sklearn.metrics.accuracy_score` gives on indicator rows.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let name = name.strip_prefix("eval_").unwrap_or(name);
        if name == "loss" {
            return self.eval_loss;
        }
        let get = |n: &str| self.metrics.get(&format!("eval_{n}")).copied();
        get(name).or_else(|| if name == "accuracy" { get("subset_accuracy") } else { None })
    }

    /// The evaluation metrics (not the loss), names without the prefix, in key order.
    pub fn eval_metrics(&self) -> impl Iterator<Item = (&str, f64)> {
        self.metrics.iter().filter_map(|(k, v)| Some((k.strip_prefix("eval_")?, *v)))
    }
}

fn eval_keys(m: &EvalMetrics) -> BTreeMap<String, f64> {
    m.values().into_iter().map(|(k, v)| (format!("eval_{k}"), v)).collect()
}

/// A log row as read: today's flat keys, or the nested objects that checkpoints written before
/// metrics were named values hold (`"eval": {"accuracy": …}`, `"eval_multilabel"`,
/// `"eval_regression"`), turned into the same flat keys.
#[derive(Deserialize)]
struct LogRow {
    step: usize,
    epoch: f64,
    #[serde(default)]
    loss: Option<f64>,
    #[serde(default)]
    learning_rate: Option<f64>,
    #[serde(default)]
    grad_norm: Option<f64>,
    #[serde(default)]
    eval_loss: Option<f64>,
    #[serde(default, rename = "eval")]
    old_classification: Option<OldClassification>,
    #[serde(default, rename = "eval_multilabel")]
    old_multilabel: Option<MultiLabelMetrics>,
    #[serde(default, rename = "eval_regression")]
    old_regression: Option<OldRegression>,
    #[serde(flatten)]
    metrics: BTreeMap<String, Option<f64>>,
}

/// The old nested classification object: the scalars, and the per-class lists that are not
/// part of the log any more.
#[derive(Deserialize)]
struct OldClassification {
    accuracy: f64,
    f1_macro: f64,
    f1_micro: f64,
    precision_macro: f64,
    recall_macro: f64,
    matthews_correlation: f64,
}

/// The old regression object; its NaN correlations were written as `null`.
#[derive(Deserialize)]
struct OldRegression {
    mse: f64,
    pearson: Option<f64>,
    spearman: Option<f64>,
}

impl From<LogRow> for LogEntry {
    fn from(r: LogRow) -> Self {
        let mut metrics: BTreeMap<String, f64> = r.metrics.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect();
        let old = if let Some(c) = r.old_classification {
            Some(EvalMetrics::Classification(ClassificationMetrics {
                accuracy: c.accuracy,
                f1_macro: c.f1_macro,
                f1_micro: c.f1_micro,
                precision_macro: c.precision_macro,
                recall_macro: c.recall_macro,
                matthews_correlation: c.matthews_correlation,
                f1_per_class: Vec::new(),
                confusion: Vec::new(),
            }))
        } else if let Some(m) = r.old_multilabel {
            Some(EvalMetrics::MultiLabel(m))
        } else {
            r.old_regression.map(|m| {
                EvalMetrics::Regression(RegressionMetrics {
                    mse: m.mse,
                    pearson: m.pearson.unwrap_or(f64::NAN),
                    spearman: m.spearman.unwrap_or(f64::NAN),
                })
            })
        };
        if let Some(m) = old {
            metrics.extend(eval_keys(&m));
        }
        Self { step: r.step, epoch: r.epoch, loss: r.loss, learning_rate: r.learning_rate, grad_norm: r.grad_norm, eval_loss: r.eval_loss, metrics }
    }
}

/// The loop's state at a checkpoint: where to continue and what has been logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainerState {
    pub global_step: usize,
    pub epoch: f64,
    /// The next micro-batch to run: epoch index and batch index within the epoch.
    pub next_epoch: usize,
    pub next_batch: usize,
    pub max_steps: usize,
    pub num_examples: usize,
    pub train_batch_size: usize,
    pub gradient_accumulation_steps: usize,
    pub seed: u64,
    /// How batches are formed: with other values the saved data position would mean other
    /// examples. (Absent from checkpoints written before these were recorded: false, the
    /// defaults.)
    #[serde(default)]
    pub group_by_length: bool,
    #[serde(default)]
    pub dataloader_drop_last: bool,
    /// The training set's [`crate::Dataset::fingerprint`], when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<u64>,
    pub loss_sum: f64,
    pub loss_since_log: f64,
    pub steps_since_log: usize,
    pub examples_seen: usize,
    pub runtime_s: f64,
    pub best_metric: Option<f64>,
    pub best_model_checkpoint: Option<PathBuf>,
    pub early_stopping_patience_counter: usize,
    pub log_history: Vec<LogEntry>,
}

impl TrainerState {
    /// What fixes the order of the micro-batches, in words; two runs with equal descriptions
    /// visit the same examples at the same positions.
    pub fn data_order(&self) -> String {
        format!(
            "{} examples, batch {}, accumulation {}, seed {}, {} steps, group_by_length {}, dataloader_drop_last {}",
            self.num_examples,
            self.train_batch_size,
            self.gradient_accumulation_steps,
            self.seed,
            self.max_steps,
            self.group_by_length,
            self.dataloader_drop_last
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_flat_and_old_nested_rows_read_the_same() {
        let m = EvalMetrics::Regression(RegressionMetrics { mse: 0.25, pearson: f64::NAN, spearman: 0.5 });
        let row = LogEntry::evaluation(7, 1.0, 0.3, &m);
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json, serde_json::json!({"step": 7, "epoch": 1.0, "eval_loss": 0.3, "eval_mse": 0.25, "eval_pearson": null, "eval_spearman": 0.5}));
        let back: LogEntry = serde_json::from_value(json).unwrap();
        assert!(back.metric("pearson").unwrap().is_nan());
        assert_eq!((back.metric("eval_mse"), back.metric("loss"), back.metric("accuracy")), (Some(0.25), Some(0.3), None));

        let old = r#"{"step": 3, "epoch": 0.5, "eval_loss": 0.6, "eval": {"accuracy": 0.75, "f1_macro": 0.7,
            "f1_micro": 0.75, "precision_macro": 0.8, "recall_macro": 0.72, "matthews_correlation": 0.5,
            "f1_per_class": [0.6, 0.8], "confusion": [[1, 1], [0, 2]]}}"#;
        let e: LogEntry = serde_json::from_str(old).unwrap();
        assert_eq!(e.metric("eval_accuracy"), Some(0.75));
        assert_eq!(e.eval_metrics().count(), 6);
        let old = r#"{"step": 3, "epoch": 0.5, "eval_loss": 0.6, "eval_multilabel": {"subset_accuracy": 0.5,
            "f1_micro": 0.8, "f1_macro": 0.6, "threshold": 0.5}}"#;
        let e: LogEntry = serde_json::from_str(old).unwrap();
        assert_eq!((e.metric("accuracy"), e.metric("f1_macro")), (Some(0.5), Some(0.6)));
        let train: LogEntry = serde_json::from_str(r#"{"step": 1, "epoch": 0.1, "loss": 0.69, "learning_rate": 1e-5, "grad_norm": 2.0}"#).unwrap();
        assert_eq!(train, LogEntry::training(1, 0.1, 0.69, 1e-5, 2.0));
        assert!(!train.is_eval());
    }
}
