//! Our splits against scikit-learn's own indices for the same inputs and seeds
//! (`fixtures/splits/splits.json`, written by `scripts/make_split_fixtures.py` with the
//! reference harness's pinned scikit-learn and numpy): `train_test_split` plain and
//! stratified, and `GroupShuffleSplit`, index for index and in sklearn's order.

use bertrs_data::{TestSize, group_split, stratified_split, train_test_split};
use serde_json::Value;

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/splits/splits.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("splits.json")
}

fn size(case: &Value) -> TestSize {
    let s = &case["test_size"];
    match (s["fraction"].as_f64(), s["count"].as_u64()) {
        (Some(f), _) => TestSize::Fraction(f),
        (_, Some(c)) => TestSize::Count(c as usize),
        _ => panic!("bad test_size {s}"),
    }
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array().expect("a list").iter().map(|i| i.as_u64().expect("an index") as usize).collect()
}

fn cases<'a>(all: &'a Value, kind: &str) -> &'a [Value] {
    let list = all[kind].as_array().unwrap_or_else(|| panic!("no {kind} cases"));
    assert!(!list.is_empty(), "no {kind} cases");
    list
}

fn check(kind: &str, k: usize, got: (Vec<usize>, Vec<usize>), case: &Value) {
    let (train, test) = got;
    let (want_train, want_test) = (indices(&case["train"]), indices(&case["test"]));
    assert_eq!(train, want_train, "{kind} case {k}: training indices differ from scikit-learn's");
    assert_eq!(test, want_test, "{kind} case {k}: test indices differ from scikit-learn's");
}

#[test]
fn plain_splits_are_sklearns() {
    let all = fixture();
    for (k, case) in cases(&all, "plain").iter().enumerate() {
        let n = case["n"].as_u64().unwrap() as usize;
        let got = train_test_split(n, size(case), true, case["seed"].as_u64().unwrap()).unwrap();
        check("plain", k, got, case);
    }
}

#[test]
fn stratified_splits_are_sklearns() {
    let all = fixture();
    for (k, case) in cases(&all, "stratified").iter().enumerate() {
        let labels = indices(&case["labels"]);
        let got = stratified_split(&labels, size(case), case["seed"].as_u64().unwrap()).unwrap();
        check("stratified", k, got, case);
    }
}

#[test]
fn group_splits_are_sklearns() {
    let all = fixture();
    for (k, case) in cases(&all, "group").iter().enumerate() {
        let groups: Vec<&str> = case["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
        let got = group_split(&groups, size(case), case["seed"].as_u64().unwrap()).unwrap();
        check("group", k, got, case);
    }
}
