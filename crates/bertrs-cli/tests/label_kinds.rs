//! `bertrs-cli train`, `eval` and `predict` on multi-label and regression files (the problem
//! type inferred from the labels as HF's scripts do), on the tiny fixture model; and
//! `--ignore-mismatched-sizes` for a head trained for another number of labels.

mod common;

use std::path::Path;

use common::{cli, jsonl};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

const WORDS: [&str; 12] = ["good", "bad", "funny", "sad", "long", "short", "film", "plot", "acting", "music", "boring", "fun"];

/// A text of tiny-vocabulary words, different for each `i`.
fn text(i: usize) -> String {
    (0..4).map(|k| WORDS[(i * 7 + k * 5 + i / 3) % WORDS.len()]).collect::<Vec<_>>().join(" ")
}

fn run_ok(args: &[&str]) -> String {
    let o = cli(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{args:?}: {err}");
    err
}

#[test]
fn multi_label_files_train_evaluate_and_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::fixtures().join("tiny/single_label_classification");
    let tags = ["funny", "long", "sad"];
    let label_set = |i: usize| -> Vec<&str> { tags.iter().enumerate().filter(|(k, _)| (i >> k) & 1 == 1).map(|(_, t)| *t).collect() };
    let (mut train_jsonl, mut train_csv, mut val) = (String::new(), String::from("text,tags\n"), String::new());
    for i in 0..48 {
        let row = serde_json::json!({"text": text(i), "label": label_set(i % 8)});
        if i < 36 {
            train_jsonl.push_str(&format!("{row}\n"));
            train_csv.push_str(&format!("{},{}\n", text(i), label_set(i % 8).join("|")));
        } else {
            val.push_str(&format!("{row}\n"));
        }
    }
    let p = |name: &str, body: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (train, train_csv, val) = (p("train.jsonl", &train_jsonl), p("train.csv", &train_csv), p("val.jsonl", &val));
    let out = tmp.path().join("run");
    let common_args = ["--model", model.to_str().unwrap(), "--max-steps", "6", "--batch-size", "8", "--max-length", "16", "--learning-rate", "1e-3", "--save-strategy", "no", "--logging-steps", "1", "--eval-strategy", "steps", "--eval-steps", "3"];
    // A test file with a label the training data lacks fails before any training.
    let bad_test = p("bad_test.jsonl", "{\"text\": \"good film\", \"label\": [\"funny\"]}\n{\"text\": \"bad film\", \"label\": [\"scary\"]}\n");
    let mut args = vec!["train", "--train-file", &train, "--validation-file", &val, "--test-file", &bad_test, "--output-dir", out.to_str().unwrap()];
    args.extend(common_args);
    let o = cli(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("bad_test.jsonl:2: label `scary` is not among the labels"), "{err}");
    assert!(!out.exists());
    let mut args = vec!["train", "--train-file", &train, "--validation-file", &val, "--test-file", &val, "--output-dir", out.to_str().unwrap()];
    args.extend(common_args);
    let err = run_ok(&args);
    assert!(err.contains("multi_label_classification"), "{err}");
    let cfg = json(&out.join("config.json"));
    assert_eq!(cfg["problem_type"], "multi_label_classification");
    assert_eq!(cfg["id2label"], serde_json::json!({"0": "funny", "1": "long", "2": "sad"}));
    let results = json(&out.join("eval_results.json"));
    assert!(results["eval_subset_accuracy"].is_f64() && results["eval_f1_micro"].is_f64(), "{results}");
    // The test file (here the validation file again) is evaluated with the final model.
    let test = json(&out.join("test_results.json"));
    assert_eq!((&test["test_subset_accuracy"], &test["test_samples"]), (&results["eval_subset_accuracy"], &serde_json::json!(12)));
    assert_eq!(json(&out.join("all_results.json"))["test_f1_micro"], results["eval_f1_micro"]);
    let history = json(&out.join("trainer_state.json"))["log_history"].as_array().unwrap().clone();
    assert_eq!(history.iter().filter(|e| e.get("eval_subset_accuracy").is_some()).count(), 2, "evaluations at steps 3 and 6");
    let losses: Vec<f64> = history.iter().filter_map(|e| e["loss"].as_f64()).collect();
    assert!(losses[5] < losses[0], "BCE loss did not go down: {losses:?}");

    // `eval` on the saved model gives the training run's final evaluation.
    let e_out = tmp.path().join("eval.json");
    run_ok(&["eval", "--model", out.to_str().unwrap(), "--file", &val, "--max-length", "16", "--output", e_out.to_str().unwrap()]);
    let e = json(&e_out);
    assert_eq!(e["eval_subset_accuracy"], results["eval_subset_accuracy"]);
    assert!((e["eval_loss"].as_f64().unwrap() - results["eval_loss"].as_f64().unwrap()).abs() < 1e-5, "{e} vs {results}");
    // `predict` names the labels above 0.5.
    let preds = tmp.path().join("preds.jsonl");
    run_ok(&["predict", "--model", out.to_str().unwrap(), "--input", &val, "--output", preds.to_str().unwrap(), "--max-length", "16"]);
    let rows = jsonl(&preds);
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["labels"].is_array() && r["probs"].as_array().unwrap().len() == 3));
    // The evaluation's numbers are those of these predictions against the file's labels
    // (subset accuracy: every label right; micro F1 over all label decisions).
    let truth: Vec<Vec<String>> = std::fs::read_to_string(&val).unwrap().lines().map(|l| {
        let v: Value = serde_json::from_str(l).unwrap();
        v["label"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
    }).collect();
    assert_eq!(truth.len(), rows.len());
    let (mut exact, mut tp, mut fp, mut fneg) = (0, 0, 0, 0);
    for (r, want) in rows.iter().zip(&truth) {
        let got: Vec<String> = r["labels"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
        exact += usize::from(tags.iter().all(|t| got.iter().any(|g| g == t) == want.iter().any(|w| w == t)));
        tp += got.iter().filter(|g| want.contains(g)).count();
        fp += got.iter().filter(|g| !want.contains(g)).count();
        fneg += want.iter().filter(|w| !got.contains(w)).count();
    }
    let f1 = if tp == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fneg) as f64 };
    assert!((results["eval_subset_accuracy"].as_f64().unwrap() - exact as f64 / 12.0).abs() < 1e-9, "{results} vs {exact} of 12 exact");
    assert!((results["eval_f1_micro"].as_f64().unwrap() - f1).abs() < 1e-9, "{results} vs micro F1 {f1}");

    // The same data as CSV with delimited label cells trains to the same model.
    let out_csv = tmp.path().join("run_csv");
    let mut args = vec!["train", "--train-file", &train_csv, "--label-column", "tags", "--label-delimiter", "|", "--validation-file", &val, "--output-dir", out_csv.to_str().unwrap()];
    args.extend(common_args);
    let o = cli(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    // The validation file has `label`, not `tags`: named in the error.
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("val.jsonl") && err.contains("`tags`"), "{err}");
    let val_csv = p("val.csv", &std::fs::read_to_string(tmp.path().join("val.jsonl")).unwrap().lines().map(|l| {
        let v: Value = serde_json::from_str(l).unwrap();
        let tags: Vec<&str> = v["label"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        format!("{},{}\n", v["text"].as_str().unwrap(), tags.join("|"))
    }).fold(String::from("text,tags\n"), |a, l| a + &l));
    let mut args = vec!["train", "--train-file", &train_csv, "--label-column", "tags", "--label-delimiter", "|", "--validation-file", &val_csv, "--output-dir", out_csv.to_str().unwrap()];
    args.extend(common_args);
    run_ok(&args);
    assert_eq!(std::fs::read(out_csv.join("model.safetensors")).unwrap(), std::fs::read(out.join("model.safetensors")).unwrap());
    assert_eq!(json(&out_csv.join("eval_results.json"))["eval_subset_accuracy"], results["eval_subset_accuracy"]);
}

#[test]
fn regression_needs_a_new_head_and_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::fixtures().join("tiny/single_label_classification");
    let (mut train, mut val) = (String::from("text,score\n"), String::from("text,score\n"));
    for i in 0..40 {
        // A score the words determine: how many of them are `good`/`fun`.
        let t = text(i);
        let score = t.split(' ').filter(|w| *w == "good" || *w == "fun").count() as f64 + 0.5;
        let row = format!("{t},{score:.1}\n");
        if i < 32 { train.push_str(&row) } else { val.push_str(&row) }
    }
    let (train_p, val_p) = (tmp.path().join("train.csv"), tmp.path().join("val.csv"));
    std::fs::write(&train_p, train).unwrap();
    std::fs::write(&val_p, val).unwrap();
    let out = tmp.path().join("run");
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = ["train", "--model", model.to_str().unwrap(), "--train-file", train_p.to_str().unwrap(), "--validation-file", val_p.to_str().unwrap(), "--label-column", "score", "--output-dir", out.to_str().unwrap(), "--max-steps", "8", "--batch-size", "8", "--max-length", "16", "--learning-rate", "1e-3", "--save-strategy", "no", "--logging-steps", "1"].map(String::from).to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    // The fixture's head has 3 outputs; regression needs 1: refused as HF refuses it.
    let a = args(&[]);
    let o = cli(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("classifier.weight") && err.contains("[3, 32]") && err.contains("[1, 32]") && err.contains("--ignore-mismatched-sizes"), "{err}");
    assert!(!out.exists(), "nothing written on error");

    let a = args(&["--ignore-mismatched-sizes"]);
    let err = run_ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("regression"), "{err}");
    let cfg = json(&out.join("config.json"));
    assert_eq!((cfg["problem_type"].as_str(), cfg["id2label"].as_object().map(|m| m.len())), (Some("regression"), Some(1)));
    let results = json(&out.join("eval_results.json"));
    let mse = results["eval_mse"].as_f64().unwrap();
    assert!(results["eval_pearson"].is_f64(), "{results}");
    // The MSE is that of `predict`'s values against the file's scores.
    let preds = tmp.path().join("preds.jsonl");
    run_ok(&["predict", "--model", out.to_str().unwrap(), "--input", val_p.to_str().unwrap(), "--output", preds.to_str().unwrap(), "--max-length", "16"]);
    let values: Vec<f64> = jsonl(&preds).iter().map(|r| r["value"].as_f64().unwrap()).collect();
    let scores: Vec<f64> = std::fs::read_to_string(&val_p).unwrap().lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!((values.len(), scores.len()), (8, 8));
    let want = values.iter().zip(&scores).map(|(v, s)| (v - s) * (v - s)).sum::<f64>() / 8.0;
    assert!((mse - want).abs() <= 1e-5 * want.max(1.0), "eval_mse {mse}, from predict's values {want}");
    let losses: Vec<f64> = json(&out.join("trainer_state.json"))["log_history"].as_array().unwrap().iter().filter_map(|e| e["loss"].as_f64()).collect();
    assert!(losses[7] < losses[0], "MSE did not go down: {losses:?}");
    let e_out = tmp.path().join("eval.json");
    run_ok(&["eval", "--model", out.to_str().unwrap(), "--file", val_p.to_str().unwrap(), "--label-column", "score", "--max-length", "16", "--output", e_out.to_str().unwrap()]);
    assert!((json(&e_out)["eval_mse"].as_f64().unwrap() - mse).abs() < 1e-6);
    // Integer scores are classes unless the problem type says otherwise.
    let ints = tmp.path().join("ints.csv");
    std::fs::write(&ints, "text,label\ngood film,1\nbad film,0\nfun plot,2\n").unwrap();
    let out2 = tmp.path().join("run2");
    run_ok(&["train", "--model", model.to_str().unwrap(), "--train-file", ints.to_str().unwrap(), "--problem-type", "regression", "--ignore-mismatched-sizes", "--output-dir", out2.to_str().unwrap(), "--max-steps", "1", "--max-length", "16", "--save-strategy", "no"]);
    assert_eq!(json(&out2.join("run_config.json"))["problem_type"], "regression");
    // A regression label that is not a number names its row.
    std::fs::write(&ints, "text,label\ngood film,1.5\nbad film,low\n").unwrap();
    let o = cli(&["train", "--model", model.to_str().unwrap(), "--train-file", ints.to_str().unwrap(), "--problem-type", "regression", "--max-length", "16", "--output-dir", tmp.path().join("x").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ints.csv:3: label `low` is not a number"));
}
