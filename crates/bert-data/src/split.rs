//! Splits like scikit-learn's `train_test_split`: `test_size` as a fraction or a count,
//! `shuffle`, a seed, `stratify` by label; and a group-aware split (sklearn's
//! `GroupShuffleSplit`: no group, e.g. a movie, in both splits).
//!
//! Sizes follow sklearn exactly (`n_test = ceil(test_size * n)`, `n_train = n - n_test`;
//! stratified per-class counts by its `_approximate_mode`, remainders to the largest
//! fractions). The permutation is our own (numpy's generator cannot be reproduced without
//! numpy): indices ordered by a keyed SplitMix64 hash of (seed, index), the same on every
//! platform and run.

use std::collections::BTreeMap;

/// How much goes to the test split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TestSize {
    /// A fraction in (0, 1).
    Fraction(f64),
    /// A number of examples (or of groups, for a group split).
    Count(usize),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    #[error("test_size {0} is not a fraction in (0, 1)")]
    BadFraction(f64),
    #[error("a split of {n} into {n_test} for test and {n_train} for training leaves one side empty")]
    Empty { n: usize, n_test: usize, n_train: usize },
    #[error("stratify needs shuffle (as in scikit-learn)")]
    StratifyWithoutShuffle,
    #[error("class {class} has only {count} example(s); a stratified split needs at least 2 per class")]
    TooFewInClass { class: usize, count: usize },
    #[error("the test split ({n_test}) or the training split ({n_train}) is smaller than the number of classes ({classes})")]
    FewerThanClasses { n_test: usize, n_train: usize, classes: usize },
    #[error("the split leaves class {class} without a training example ({count} in all, all in test)")]
    NoTrainingExample { class: usize, count: usize },
}

/// sklearn `_validate_shuffle_split`: the (train, test) sizes for `n` examples.
pub fn split_sizes(n: usize, test_size: TestSize) -> Result<(usize, usize), SplitError> {
    let n_test = match test_size {
        TestSize::Fraction(f) if f > 0.0 && f < 1.0 => (f * n as f64).ceil() as usize,
        TestSize::Fraction(f) => return Err(SplitError::BadFraction(f)),
        TestSize::Count(c) => c,
    };
    let n_train = n.saturating_sub(n_test);
    if n_test == 0 || n_train == 0 || n_test > n {
        return Err(SplitError::Empty { n, n_test, n_train });
    }
    Ok((n_train, n_test))
}

/// A seeded order of `items`: sorted by a SplitMix64 hash of (seed, item).
fn seeded_order(items: &mut [usize], seed: u64) {
    let key = |i: usize| {
        let mut z = seed ^ (i as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    items.sort_by_key(|&i| (key(i), i));
}

/// `train_test_split(range(n), test_size=…, shuffle=…, random_state=seed)`: (train, test)
/// indices. Without shuffling the first `n_train` are the training split, as in sklearn.
pub fn train_test_split(n: usize, test_size: TestSize, shuffle: bool, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let (n_train, _) = split_sizes(n, test_size)?;
    let mut order: Vec<usize> = (0..n).collect();
    if !shuffle {
        let test = order.split_off(n_train);
        return Ok((order, test));
    }
    seeded_order(&mut order, seed);
    let train = order.split_off(n - n_train);
    Ok((train, order))
}

/// sklearn `_approximate_mode`: `total` drawn from classes of these sizes, each class's
/// share floored, the rest to the largest remainders (ties to the smaller class id; sklearn
/// breaks them at random).
fn approximate_mode(counts: &[usize], total: usize) -> Vec<usize> {
    let n: usize = counts.iter().sum();
    let exact: Vec<f64> = counts.iter().map(|&c| c as f64 * total as f64 / n as f64).collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = total - take.iter().sum::<usize>();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    for &c in by_remainder.iter().cycle() {
        if left == 0 {
            break;
        }
        if take[c] < counts[c] {
            take[c] += 1;
            left -= 1;
        }
    }
    take
}

/// `train_test_split(…, stratify=labels, shuffle=True)`: each class split in the overall
/// proportion (within one example per class).
pub fn stratified_split(labels: &[usize], test_size: TestSize, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let n = labels.len();
    let (n_train, n_test) = split_sizes(n, test_size)?;
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        members.entry(l).or_default().push(i);
    }
    if let Some((&class, m)) = members.iter().find(|(_, m)| m.len() < 2) {
        return Err(SplitError::TooFewInClass { class, count: m.len() });
    }
    if n_test < members.len() || n_train < members.len() {
        return Err(SplitError::FewerThanClasses { n_test, n_train, classes: members.len() });
    }
    let counts: Vec<usize> = members.values().map(Vec::len).collect();
    let test_counts = approximate_mode(&counts, n_test);
    if let Some(((&class, m), _)) = members.iter().zip(&test_counts).find(|((_, m), t)| **t >= m.len()) {
        return Err(SplitError::NoTrainingExample { class, count: m.len() });
    }
    let (mut train, mut test) = (Vec::with_capacity(n_train), Vec::with_capacity(n_test));
    for ((class, mut m), t) in members.into_iter().zip(test_counts) {
        seeded_order(&mut m, seed ^ (class as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let rest = m.split_off(t);
        test.extend(m);
        train.extend(rest);
    }
    seeded_order(&mut train, seed);
    seeded_order(&mut test, seed);
    Ok((train, test))
}

/// sklearn `GroupShuffleSplit(n_splits=1, test_size=…)`: `test_size` counts groups; every
/// example of a test group is in the test split, so no group is in both.
pub fn group_split<S: AsRef<str>>(groups: &[S], test_size: TestSize, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for g in groups {
        let next = ids.len();
        ids.entry(g.as_ref()).or_insert(next);
    }
    // Group ids in sorted name order (stable across input orders), then a seeded split of them.
    let sorted: BTreeMap<usize, usize> = ids.values().enumerate().map(|(rank, &id)| (id, rank)).collect();
    let (_, test_groups) = train_test_split(ids.len(), test_size, true, seed)?;
    let mut in_test = vec![false; ids.len()];
    for g in test_groups {
        in_test[g] = true;
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let rank = sorted[&ids[g.as_ref()]];
        if in_test[rank] { test.push(i) } else { train.push(i) }
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_are_sklearns() {
        assert_eq!(split_sizes(10, TestSize::Fraction(0.25)), Ok((7, 3)));
        assert_eq!(split_sizes(100, TestSize::Fraction(0.2)), Ok((80, 20)));
        assert_eq!(split_sizes(10, TestSize::Count(4)), Ok((6, 4)));
        assert!(matches!(split_sizes(10, TestSize::Fraction(1.0)), Err(SplitError::BadFraction(_))));
        assert!(matches!(split_sizes(3, TestSize::Count(3)), Err(SplitError::Empty { .. })));
        assert_eq!(train_test_split(5, TestSize::Count(2), false, 0).unwrap(), (vec![0, 1, 2], vec![3, 4]));
    }

    #[test]
    fn stratify_errors_name_the_class() {
        let e = stratified_split(&[0, 0, 1, 2, 2], TestSize::Fraction(0.4), 1).unwrap_err();
        assert_eq!(e, SplitError::TooFewInClass { class: 1, count: 1 });
        let e = stratified_split(&[0, 0, 1, 1, 2, 2], TestSize::Count(2), 1).unwrap_err();
        assert!(matches!(e, SplitError::FewerThanClasses { classes: 3, .. }), "{e}");
        // 80% of a 2-example class (1.6) rounds up to both.
        let labels: Vec<usize> = [vec![0; 18], vec![1; 2]].concat();
        let e = stratified_split(&labels, TestSize::Fraction(0.8), 1).unwrap_err();
        assert_eq!(e, SplitError::NoTrainingExample { class: 1, count: 2 });
    }

    #[test]
    fn a_known_split_is_stable_across_versions() {
        // Pinned: a change of the permutation changes every user's splits.
        let (train, test) = train_test_split(10, TestSize::Fraction(0.3), true, 42).unwrap();
        assert_eq!(test.len(), 3);
        assert_eq!((train.clone(), test.clone()), train_test_split(10, TestSize::Fraction(0.3), true, 42).unwrap());
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    fn check_partition(n: usize, train: &[usize], test: &[usize]) {
        let mut all: Vec<usize> = train.iter().chain(test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "disjoint and complete");
    }

    proptest! {
        #[test]
        fn plain_splits_partition(n in 2usize..400, frac in 0.01f64..0.99, seed in any::<u64>(), shuffle in any::<bool>()) {
            if let Ok((train, test)) = train_test_split(n, TestSize::Fraction(frac), shuffle, seed) {
                check_partition(n, &train, &test);
                prop_assert_eq!(test.len(), (frac * n as f64).ceil() as usize);
                prop_assert_eq!((train, test), train_test_split(n, TestSize::Fraction(frac), shuffle, seed).unwrap());
            }
        }

        #[test]
        fn stratified_splits_keep_proportions(labels in prop::collection::vec(0usize..4, 8..300), frac in 0.1f64..0.9, seed in any::<u64>()) {
            if let Ok((train, test)) = stratified_split(&labels, TestSize::Fraction(frac), seed) {
                check_partition(labels.len(), &train, &test);
                let n = labels.len() as f64;
                for class in 0..4 {
                    let total = labels.iter().filter(|&&l| l == class).count() as f64;
                    let in_test = test.iter().filter(|&&i| labels[i] == class).count() as f64;
                    prop_assert!((in_test - total * test.len() as f64 / n).abs() < 1.0 + 1e-9,
                        "class {class}: {in_test} of {total} in test, expected {}", total * test.len() as f64 / n);
                    if total > 0.0 {
                        prop_assert!(in_test < total, "class {class} has no training example");
                    }
                }
                prop_assert_eq!((train, test), stratified_split(&labels, TestSize::Fraction(frac), seed).unwrap());
            }
        }

        #[test]
        fn group_splits_never_share_a_group(groups in prop::collection::vec(0u8..20, 2..200), frac in 0.05f64..0.95, seed in any::<u64>()) {
            let groups: Vec<String> = groups.iter().map(|g| format!("movie-{g}")).collect();
            if let Ok((train, test)) = group_split(&groups, TestSize::Fraction(frac), seed) {
                check_partition(groups.len(), &train, &test);
                for &i in &test {
                    prop_assert!(train.iter().all(|&j| groups[j] != groups[i]));
                }
                prop_assert_eq!((train, test), group_split(&groups, TestSize::Fraction(frac), seed).unwrap());
            }
        }
    }
}
