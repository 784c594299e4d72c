//! Evaluation metrics by problem type, as named values: HF's `compute_metrics` returns a flat
//! dict, `Trainer.evaluate` prefixes its keys with `eval_`, and `metric_for_best_model`, the
//! log history and `eval_results.json` all read that dict. Here `EvalMetrics::values` is the
//! dict; the typed structs keep what is not a scalar (per-class F1, the confusion matrix).
//! Folder after burn-train's `metric/`: one file a problem type.

mod classification;
mod multilabel;
mod regression;

pub use classification::{ClassificationMetrics, classification_metrics};
pub use multilabel::{MultiLabelMetrics, multilabel_metrics};
pub use regression::{RegressionMetrics, regression_metrics};

use crate::Target;

/// The metrics of one evaluation, by problem type.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalMetrics {
    Classification(ClassificationMetrics),
    MultiLabel(MultiLabelMetrics),
    Regression(RegressionMetrics),
}

/// Every name `EvalMetrics::values` can give, for `metric_for_best_model` (with or without
/// HF's `eval_` prefix), plus `loss`.
pub const METRIC_NAMES: [&str; 11] = [
    "loss",
    "accuracy",
    "f1_macro",
    "f1_micro",
    "precision_macro",
    "recall_macro",
    "matthews_correlation",
    "subset_accuracy",
    "mse",
    "pearson",
    "spearman",
];

impl EvalMetrics {
    /// The scalar metrics as (name, value) pairs, names without the `eval_` prefix.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        match self {
            EvalMetrics::Classification(m) => m.values(),
            EvalMetrics::MultiLabel(m) => m.values(),
            EvalMetrics::Regression(m) => m.values(),
        }
    }

    pub fn classification(&self) -> Option<&ClassificationMetrics> {
        match self {
            EvalMetrics::Classification(m) => Some(m),
            _ => None,
        }
    }

    /// Computes the metrics of `logits` rows against `targets`; the kind follows the targets
    /// (the first one's): argmax classification metrics, multi-label metrics at HF's sigmoid
    /// threshold of 0.5, or regression metrics of the first logit.
    pub fn compute(targets: &[Target], logits: &[Vec<f32>], num_labels: usize) -> Self {
        match targets.first() {
            Some(Target::Value(_)) => {
                let y: Vec<f64> = targets.iter().map(|t| if let Target::Value(v) = t { *v as f64 } else { f64::NAN }).collect();
                let p: Vec<f64> = logits.iter().map(|r| r.first().copied().unwrap_or(f32::NAN) as f64).collect();
                EvalMetrics::Regression(regression_metrics(&y, &p))
            }
            Some(Target::Labels(_)) => {
                let y: Vec<Vec<bool>> = targets.iter().map(|t| t.multi_hot(num_labels)).collect();
                let p: Vec<Vec<f32>> = logits.iter().map(|r| r.iter().copied().map(sigmoid).collect()).collect();
                EvalMetrics::MultiLabel(multilabel_metrics(&y, &p, 0.5))
            }
            _ => {
                let y: Vec<usize> = targets.iter().map(|t| if let Target::Class(c) = t { *c } else { 0 }).collect();
                let preds: Vec<usize> = logits.iter().map(|r| argmax(r)).collect();
                EvalMetrics::Classification(classification_metrics(&y, &preds, num_labels))
            }
        }
    }
}

/// HF's multi-label probability of a logit.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The index of the first largest value (`torch.argmax`), 0 for an empty row.
pub fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best })
}

/// The softmax of a row of logits (max subtracted first, as torch).
pub fn softmax(row: &[f32]) -> Vec<f32> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's names are in METRIC_NAMES (so `metric_for_best_model` accepts all of them).
    #[test]
    fn every_value_has_a_known_name() {
        let kinds = [
            EvalMetrics::compute(&[Target::Class(1), Target::Class(0)], &[vec![0.1, 0.9], vec![0.2, 0.1]], 2),
            EvalMetrics::compute(&[Target::Labels(vec![0])], &[vec![1.0, -1.0]], 2),
            EvalMetrics::compute(&[Target::Value(1.0), Target::Value(2.0)], &[vec![1.5], vec![2.5]], 1),
        ];
        let mut seen = vec!["loss"];
        for m in &kinds {
            for (name, _) in m.values() {
                assert!(METRIC_NAMES.contains(&name), "{name}");
                seen.push(name);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), METRIC_NAMES.len(), "a name no kind gives: {seen:?}");
        assert_eq!(kinds[0].values()[0], ("accuracy", 1.0));
        assert_eq!(kinds[1].values()[0], ("subset_accuracy", 1.0));
        assert_eq!(kinds[2].values()[0], ("mse", 0.25));
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0]), 1);
        assert_eq!(argmax(&[]), 0);
        let p = softmax(&[1.0, 1.0]);
        assert_eq!(p, [0.5, 0.5]);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }
}
