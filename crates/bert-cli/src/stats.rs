//! What a user wants to see before training: examples per split and label, token-length
//! percentiles, and how many rows reach `--max-length` (and so may be truncated).

use crate::task::TokenizedSet;

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[usize], p: f64) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One line per split: counts by label, then token lengths.
pub fn describe(split: &str, set: &TokenizedSet, names: &[String], max_length: usize) -> String {
    let mut counts = vec![0usize; names.len()];
    for &l in &set.labels {
        if let Some(c) = counts.get_mut(l) {
            *c += 1;
        }
    }
    let by_label: Vec<String> = names.iter().zip(&counts).map(|(n, c)| format!("{n} {c}")).collect();
    let mut lens: Vec<usize> = set.input_ids.iter().map(Vec::len).collect();
    lens.sort_unstable();
    let at_max = lens.iter().filter(|&&l| l >= max_length).count();
    format!(
        "{split}: {} examples ({}); tokens p50 {} p90 {} p99 {} max {}; {at_max} reach --max-length {max_length}",
        set.labels.len(),
        by_label.join(", "),
        percentile(&lens, 50.0),
        percentile(&lens, 90.0),
        percentile(&lens, 99.0),
        lens.last().copied().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let set = TokenizedSet {
            input_ids: (1..=10).map(|n| vec![0; n]).collect(),
            token_type_ids: vec![],
            labels: vec![0, 1, 1, 0, 1, 1, 1, 0, 1, 1],
            pad_id: 0,
        };
        let s = describe("train", &set, &["neg".into(), "pos".into()], 9);
        assert_eq!(s, "train: 10 examples (neg 3, pos 7); tokens p50 5 p90 9 p99 10 max 10; 2 reach --max-length 9");
    }
}
