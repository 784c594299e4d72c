//! `bertrs-cli predict` end to end: logits against transformers on the tiny fixtures and on
//! the real MiniLM with the reference head, and bad input failing cleanly.

mod common;

use std::path::Path;
use std::process::Output;

use common::{assert_close, cli, f32s, fixtures, jsonl};
use serde_json::Value;

fn predict(model: &Path, input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

#[test]
fn tiny_models_match_transformers() {
    for problem in ["single_label_classification", "multi_label_classification", "regression"] {
        let dir = fixtures().join("tiny").join(problem);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.jsonl");
        // Batch size 2 mixes short and long rows; max length 16 truncates the last row.
        let o = predict(&dir, &dir.join("predict_input.jsonl"), &out, &["--batch-size", "2", "--max-length", "16"]);
        assert!(o.status.success(), "{problem}: {}", String::from_utf8_lossy(&o.stderr));
        let got = jsonl(&out);
        let want = jsonl(&dir.join("predict_reference.jsonl"));
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(&format!("{problem} row {i}"), &f32s(&g["logits"]), &f32s(&w["logits"]), 1e-5);
        }
        match problem {
            "single_label_classification" => {
                let names = ["negative", "neutral", "positive"];
                for (g, w) in got.iter().zip(&want) {
                    let l = f32s(&w["logits"]);
                    let best = (0..3).max_by(|a, b| l[*a].total_cmp(&l[*b])).unwrap();
                    assert_eq!(g["label"], names[best]);
                    let p = f32s(&g["probs"]);
                    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                }
            }
            // The value is the one output, PyTorch's logit.
            "regression" => {
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert_close(&format!("regression row {i}"), &[g["value"].as_f64().unwrap() as f32], &f32s(&w["logits"])[..1], 1e-5);
                }
            }
            _ => {
                check_multi_label(&got, &want, &[0.0; 3]);
            }
        }
    }
}

/// Multi-label rows against PyTorch's logits shifted by `shift` (a bias added to the head):
/// probabilities are their sigmoids, labels those above 0.5 (HF's threshold).
fn check_multi_label(got: &[serde_json::Value], want: &[serde_json::Value], shift: &[f32; 3]) -> usize {
    let names = ["negative", "neutral", "positive"];
    assert_eq!(got.len(), want.len());
    let mut labels_on = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let logits: Vec<f32> = f32s(&w["logits"]).iter().zip(shift).map(|(l, s)| l + s).collect();
        assert_close(&format!("row {i} logits"), &f32s(&g["logits"]), &logits, 1e-5);
        let probs: Vec<f32> = logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect();
        assert_close(&format!("row {i} probabilities"), &f32s(&g["probs"]), &probs, 1e-5);
        let on: Vec<&str> = (0..3).filter(|&k| probs[k] > 0.5).map(|k| names[k]).collect();
        assert_eq!(g["labels"], serde_json::json!(on), "row {i}: {probs:?}");
        labels_on += on.len();
    }
    labels_on
}

/// The tiny multi-label head's logits are all negative (no label on); with 0.5 added to the
/// `neutral` bias some rows cross the threshold and others do not, so both sides of it are
/// checked against PyTorch's logits (+0.5, exact up to rounding: the bias is added last).
#[test]
fn multi_label_labels_follow_the_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    let src = fixtures().join("tiny/multi_label_classification");
    common::copy_dir(&src, &dir);
    common::edit_f32s(&dir.join("model.safetensors"), "classifier.bias", |i, b| if i == 1 { b + 0.5 } else { b });
    let out = tmp.path().join("out.jsonl");
    let o = predict(&dir, &src.join("predict_input.jsonl"), &out, &["--batch-size", "2", "--max-length", "16"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (got, want) = (jsonl(&out), jsonl(&src.join("predict_reference.jsonl")));
    let on = check_multi_label(&got, &want, &[0.0, 0.5, 0.0]);
    assert!(on > 0 && on < got.len(), "{on} of {} rows with `neutral`: both sides of the threshold", got.len());
}

#[test]
fn csv_input_and_batch_size_do_not_change_results() {
    let dir = fixtures().join("tiny/single_label_classification");
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("in.csv");
    std::fs::write(&csv, "text,text_pair\nthe film was great,\n\"a dull , boring movie\",the ending was slow\n").unwrap();
    let (a, b) = (tmp.path().join("a.jsonl"), tmp.path().join("b.jsonl"));
    assert!(predict(&dir, &csv, &a, &["--batch-size", "1"]).status.success());
    assert!(predict(&dir, &csv, &b, &["--batch-size", "7"]).status.success());
    let (a, b) = (jsonl(&a), jsonl(&b));
    let want = jsonl(&dir.join("predict_reference.jsonl"));
    for i in 0..2 {
        assert_close("batch 1 vs 7", &f32s(&a[i]["logits"]), &f32s(&b[i]["logits"]), 1e-5);
        assert_close("csv vs reference", &f32s(&a[i]["logits"]), &f32s(&want[i]["logits"]), 1e-5);
    }
}

#[test]
fn bad_input_fails_cleanly_and_keeps_old_output() {
    let dir = fixtures().join("tiny/single_label_classification");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "precious\n").unwrap();
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("no_text.jsonl", b"{\"text\": \"ok\"}\n{\"body\": \"x\"}\n", "no_text.jsonl:2"),
        ("bad_utf8.jsonl", b"{\"text\": \"ok\"}\n{\"text\": \"\xff\xfe\"}\n", "bad_utf8.jsonl:2"),
        ("bad.csv", b"text\n\"unbalanced\n", "bad.csv"),
        ("nope.txt", b"hello\n", "unknown format"),
    ];
    for (name, body, needle) in cases {
        let input = tmp.path().join(name);
        std::fs::write(&input, body).unwrap();
        let o = predict(&dir, &input, &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    }
    let o = predict(Path::new("/no/such/model"), &dir.join("predict_input.jsonl"), &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("/no/such/model"), "{err}");
    // A model dir whose config names an unknown activation.
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in ["model.safetensors", "vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(dir.join(f), broken.join(f)).unwrap();
    }
    let cfg = std::fs::read_to_string(dir.join("config.json")).unwrap().replace("\"gelu\"", "\"gelu_wobbly\"");
    std::fs::write(broken.join("config.json"), cfg).unwrap();
    let o = predict(&broken, &dir.join("predict_input.jsonl"), &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("config.json") && err.contains("gelu_wobbly"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
}

/// The real MiniLM with the reference head, exported as an HF classification directory by
/// our own `save_pretrained`, then run through the CLI on the parity sentences.
#[test]
fn minilm_directory_matches_transformers() {
    use bertrs_model::state_dict::StateDict;
    let minilm = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    let device = burn::tensor::Device::flex();
    let config = bertrs_model::BertConfig::from_file(minilm.join("config.json")).unwrap();
    let mut ckpt = StateDict::from_safetensors(minilm.join("model.safetensors")).unwrap();
    ckpt.extend(StateDict::from_safetensors(fixtures().join("minilm/parity_classifier_head.safetensors")).unwrap());
    let model = bertrs_model::BertForSequenceClassification::load(&config, &ckpt, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    model.save_pretrained(&dir).unwrap();
    for f in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
        std::fs::copy(minilm.join(f), dir.join(f)).unwrap();
    }
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("minilm/parity_reference.json")).unwrap()).unwrap();
    let examples = reference["examples"].as_array().unwrap();
    let input = tmp.path().join("in.jsonl");
    let lines: Vec<String> = examples
        .iter()
        .map(|e| serde_json::json!({"text": e["text"], "text_pair": e["text_pair"]}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = tmp.path().join("out.jsonl");
    let o = predict(&dir, &input, &out, &["--batch-size", "5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = jsonl(&out);
    assert_eq!(got.len(), examples.len(), "one output row per input row");
    for (g, e) in got.iter().zip(examples) {
        assert_close(e["text"].as_str().unwrap(), &f32s(&g["logits"]), &f32s(&e["logits"]), 1e-4);
    }
}

/// `--padded` (HF's layout) and the default padding-free run give the same logits; so do
/// glibc's default malloc (`BERT_MALLOC=system`) and the tuned one `bertrs-cli` re-executes
/// itself with, whose run must keep the arguments and the exit status.
#[test]
fn padded_padding_free_and_malloc_settings_agree() {
    let dir = fixtures().join("tiny").join("single_label_classification");
    let tmp = tempfile::tempdir().unwrap();
    let input = dir.join("predict_input.jsonl");
    let run = |name: &str, extra: &[&str], system_malloc: bool| {
        let out = tmp.path().join(name);
        let mut args = vec!["predict", "--model", dir.to_str().unwrap(), "--input", input.to_str().unwrap()];
        args.extend(["--output", out.to_str().unwrap(), "--batch-size", "3"]);
        args.extend_from_slice(extra);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bertrs-cli"));
        cmd.args(&args);
        if system_malloc {
            cmd.env("BERT_MALLOC", "system");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        jsonl(&out)
    };
    let free = run("free.jsonl", &[], false);
    let padded = run("padded.jsonl", &["--padded"], false);
    let system = run("system.jsonl", &[], true);
    assert!(free.len() > 3, "the input must make several batches");
    assert_eq!(free.len(), padded.len());
    assert_eq!(free.len(), system.len());
    for (i, ((f, p), s)) in free.iter().zip(&padded).zip(&system).enumerate() {
        assert_close(&format!("row {i}: padding-free vs padded"), &f32s(&f["logits"]), &f32s(&p["logits"]), 1e-5);
        assert_eq!(f["logits"], s["logits"], "row {i}: the allocator changed a result");
    }
    // A failure keeps its status and message through the re-execution.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bertrs-cli"))
        .args(["predict", "--model", dir.to_str().unwrap(), "--input", "/nonexistent.jsonl", "--output", "/tmp/x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent.jsonl"), "{}", String::from_utf8_lossy(&o.stderr));
}
