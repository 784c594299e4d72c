//! The HF round trip, both ways: our export loaded by Python `transformers` gives the same
//! logits as we do, and a model fine-tuned in Python and saved with `save_pretrained` gives
//! the same logits in `bertrs-cli predict` as in transformers.
//! Needs the reference harness's Python (torch 2.9.0, transformers 4.57.6) in
//! `$BERT_REF_PYTHON`; `cargo xtask test` (and so CI) runs these ignored tests when it is set.

mod common;

use std::path::Path;
use std::process::Command;

use common::{f32s, fixtures, jsonl};

use bertrs_model::state_dict::StateDict;
use bertrs_model::{BertConfig, BertForSequenceClassification};

/// Runs `bertrs-cli predict` and the Python script on the same export and input; compares.
fn compare(dir: &Path, input: &Path, max_length: usize, tol: f32) {
    let python = python();
    let tmp = tempfile::tempdir().unwrap();
    let (ours, theirs) = (tmp.path().join("ours.jsonl"), tmp.path().join("theirs.jsonl"));
    let o = Command::new(env!("CARGO_BIN_EXE_bertrs-cli"))
        .args(["predict", "--model"]).arg(dir)
        .arg("--input").arg(input).arg("--output").arg(&ours)
        .args(["--max-length", &max_length.to_string()])
        .output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(python)
        .arg(fixtures().join("../scripts/hf_logits.py"))
        .arg(dir).arg(input).arg(&theirs).arg(max_length.to_string())
        .output().unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    let (ours, theirs) = (jsonl(&ours), jsonl(&theirs));
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let (a, b) = (f32s(&a["logits"]), f32s(&b["logits"]));
        assert_eq!(a.len(), b.len(), "row {i}: logits");
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= tol, "row {i}: ours {a:?}, transformers {b:?}");
        }
    }
}

fn python() -> String {
    std::env::var("BERT_REF_PYTHON").expect("BERT_REF_PYTHON: a Python with the pinned torch + transformers")
}

fn copy_tokenizer(from: &Path, to: &Path) {
    for f in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
        if from.join(f).is_file() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

#[test]
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test runs it when set)"]
fn tiny_export_loads_in_transformers() {
    let src = fixtures().join("tiny/single_label_classification");
    let device = burn::tensor::Device::flex();
    let model = BertForSequenceClassification::from_pretrained(&src, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    model.save_pretrained(tmp.path()).unwrap();
    copy_tokenizer(&src, tmp.path());
    compare(tmp.path(), &src.join("predict_input.jsonl"), 16, 1e-5);
    // Labels survive: transformers reads our id2label.
    let cfg = BertConfig::from_file(tmp.path().join("config.json")).unwrap();
    assert_eq!(cfg.labels(), ["negative", "neutral", "positive"]);
}

#[test]
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test runs it when set)"]
fn minilm_export_loads_in_transformers() {
    let minilm = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    let device = burn::tensor::Device::flex();
    let config = BertConfig::from_file(minilm.join("config.json")).unwrap();
    let mut ckpt = StateDict::from_safetensors(minilm.join("model.safetensors")).unwrap();
    ckpt.extend(StateDict::from_safetensors(fixtures().join("minilm/parity_classifier_head.safetensors")).unwrap());
    let model = BertForSequenceClassification::load(&config, &ckpt, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    model.save_pretrained(tmp.path()).unwrap();
    copy_tokenizer(&minilm, tmp.path());
    let input = tmp.path().join("in.jsonl");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reviews.jsonl"), &input).unwrap();
    compare(tmp.path(), &input, 128, 1e-4);
}

#[test]
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test runs it when set)"]
fn model_fine_tuned_in_python_predicts_the_same_here() {
    let src = fixtures().join("tiny/single_label_classification");
    let input = src.join("predict_input.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tuned");
    let o = Command::new(python())
        .arg(fixtures().join("../scripts/hf_finetune_tiny.py"))
        .arg(&src).arg(&input).arg(&dir)
        .output().unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    // Really changed by training, and the new label names are the ones we will print.
    let tuned = StateDict::from_safetensors(dir.join("model.safetensors")).unwrap();
    let orig = StateDict::from_safetensors(src.join("model.safetensors")).unwrap();
    let key = "encoder.layer.0.attention.self.query.weight";
    assert_ne!(tuned.tensor(key).unwrap().1, orig.tensor(key).unwrap().1, "{key} unchanged by fine-tuning");
    let cfg = BertConfig::from_file(dir.join("config.json")).unwrap();
    assert_eq!(cfg.labels(), ["bad", "good"]);
    compare(&dir, &input, 16, 1e-5);
}

/// Parquet with the Python data stack: a split written by `datasets` (its ClassLabel names
/// in the file's metadata) trains here with those names as the labels, in their order, and
/// our Parquet predictions read in pyarrow hold what our JSON Lines output holds.
#[test]
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test runs it when set)"]
fn parquet_from_datasets_trains_and_our_parquet_reads_in_pyarrow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let script = fixtures().join("../scripts/parquet_roundtrip.py");
    let o = Command::new(python()).arg(&script).arg("write").arg(dir).output().unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    let model = fixtures().join("tiny/single_label_classification");
    let out = dir.join("run");
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_bertrs-cli")).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (train, val) = (s(&dir.join("train.parquet")), s(&dir.join("validation.parquet")));
    cli(&["train", "--model", &s(&model), "--train-file", &train, "--validation-file", &val, "--output-dir", &s(&out), "--max-steps", "4", "--batch-size", "8", "--max-length", "16", "--save-strategy", "no", "--ignore-mismatched-sizes"]);
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id2label"], serde_json::json!({"0": "pos", "1": "neg"}), "datasets' ClassLabel order");

    let (pq, js, read) = (dir.join("pred.parquet"), dir.join("pred.jsonl"), dir.join("read.jsonl"));
    for o in [&pq, &js] {
        cli(&["predict", "--model", &s(&out), "--input", &val, "--output", &s(o), "--keep-columns", "id", "--max-length", "16"]);
    }
    let o = Command::new(python()).arg(&script).arg("read").arg(&pq).arg(&read).output().unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    let (theirs, ours) = (jsonl(&read), jsonl(&js));
    assert_eq!(theirs.len(), 12);
    for (i, (t, o)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(t["id"], serde_json::json!((40 + i).to_string()), "row {i}: the kept id, as a string");
        assert_eq!(t["label"], o["label"], "row {i}");
        assert_eq!(t["score"].as_f64().unwrap() as f32, o["score"].as_f64().unwrap() as f32, "row {i}");
        assert_eq!(f32s(&t["logits"]), f32s(&o["logits"]), "row {i}");
        assert_eq!(f32s(&t["probs"]), f32s(&o["probs"]), "row {i}");
    }
}
