//! What a user wants to see before training: examples per split and label, token-length
//! percentiles, and how many rows reach `max_length` (and so may have been truncated).

use bertrs_core::{LabelMap, ProblemType};

use crate::Encoded;

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[usize], p: f64) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Encoded {
    /// One line: counts by label (or the range of regression targets), then token lengths.
    pub fn describe(&self, split: &str, map: Option<&LabelMap>, max_length: usize) -> String {
        let names: &[String] = map.map_or(&[], |m| &m.names);
        let labels = match self.problem_type() {
            None => String::new(),
            Some(ProblemType::Regression) => {
                let v: Vec<f32> = (0..self.len()).filter_map(|i| self.value(i)).collect();
                let (min, max) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
                format!(" (targets min {min} mean {mean:.4} max {max})")
            }
            Some(kind) => {
                let mut counts = vec![0usize; names.len()];
                for i in 0..self.len() {
                    let ids: Vec<usize> = match kind {
                        ProblemType::SingleLabelClassification => self.class(i).into_iter().collect(),
                        _ => self.label_ids(i).iter().map(|&l| l as usize).collect(),
                    };
                    for l in ids {
                        if let Some(c) = counts.get_mut(l) {
                            *c += 1;
                        }
                    }
                }
                let by_label: Vec<String> = names.iter().zip(&counts).map(|(n, c)| format!("{n} {c}")).collect();
                format!(" ({})", by_label.join(", "))
            }
        };
        let mut lens: Vec<usize> = (0..self.len()).map(|i| self.length(i)).collect();
        lens.sort_unstable();
        let at_max = lens.iter().filter(|&&l| l >= max_length).count();
        format!(
            "{split}: {} examples{labels}; tokens p50 {} p90 {} p99 {} max {}; {at_max} reach max length {max_length}",
            self.len(),
            percentile(&lens, 50.0),
            percentile(&lens, 90.0),
            percentile(&lens, 99.0),
            lens.last().copied().unwrap_or(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<usize> = (1..=10).collect();
        assert_eq!([percentile(&v, 50.0), percentile(&v, 90.0), percentile(&v, 99.0)], [5, 9, 10]);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
