//! Classification metrics as scikit-learn computes them (`accuracy_score`,
//! `precision_recall_fscore_support`, `f1_score(average="macro"/"micro")`,
//! `matthews_corrcoef`, `confusion_matrix`), with sklearn's zero-division rule (0).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    pub accuracy: f64,
    pub f1_macro: f64,
    pub f1_micro: f64,
    pub precision_macro: f64,
    pub recall_macro: f64,
    pub matthews_correlation: f64,
    pub f1_per_class: Vec<f64>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassificationMetrics {
    /// The scalar metrics by name (HF's `compute_metrics` keys, without `eval_`).
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("accuracy", self.accuracy),
            ("f1_macro", self.f1_macro),
            ("f1_micro", self.f1_micro),
            ("precision_macro", self.precision_macro),
            ("recall_macro", self.recall_macro),
            ("matthews_correlation", self.matthews_correlation),
        ]
    }
}

pub fn classification_metrics(labels: &[usize], preds: &[usize], num_labels: usize) -> ClassificationMetrics {
    let k = num_labels.max(labels.iter().chain(preds).map(|x| x + 1).max().unwrap_or(0));
    let mut c = vec![vec![0usize; k]; k];
    for (&t, &p) in labels.iter().zip(preds) {
        c[t][p] += 1;
    }
    let n = labels.len() as f64;
    let div = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let tp: Vec<f64> = (0..k).map(|i| c[i][i] as f64).collect();
    let pred_count: Vec<f64> = (0..k).map(|j| (0..k).map(|i| c[i][j]).sum::<usize>() as f64).collect();
    let true_count: Vec<f64> = (0..k).map(|i| c[i].iter().sum::<usize>() as f64).collect();
    let precision: Vec<f64> = (0..k).map(|i| div(tp[i], pred_count[i])).collect();
    let recall: Vec<f64> = (0..k).map(|i| div(tp[i], true_count[i])).collect();
    let f1: Vec<f64> = (0..k).map(|i| div(2.0 * tp[i], pred_count[i] + true_count[i])).collect();
    let mean = |v: &[f64]| div(v.iter().sum(), v.len() as f64);
    let correct: f64 = tp.iter().sum();
    // Multi-class MCC (Gorodkin), as sklearn.
    let s = n;
    let cov_ytyp = correct * s - (0..k).map(|i| true_count[i] * pred_count[i]).sum::<f64>();
    let cov_ypyp = s * s - pred_count.iter().map(|x| x * x).sum::<f64>();
    let cov_ytyt = s * s - true_count.iter().map(|x| x * x).sum::<f64>();
    let mcc = div(cov_ytyp, (cov_ytyt * cov_ypyp).sqrt());
    ClassificationMetrics {
        accuracy: div(correct, n),
        f1_macro: mean(&f1),
        f1_micro: div(correct, n),
        precision_macro: mean(&precision),
        recall_macro: mean(&recall),
        matthews_correlation: mcc,
        f1_per_class: f1,
        confusion: c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sklearn() {
        // scikit-learn (reference venv) on y_true=[0,0,1,1,1,2], y_pred=[0,1,1,1,0,2]:
        // accuracy 0.666667, f1 per class [0.5, 0.666667, 1.0], macro 0.722222,
        // precision macro 0.722222, recall macro 0.722222, mcc 0.454545
        let m = classification_metrics(&[0, 0, 1, 1, 1, 2], &[0, 1, 1, 1, 0, 2], 3);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4;
        assert!(close(m.accuracy, 0.666_667));
        assert!(close(m.f1_macro, 0.722_222), "{}", m.f1_macro);
        assert!(close(m.precision_macro, 0.722_222));
        assert!(close(m.recall_macro, 0.722_222));
        assert!(close(m.matthews_correlation, 0.454_545), "{}", m.matthews_correlation);
        assert!(close(m.f1_per_class[1], 0.666_667));
        assert_eq!(m.confusion, vec![vec![1, 1, 0], vec![1, 2, 0], vec![0, 0, 1]]);
    }
}
