//! Regression metrics as scikit-learn and SciPy compute them: `mean_squared_error`,
//! `scipy.stats.pearsonr`, `scipy.stats.spearmanr` (average ranks for ties).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    pub mse: f64,
    pub pearson: f64,
    pub spearman: f64,
}

impl RegressionMetrics {
    /// The scalar metrics by name.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        vec![("mse", self.mse), ("pearson", self.pearson), ("spearman", self.spearman)]
    }
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    // A constant input has no correlation; SciPy returns NaN with a warning.
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// 1-based ranks, ties sharing their average rank (`scipy.stats.rankdata`).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

pub fn regression_metrics(labels: &[f64], preds: &[f64]) -> RegressionMetrics {
    let n = labels.len().max(1) as f64;
    let mse = labels.iter().zip(preds).map(|(y, p)| (y - p) * (y - p)).sum::<f64>() / n;
    RegressionMetrics { mse, pearson: pearson(labels, preds), spearman: pearson(&ranks(labels), &ranks(preds)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_and_sklearn() {
        // sklearn 1.x / SciPy (reference venv): mse 0.258333, pearson 0.956394, spearman 0.970588.
        let m = regression_metrics(&[1.0, 2.0, 2.0, 3.5, 5.0, 4.0], &[1.2, 1.9, 2.5, 3.0, 4.0, 4.0]);
        assert!((m.mse - 0.258_333).abs() < 1e-6, "{m:?}");
        assert!((m.pearson - 0.956_394).abs() < 1e-6, "{m:?}");
        assert!((m.spearman - 0.970_588).abs() < 1e-6, "{m:?}");
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        assert!(regression_metrics(&[1.0, 1.0], &[0.0, 2.0]).pearson.is_nan());
    }
}
