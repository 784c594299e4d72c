//! Checkpoints and `--resume` for real: a `bertrs-cli train` process is killed with SIGKILL
//! mid-epoch, resumed with `--resume`, and ends with the same final weights, bit for bit, as
//! an uninterrupted run with the same seed. Also `eval` on the result, a `--config` file, and
//! the output-directory guard.

mod common;

use std::path::{Path, PathBuf};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use common::{cli, fixtures};
use serde_json::Value;

/// A copy of the tiny fixture model with dropout switched on, so that resuming must also
/// reproduce the dropout masks.
fn tiny_with_dropout(root: &Path) -> PathBuf {
    let src = fixtures().join("tiny/single_label_classification");
    let dir = root.join("model");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    cfg["hidden_dropout_prob"] = 0.1.into();
    cfg["attention_probs_dropout_prob"] = 0.1.into();
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    dir
}

/// 1,200 short labelled sentences over the tiny model's three labels.
fn data(root: &Path) -> PathBuf {
    let words = ["good", "bad", "fine", "awful", "great", "dull", "film", "plot", "cast", "ending"];
    let labels = ["negative", "neutral", "positive"];
    let mut body = String::from("text,label\n");
    for i in 0..1200usize {
        let text: Vec<&str> = (0..3 + i % 5).map(|k| words[(i * 7 + k * 3 + k * k) % words.len()]).collect();
        body.push_str(&format!("{},{}\n", text.join(" "), labels[(i * 7) % 3]));
    }
    let path = root.join("train.csv");
    std::fs::write(&path, body).unwrap();
    path
}

fn train_args(model: &Path, train: &Path, out: &Path) -> Vec<String> {
    [
        "train", "--model", model.to_str().unwrap(), "--train-file", train.to_str().unwrap(),
        "--output-dir", out.to_str().unwrap(), "--epochs", "2", "--batch-size", "4", "--max-length", "16",
        "--learning-rate", "1e-3", "--save-steps", "10", "--save-total-limit", "2", "--logging-steps", "10",
        "--eval-strategy", "no", "--gradient-accumulation-steps", "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn sigkill_then_resume_ends_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, train) = (tiny_with_dropout(tmp.path()), data(tmp.path()));
    let (full, killed) = (tmp.path().join("full"), tmp.path().join("killed"));

    let args = train_args(&model, &train, &full);
    let o = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The same run, killed by SIGKILL after its 25th optimizer step (checkpoint-20 on disk,
    // mid-epoch 0 of 2: 150 steps an epoch), through bertrs-fs's kill switch.
    let o = Command::new(env!("CARGO_BIN_EXE_bertrs-cli")).args(train_args(&model, &train, &killed)).env("BERT_KILL_AT", "optimizer step:25").output().unwrap();
    assert_eq!(o.status.signal(), Some(9), "not killed: {}", String::from_utf8_lossy(&o.stderr));
    assert!(!killed.join("model.safetensors").exists(), "the run finished before the kill");
    let steps: Vec<usize> = bertrs_train::checkpoint::list(&killed).iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [10, 20], "the checkpoints before step 25");
    // Whatever step it reached, no partial checkpoint is taken for a complete one.
    for (_, dir) in bertrs_train::checkpoint::list(&killed) {
        assert!(dir.join("model.bpk").is_file() && dir.join("optimizer.bpk").is_file());
    }

    // Without --resume the guard refuses to touch the directory.
    let o = cli(&train_args(&model, &train, &killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));

    let mut resume = train_args(&model, &train, &killed);
    resume.push("--resume".into());
    let o = cli(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("resuming from"), "{err}");

    assert!(read(&full.join("model.safetensors")) == read(&killed.join("model.safetensors")), "final weights differ");
    let history = |dir: &Path| -> Value {
        let state: Value = serde_json::from_slice(&read(&dir.join("trainer_state.json"))).unwrap();
        state["log_history"].clone()
    };
    assert_eq!(history(&full), history(&killed));
    assert_eq!(history(&full).as_array().unwrap().len(), 30);
    // save_total_limit 2: the last two checkpoints (the final step is always saved).
    let kept: Vec<usize> = bertrs_train::checkpoint::list(&full).iter().map(|(s, _)| *s).collect();
    assert_eq!(kept, [290, 300]);
    // Each checkpoint is itself a model directory `predict`/`eval` (and transformers) load.
    let ckpt = full.join("checkpoint-300");
    let results = tmp.path().join("eval.json");
    let o = cli(&["eval", "--model", ckpt.to_str().unwrap(), "--file", train.to_str().unwrap(), "--max-length", "16", "--output", results.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&read(&results)).unwrap();
    assert_eq!(r["eval_samples"], 1200);
    let acc = r["eval_accuracy"].as_f64().unwrap();
    let confusion: usize = r["eval_confusion_matrix"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap()).map(|v| v.as_u64().unwrap() as usize).sum();
    assert_eq!(confusion, 1200);
    // Accuracy is the confusion matrix's diagonal.
    let diagonal: u64 = r["eval_confusion_matrix"].as_array().unwrap().iter().enumerate().map(|(i, row)| row[i].as_u64().unwrap()).sum();
    assert!((acc - diagonal as f64 / 1200.0).abs() < 1e-12, "accuracy {acc}, diagonal {diagonal} of 1200");
}

#[test]
fn config_file_sets_options_and_eval_rejects_unknown_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixtures().join("tiny/single_label_classification");
    let train = tmp.path().join("train.csv");
    std::fs::write(&train, "text,label\ngood film,positive\nbad film,negative\nok film,neutral\nfine,positive\n").unwrap();
    let out = tmp.path().join("out");
    let config = tmp.path().join("run.toml");
    std::fs::write(&config, format!("model = {:?}\ntrain_file = {:?}\nmax_steps = 3\nbatch-size = 2\nmax_length = 16\nsave_strategy = \"no\"\nlogging_steps = 1\n", model.to_str().unwrap(), train.to_str().unwrap())).unwrap();
    let o = cli(&["train", "--config", config.to_str().unwrap(), "--output-dir", out.to_str().unwrap(), "--max-steps", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run: Value = serde_json::from_slice(&read(&out.join("run_config.json"))).unwrap();
    assert_eq!(run["training_args"]["max_steps"], 2, "the flag overrides the file");
    assert_eq!(run["training_args"]["per_device_train_batch_size"], 2);
    assert!(bertrs_train::checkpoint::list(&out).is_empty(), "save_strategy no");

    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "text,label\ngood,positive\nmeh,so-so\n").unwrap();
    let o = cli(&["eval", "--model", out.to_str().unwrap(), "--file", bad.to_str().unwrap(), "--max-length", "16"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:3: label `so-so`"), "{err}");

    let typo = tmp.path().join("typo.toml");
    std::fs::write(&typo, "learning_rat = 1e-3\n").unwrap();
    let o = cli(&["train", "--config", typo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("typo.toml: `learning_rat` is not a `bertrs-cli train` option"));
}
