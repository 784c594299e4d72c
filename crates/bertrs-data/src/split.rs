//! Splits like scikit-learn's `train_test_split`: `test_size` as a fraction or a count,
//! `shuffle`, a seed, `stratify` by label; and a group-aware split (sklearn's
//! `GroupShuffleSplit`: no group, e.g. a movie, in both splits).
//!
//! The indices are scikit-learn's own for the same seed (`random_state`): sizes by its
//! `_validate_shuffle_split` (`n_test = ceil(test_size * n)`, `n_train = n - n_test`),
//! permutations from numpy's legacy `RandomState` (`numpy_random.rs`), drawn in the order
//! sklearn draws them. `fixtures/splits.json` (`scripts/make_split_fixtures.py`, scikit-learn
//! 1.9.1, numpy 2.4.6) pins them. As in numpy, a seed must fit in 32 bits.

use std::collections::BTreeMap;

use crate::numpy_random::RandomState;

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
    #[error("seed {0} does not fit in 32 bits (numpy's RandomState, which scikit-learn splits with, takes 0..=4294967295)")]
    SeedTooLarge(u64),
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

/// The generator sklearn's `check_random_state(seed)` makes.
fn random_state(seed: u64) -> Result<RandomState, SplitError> {
    u32::try_from(seed).map(RandomState::new).map_err(|_| SplitError::SeedTooLarge(seed))
}

/// `train_test_split(range(n), test_size=…, shuffle=…, random_state=seed)`: (train, test)
/// indices. Shuffled, it is `ShuffleSplit`: test = `permutation[:n_test]`, train the rest in
/// permutation order; without shuffling the first `n_train` are the training split.
pub fn train_test_split(n: usize, test_size: TestSize, shuffle: bool, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let (n_train, n_test) = split_sizes(n, test_size)?;
    if !shuffle {
        let mut order: Vec<usize> = (0..n).collect();
        let test = order.split_off(n_train);
        return Ok((order, test));
    }
    let mut order = random_state(seed)?.permutation(n);
    let train = order.split_off(n_test);
    Ok((train, order))
}

/// sklearn `_approximate_mode`: `total` drawn from classes of these sizes, each class's
/// share (`count / sum * total`, in that order of float operations) floored, the rest one
/// each to the largest remainders; among equal remainders `rng.choice(…, replace=False)`
/// picks which (a permutation of the tied classes, whose prefix is taken).
fn approximate_mode(counts: &[usize], total: usize, rng: &mut RandomState) -> Vec<usize> {
    let sum = counts.iter().sum::<usize>() as f64;
    let continuous: Vec<f64> = counts.iter().map(|&c| c as f64 / sum * total as f64).collect();
    let mut take: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = total.saturating_sub(take.iter().sum());
    let remainder: Vec<f64> = continuous.iter().zip(&take).map(|(c, &t)| c - t as f64).collect();
    let mut values = remainder.clone();
    values.sort_by(|a, b| b.total_cmp(a));
    values.dedup();
    for value in values {
        if need == 0 {
            break;
        }
        let tied: Vec<usize> = (0..counts.len()).filter(|&i| remainder[i] == value).collect();
        let now = tied.len().min(need);
        for k in rng.permutation(tied.len()).into_iter().take(now) {
            take[tied[k]] += 1;
        }
        need -= now;
    }
    take
}

/// `train_test_split(…, stratify=labels, shuffle=True)`, i.e. sklearn's
/// `StratifiedShuffleSplit`: per-class training counts by `_approximate_mode` of `n_train`,
/// test counts of what is left, each class's members (in index order) permuted, then both
/// splits permuted. Classes are the label ids in ascending order, as `np.unique` sorts them.
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
    let mut rng = random_state(seed)?;
    let counts: Vec<usize> = members.values().map(Vec::len).collect();
    let train_counts = approximate_mode(&counts, n_train, &mut rng);
    // sklearn allows a class with no training example; a classifier cannot learn it.
    if let Some(((&class, m), _)) = members.iter().zip(&train_counts).find(|(_, t)| **t == 0) {
        return Err(SplitError::NoTrainingExample { class, count: m.len() });
    }
    let left: Vec<usize> = counts.iter().zip(&train_counts).map(|(c, t)| c - t).collect();
    let test_counts = approximate_mode(&left, n_test, &mut rng);
    let (mut train, mut test) = (Vec::with_capacity(n_train), Vec::with_capacity(n_test));
    for ((m, t), s) in members.values().zip(train_counts).zip(test_counts) {
        let order = rng.permutation(m.len());
        train.extend(order[..t].iter().map(|&k| m[k]));
        test.extend(order[t..t + s].iter().map(|&k| m[k]));
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

/// sklearn `GroupShuffleSplit(n_splits=1, test_size=…)`: `test_size` counts groups; the
/// groups (sorted by name, as `np.unique` does) are split by `ShuffleSplit`, and each split
/// holds every example of its groups in index order, so no group is in both.
pub fn group_split<S: AsRef<str>>(groups: &[S], test_size: TestSize, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let mut rank: BTreeMap<&str, usize> = groups.iter().map(|g| (g.as_ref(), 0)).collect();
    for (i, r) in rank.values_mut().enumerate() {
        *r = i;
    }
    let (_, test_groups) = train_test_split(rank.len(), test_size, true, seed)?;
    let mut in_test = vec![false; rank.len()];
    for g in test_groups {
        in_test[g] = true;
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        if in_test[rank[g.as_ref()]] { test.push(i) } else { train.push(i) }
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
    fn a_known_split_is_sklearns() {
        // `train_test_split(np.arange(10), test_size=0.3, random_state=42)` (the fixture test,
        // tests/sklearn_splits.rs, has many more).
        let (train, test) = train_test_split(10, TestSize::Fraction(0.3), true, 42).unwrap();
        assert_eq!((train, test), (vec![0, 7, 2, 9, 4, 3, 6], vec![8, 1, 5]));
        assert_eq!(train_test_split(10, TestSize::Fraction(0.3), true, 1 << 32), Err(SplitError::SeedTooLarge(1 << 32)));
    }

    fn check_partition(n: usize, train: &[usize], test: &[usize]) {
        let mut all: Vec<usize> = train.iter().chain(test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "disjoint and complete");
    }

    fn seeds() -> impl Strategy<Value = u64> {
        any::<u32>().prop_map(u64::from)
    }

    proptest! {
        #[test]
        fn plain_splits_partition(n in 2usize..400, frac in 0.01f64..0.99, seed in seeds(), shuffle in any::<bool>()) {
            let n_test = (frac * n as f64).ceil() as usize;
            match train_test_split(n, TestSize::Fraction(frac), shuffle, seed) {
                Ok((train, test)) => {
                    check_partition(n, &train, &test);
                    prop_assert_eq!(test.len(), n_test);
                    prop_assert_eq!((train, test), train_test_split(n, TestSize::Fraction(frac), shuffle, seed).unwrap());
                }
                // Only when the ceiling leaves no training example.
                Err(e) => prop_assert_eq!(e, SplitError::Empty { n, n_test, n_train: 0 }),
            }
        }

        #[test]
        fn seeds_past_32_bits_are_refused(seed in (1u64 << 32)..u64::MAX, n in 2usize..50) {
            prop_assert_eq!(train_test_split(n, TestSize::Count(1), true, seed), Err(SplitError::SeedTooLarge(seed)));
            prop_assert_eq!(group_split(&["a", "b"], TestSize::Count(1), seed), Err(SplitError::SeedTooLarge(seed)));
        }

        #[test]
        fn stratified_splits_keep_proportions(labels in prop::collection::vec(0usize..4, 8..300), frac in 0.1f64..0.9, seed in seeds()) {
            let n = labels.len();
            let count = |class: usize| labels.iter().filter(|&&l| l == class).count();
            let present: Vec<usize> = (0..4).filter(|&c| count(c) > 0).collect();
            let (n_train, n_test) = match split_sizes(n, TestSize::Fraction(frac)) {
                Ok(sizes) => sizes,
                // Sizes that leave a side empty: the same error as the plain split's.
                Err(e) => {
                    prop_assert_eq!(stratified_split(&labels, TestSize::Fraction(frac), seed), Err(e));
                    return Ok(());
                }
            };
            match stratified_split(&labels, TestSize::Fraction(frac), seed) {
                Ok((train, test)) => {
                    check_partition(n, &train, &test);
                    for class in 0..4 {
                        let total = count(class) as f64;
                        let in_test = test.iter().filter(|&&i| labels[i] == class).count() as f64;
                        prop_assert!((in_test - total * test.len() as f64 / n as f64).abs() < 1.0 + 1e-9,
                            "class {class}: {in_test} of {total} in test, expected {}", total * test.len() as f64 / n as f64);
                        if total > 0.0 {
                            prop_assert!(in_test < total, "class {class} has no training example");
                        }
                    }
                    prop_assert_eq!((train, test), stratified_split(&labels, TestSize::Fraction(frac), seed).unwrap());
                }
                // Each error only where its condition holds.
                Err(SplitError::TooFewInClass { class, count: c }) => prop_assert!(c < 2 && count(class) == c),
                Err(SplitError::FewerThanClasses { classes, .. }) => {
                    prop_assert_eq!(classes, present.len());
                    prop_assert!(n_test < classes || n_train < classes);
                }
                // A class's share of the training split floors to 0 only below one example.
                Err(SplitError::NoTrainingExample { class, count: c }) => {
                    prop_assert_eq!(count(class), c);
                    prop_assert!((c * n_train) < n, "class {class}: {c} of {n} with {n_train} to train");
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn group_splits_never_share_a_group(groups in prop::collection::vec(0u8..20, 2..200), frac in 0.05f64..0.95, seed in seeds()) {
            let groups: Vec<String> = groups.iter().map(|g| format!("movie-{g}")).collect();
            let distinct = groups.iter().collect::<std::collections::BTreeSet<_>>().len();
            match group_split(&groups, TestSize::Fraction(frac), seed) {
                Ok((train, test)) => {
                    check_partition(groups.len(), &train, &test);
                    for &i in &test {
                        prop_assert!(train.iter().all(|&j| groups[j] != groups[i]));
                    }
                    let test_groups = test.iter().map(|&i| &groups[i]).collect::<std::collections::BTreeSet<_>>().len();
                    prop_assert_eq!(test_groups, (frac * distinct as f64).ceil() as usize);
                    prop_assert_eq!((train, test), group_split(&groups, TestSize::Fraction(frac), seed).unwrap());
                }
                Err(e) => prop_assert!(matches!(e, SplitError::Empty { n, .. } if n == distinct), "{e}"),
            }
        }
    }
}
