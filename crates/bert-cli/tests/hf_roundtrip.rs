//! Our HF export loaded by Python `transformers` gives the same logits as we do.
//! Needs the reference harness's Python (torch 2.9.0, transformers 4.57.6) in
//! `$BERT_REF_PYTHON`; `cargo xtask test --python` (and CI) run these ignored tests.
//! The other direction (directories written by `save_pretrained` in Python, read here) is
//! what every fixture under `fixtures/tiny/` already is.

mod common;

use std::path::Path;
use std::process::Command;

use common::{f32s, fixtures, jsonl};

use bert_model::checkpoint::Checkpoint;
use bert_model::{BertConfig, BertForSequenceClassification};

/// Runs `bert-cli predict` and the Python script on the same export and input; compares.
fn compare(dir: &Path, input: &Path, max_length: usize, tol: f32) {
    let python = std::env::var("BERT_REF_PYTHON").expect("BERT_REF_PYTHON: a Python with the pinned torch + transformers");
    let tmp = tempfile::tempdir().unwrap();
    let (ours, theirs) = (tmp.path().join("ours.jsonl"), tmp.path().join("theirs.jsonl"));
    let o = Command::new(env!("CARGO_BIN_EXE_bert-cli"))
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
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= tol, "row {i}: ours {a:?}, transformers {b:?}");
        }
    }
}

fn copy_tokenizer(from: &Path, to: &Path) {
    for f in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
        if from.join(f).is_file() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

#[test]
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test --python)"]
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
#[ignore = "needs BERT_REF_PYTHON (cargo xtask test --python)"]
fn minilm_export_loads_in_transformers() {
    let minilm = bert_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    let device = burn::tensor::Device::flex();
    let config = BertConfig::from_file(minilm.join("config.json")).unwrap();
    let mut ckpt = Checkpoint::from_safetensors(minilm.join("model.safetensors")).unwrap();
    ckpt.extend(Checkpoint::from_safetensors(fixtures().join("minilm/parity_classifier_head.safetensors")).unwrap());
    let model = BertForSequenceClassification::load(&config, &ckpt, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    model.save_pretrained(tmp.path()).unwrap();
    copy_tokenizer(&minilm, tmp.path());
    let input = tmp.path().join("in.jsonl");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reviews.jsonl"), &input).unwrap();
    compare(tmp.path(), &input, 128, 1e-4);
}
