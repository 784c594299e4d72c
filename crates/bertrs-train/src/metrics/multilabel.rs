//! Multi-label metrics as scikit-learn computes them on indicator matrices:
//! `accuracy_score` (subset accuracy), `f1_score(average="micro"/"macro")` with
//! zero_division 0. A label is predicted when its sigmoid probability exceeds the threshold
//! (HF's usual 0.5).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelMetrics {
    pub subset_accuracy: f64,
    pub f1_micro: f64,
    pub f1_macro: f64,
    pub threshold: f64,
}

impl MultiLabelMetrics {
    /// The scalar metrics by name (the threshold is a setting, not a metric).
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        vec![("subset_accuracy", self.subset_accuracy), ("f1_micro", self.f1_micro), ("f1_macro", self.f1_macro)]
    }
}

/// `labels[i][j]`: example i has label j; `probs[i][j]`: its predicted probability.
pub fn multilabel_metrics(labels: &[Vec<bool>], probs: &[Vec<f32>], threshold: f64) -> MultiLabelMetrics {
    let k = labels.first().map_or(0, Vec::len);
    let (mut tp, mut fp, mut fnn) = (vec![0f64; k], vec![0f64; k], vec![0f64; k]);
    let mut exact = 0usize;
    for (y, p) in labels.iter().zip(probs) {
        let pred: Vec<bool> = p.iter().map(|&x| x as f64 > threshold).collect();
        exact += usize::from(pred == *y);
        for j in 0..k {
            match (y[j], pred[j]) {
                (true, true) => tp[j] += 1.0,
                (false, true) => fp[j] += 1.0,
                (true, false) => fnn[j] += 1.0,
                _ => {}
            }
        }
    }
    let f1 = |tp: f64, fp: f64, fnn: f64| if 2.0 * tp + fp + fnn == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fnn) };
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let macro_f1 = (0..k).map(|j| f1(tp[j], fp[j], fnn[j])).sum::<f64>() / k.max(1) as f64;
    MultiLabelMetrics {
        subset_accuracy: exact as f64 / labels.len().max(1) as f64,
        f1_micro: f1(sum(&tp), sum(&fp), sum(&fnn)),
        f1_macro: macro_f1,
        threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sklearn() {
        // sklearn: accuracy 0.5, f1 micro 0.8, f1 macro 0.6 (zero_division=0).
        let y = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]].map(|r| r.map(|v| v == 1).to_vec()).to_vec();
        let p = [[0.9, 0.2, 0.4], [0.1, 0.8, 0.3], [0.7, 0.6, 0.0], [0.2, 0.51, 0.1]].map(|r| r.to_vec()).to_vec();
        let m = multilabel_metrics(&y, &p, 0.5);
        assert_eq!((m.subset_accuracy, m.f1_micro, m.f1_macro), (0.5, 0.8, 0.6));
    }
}
