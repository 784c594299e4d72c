//! README's training flags, each checked through `bertrs-cli train` (the library side has its
//! own tests in bertrs-train): epoch save/eval strategies, `--warmup-ratio`,
//! `--load-best-model-at-end` with `--metric-for-best-model`, `--early-stopping-patience`,
//! `--resume DIR`, and `--backend`.

mod common;

use std::path::{Path, PathBuf};

use common::{cli, fixtures};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// 24 training and 12 validation rows over the tiny model's three labels.
fn data(dir: &Path) -> (String, String) {
    let words = ["good", "bad", "fine", "awful", "great", "dull", "film", "plot", "cast", "ending"];
    let labels = ["negative", "neutral", "positive"];
    let (mut train, mut val) = (String::from("text,label\n"), String::from("text,label\n"));
    for i in 0..36usize {
        let text: Vec<&str> = (0..3 + i % 4).map(|k| words[(i * 7 + k * 3) % words.len()]).collect();
        let row = format!("{},{}\n", text.join(" "), labels[i % 3]);
        if i < 24 { train.push_str(&row) } else { val.push_str(&row) }
    }
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    (write("train.csv", &train), write("val.csv", &val))
}

fn train(out: &Path, train: &str, val: &str, extra: &[&str]) -> std::process::Output {
    train_at(out, train, val, "1e-3", extra)
}

fn train_at(out: &Path, train: &str, val: &str, learning_rate: &str, extra: &[&str]) -> std::process::Output {
    let model = fixtures().join("tiny/single_label_classification");
    let mut args = vec![
        "train", "--model", model.to_str().unwrap(), "--train-file", train, "--validation-file", val, "--output-dir",
        out.to_str().unwrap(), "--batch-size", "4", "--max-length", "16", "--learning-rate", learning_rate, "--logging-steps", "1",
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

fn ok(o: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    err
}

fn history(out: &Path) -> Vec<Value> {
    json(&out.join("trainer_state.json"))["log_history"].as_array().unwrap().clone()
}

#[test]
fn epoch_strategies_warmup_and_the_best_model_follow_the_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, val) = data(tmp.path());
    let out = tmp.path().join("run");
    // 3 epochs of 6 steps; warmup ceil(0.5 · 18) = 9 steps, as HF's get_warmup_steps.
    ok(train(&out, &tr, &val, &[
        "--epochs", "3", "--eval-strategy", "epoch", "--save-strategy", "epoch", "--warmup-ratio", "0.5",
        "--load-best-model-at-end", "--metric-for-best-model", "eval_loss",
    ]));
    let steps: Vec<usize> = bertrs_train::checkpoint::list(&out).iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [6, 12, 18], "a checkpoint at each epoch's end");
    let h = history(&out);
    let evals: Vec<(u64, f64)> = h.iter().filter_map(|e| Some((e["step"].as_u64()?, e["eval_loss"].as_f64()?))).collect();
    assert_eq!(evals.iter().map(|e| e.0).collect::<Vec<_>>(), [6, 12, 18], "an evaluation at each epoch's end");
    // The learning rate logged after step s is 1e-3 · λ(s): s/9 while warming up, then
    // linear decay (18 − s)/9 (HF's get_linear_schedule_with_warmup).
    let lrs: Vec<(u64, f64)> = h.iter().filter_map(|e| Some((e["step"].as_u64()?, e["learning_rate"].as_f64()?))).collect();
    assert_eq!(lrs.len(), 18);
    for (s, lr) in lrs {
        let lambda = if s < 9 { s as f64 / 9.0 } else { (18 - s) as f64 / 9.0 };
        assert!((lr - 1e-3 * lambda).abs() < 1e-12, "step {s}: learning rate {lr}, expected {}", 1e-3 * lambda);
    }
    // The best checkpoint by eval_loss (lower is better) is recorded and is the final model.
    let best = evals.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    let state = json(&out.join("trainer_state.json"));
    assert_eq!(state["best_metric"].as_f64(), Some(best.1));
    let best_dir = PathBuf::from(state["best_model_checkpoint"].as_str().unwrap());
    assert!(best_dir.ends_with(format!("checkpoint-{}", best.0)), "{}", best_dir.display());
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(read(out.join("model.safetensors")) == read(out.join(format!("checkpoint-{}/model.safetensors", best.0))), "the final model is the best checkpoint's");
    // eval_results.json holds the best model's evaluation.
    assert!((json(&out.join("eval_results.json"))["eval_loss"].as_f64().unwrap() - best.1).abs() < 1e-6);
}

#[test]
fn early_stopping_stops_after_patience_evaluations_without_improvement() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, val) = data(tmp.path());
    // At 1e-4 the evaluation loss goes down at every evaluation, by less than 0.05 (1.225,
    // 1.203, 1.194, … on flex).
    let run = |name: &str, threshold: &str| -> (u64, Vec<f64>) {
        let out = tmp.path().join(name);
        ok(train_at(&out, &tr, &val, "1e-4", &[
            "--max-steps", "20", "--eval-strategy", "steps", "--eval-steps", "2", "--save-strategy", "steps", "--save-steps", "2",
            "--load-best-model-at-end", "--metric-for-best-model", "eval_loss", "--early-stopping-patience", "2",
            "--early-stopping-threshold", threshold,
        ]));
        let losses = history(&out).iter().filter_map(|e| e["eval_loss"].as_f64()).collect();
        (json(&out.join("trainer_state.json"))["global_step"].as_u64().unwrap(), losses)
    };
    // HF's EarlyStoppingCallback: an evaluation improves only by more than the threshold.
    // With 0.05 only the first one does, so patience 2 stops at the third (step 6) ...
    let (steps, losses) = run("strict", "0.05");
    assert_eq!((steps, losses.len()), (6, 3), "{losses:?}");
    // ... and without a threshold every evaluation improves: the run goes to the end.
    let (steps, losses) = run("plain", "0");
    assert!(losses.windows(2).all(|w| w[1] < w[0] && w[0] - w[1] < 0.05), "the set-up this test needs: {losses:?}");
    assert_eq!((steps, losses.len()), (20, 10), "{losses:?}");
}

#[test]
fn resume_from_a_named_checkpoint_ends_like_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, val) = data(tmp.path());
    let (whole, resumed) = (tmp.path().join("whole"), tmp.path().join("resumed"));
    let flags = ["--epochs", "2", "--eval-strategy", "no", "--save-strategy", "steps", "--save-steps", "4"];
    ok(train(&whole, &tr, &val, &flags));
    // A checkpoint of the first run resumes a run in another directory (HF's
    // resume_from_checkpoint=PATH).
    let from = whole.join("checkpoint-4");
    let mut args = flags.to_vec();
    args.extend(["--resume", from.to_str().unwrap()]);
    let err = ok(train(&resumed, &tr, &val, &args));
    assert!(err.contains("resuming from") && err.contains("checkpoint-4"), "{err}");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(read(whole.join("model.safetensors")) == read(resumed.join("model.safetensors")), "final weights differ");
    let steps = |d: &Path| history(d).iter().filter_map(|e| e["loss"].as_f64()).count();
    assert_eq!(steps(&resumed), 12, "the resumed run's history starts with the checkpoint's");
    assert_eq!(history(&whole), history(&resumed));
}

#[test]
fn the_backend_flag_picks_the_backend_over_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let (tr, val) = data(tmp.path());
    let backend = std::env::var("BERT_TEST_BACKEND").unwrap_or_else(|_| "flex".into());
    let out = tmp.path().join("run");
    let model = fixtures().join("tiny/single_label_classification");
    let args = |backend: &str, out: &Path| -> Vec<String> {
        ["train", "--model", model.to_str().unwrap(), "--train-file", &tr, "--validation-file", &val, "--output-dir", out.to_str().unwrap(), "--max-steps", "1", "--max-length", "16", "--save-strategy", "no", "--backend", backend]
            .map(String::from)
            .to_vec()
    };
    let run = |args: Vec<String>| std::process::Command::new(env!("CARGO_BIN_EXE_bertrs-cli")).args(args).env("BERT_BACKEND", "nonsense").output().unwrap();
    let err = ok(run(args(&backend, &out)));
    assert!(err.contains(&format!("on {backend}")), "{err}");
    let o = run(args("nonsense", &tmp.path().join("bad")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown backend \"nonsense\""), "{err}");
}
