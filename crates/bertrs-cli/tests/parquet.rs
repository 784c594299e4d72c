//! Parquet end to end (issue 16): `train` and `eval` read Parquet splits as `datasets` writes
//! them (a ClassLabel's names become the head's labels, in their order), and `predict` writes
//! Parquet with the same labels, scores and logits as its JSON Lines output, carrying the
//! columns asked for.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, RecordBatch};
use common::{cli, f32s, jsonl, write_split};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn run_ok(args: &[&str]) -> String {
    let o = cli(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{args:?}: {err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    b.build().unwrap().map(Result::unwrap).collect()
}

#[test]
fn train_eval_and_predict_on_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = common::fixtures().join("tiny/single_label_classification");
    let (train, val): (PathBuf, PathBuf) = (dir.join("train.parquet"), dir.join("validation.parquet"));
    write_split(&train, 0..40);
    write_split(&val, 40..52);
    let out = dir.join("run");
    run_ok(&[
        "train", "--model", s(&model), "--train-file", s(&train), "--validation-file", s(&val), "--test-file", s(&val),
        "--output-dir", s(&out), "--max-steps", "4", "--batch-size", "8", "--max-length", "16", "--save-strategy", "no",
        "--ignore-mismatched-sizes",
    ]);
    // The ClassLabel's order, not the sorted one.
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id2label"], serde_json::json!({"0": "pos", "1": "neg"}));
    let err = run_ok(&["eval", "--model", s(&out), "--file", s(&val), "--max-length", "16"]);
    assert!(err.contains("accuracy"), "{err}");

    // Parquet out, next to JSON Lines out: the same predictions, and the kept ids.
    let (pq, js) = (dir.join("pred.parquet"), dir.join("pred.jsonl"));
    for o in [&pq, &js] {
        run_ok(&["predict", "--model", s(&out), "--input", s(&val), "--output", s(o), "--keep-columns", "id", "--window-rows", "5", "--max-length", "16"]);
    }
    let want = jsonl(&js);
    assert_eq!(want.len(), 12);
    let batches = read_parquet(&pq);
    // One row group a window: 5 + 5 + 2 rows.
    let groups = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&pq).unwrap()).unwrap().metadata().num_row_groups();
    assert_eq!(groups, 3);
    let mut i = 0;
    for b in &batches {
        let (ids, labels, scores) = (b.column_by_name("id").unwrap().as_string::<i32>(), b.column_by_name("label").unwrap().as_string::<i32>(), b.column_by_name("score").unwrap().as_primitive::<Float32Type>());
        let (logits, probs) = (b.column_by_name("logits").unwrap().as_list::<i32>(), b.column_by_name("probs").unwrap().as_list::<i32>());
        for r in 0..b.num_rows() {
            let w = &want[i];
            assert_eq!(ids.value(r), (40 + i).to_string(), "row {i}");
            assert_eq!(w["id"], serde_json::json!(40 + i), "row {i}: JSON keeps the number");
            assert_eq!(labels.value(r), w["label"].as_str().unwrap(), "row {i}");
            assert_eq!(scores.value(r), w["score"].as_f64().unwrap() as f32, "row {i}");
            let floats = |a: ArrayRef| a.as_primitive::<Float32Type>().values().to_vec();
            assert_eq!(floats(logits.value(r)), f32s(&w["logits"]), "row {i}");
            assert_eq!(floats(probs.value(r)), f32s(&w["probs"]), "row {i}");
            i += 1;
        }
    }
    assert_eq!(i, 12);

    // A kept column that is not there, or that is an output field, fails before any work.
    for (keep, needle) in [("movie", "no `movie` kept column"), ("label", "`label` is an output field")] {
        let bad = dir.join("bad.parquet");
        let o = cli(&["predict", "--model", s(&out), "--input", s(&val), "--output", s(&bad), "--keep-columns", keep]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(needle), "{keep}: {e}");
        assert!(!bad.exists());
    }
}
