//! Issue 14 from the user's side: bad options, broken models, shared and reused output
//! directories, planted symlinks. Each case gets a clear error and a non-zero exit, and
//! nothing already on disk is lost.

mod common;

use std::path::{Path, PathBuf};

use common::{cli, fixtures};

fn tiny() -> PathBuf {
    fixtures().join("tiny/single_label_classification")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small labelled CSV the tiny model trains on in a second.
fn train_csv(dir: &Path, name: &str, words: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let mut body = String::from("text,label\n");
    for (i, w) in words.iter().enumerate() {
        body.push_str(&format!("{w} film {i},{}\n", ["negative", "neutral", "positive"][i % 3]));
    }
    std::fs::write(&p, body).unwrap();
    p
}

fn train(model: &Path, file: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train", "--model", model.to_str().unwrap(), "--train-file", file.to_str().unwrap(),
        "--output-dir", out.to_str().unwrap(), "--max-length", "16", "--batch-size", "4",
    ];
    args.extend(extra);
    cli(&args)
}

const WORDS: [&str; 12] = ["good", "bad", "fine", "dull", "great", "poor", "nice", "awful", "neat", "grim", "fun", "sad"];

#[test]
fn non_finite_and_out_of_range_options_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let out = tmp.path().join("out");
    for (flag, value) in [
        ("--learning-rate", "nan"),
        ("--learning-rate", "-1e-5"),
        ("--weight-decay", "inf"),
        ("--max-grad-norm", "-1"),
        ("--epochs", "0"),
        ("--epochs", "inf"),
        ("--warmup-ratio", "NaN"),
        ("--batch-size", "0"),
        ("--early-stopping-threshold", "-inf"),
        ("--label-delimiter", ""),
    ] {
        let arg = format!("{flag}={value}");
        let o = train(&tiny(), &file, &out, &[&arg]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains(flag), "{arg}: {err}");
        assert!(!out.exists(), "{arg}: the output directory was made");
    }
}

#[test]
fn a_run_whose_weights_overflow_stops_and_saves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let out = tmp.path().join("out");
    // A finite but absurd decay: w * (1 - lr * wd) overflows f32 at the first (and last) step.
    let o = train(&tiny(), &file, &out, &["--max-steps", "1", "--learning-rate", "10", "--weight-decay", "1e38"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("weight became") && err.contains("step 1"), "{err}");
    for f in ["model.safetensors", "config.json", "checkpoint-1"] {
        assert!(!out.join(f).exists(), "{f} saved from a run of NaN");
    }
}

#[test]
fn two_runs_cannot_share_an_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Another process's lock, taken as bertrs-cli takes it.
    let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(out.join(".bert.lock")).unwrap();
    held.try_lock().unwrap();
    let o = train(&tiny(), &file, &out, &["--max-steps", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("in use by another run"), "{err}");
    // At once: before reading any data (no wall clock: the data line is never printed).
    assert!(!err.contains("data:"), "{err}");
    drop(held);
    let o = train(&tiny(), &file, &out, &["--max-steps", "1"]);
    assert!(o.status.success(), "free again: {}", stderr(&o));
}

#[test]
fn a_failed_run_leaves_no_output_directory_and_an_unwritable_one_fails_first() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "text,label\nfine,1\n,2\n").unwrap();
    let out = tmp.path().join("out");
    let o = train(&tiny(), &bad, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.exists(), "the directory made for the lock is removed again");
    // An output path under a file cannot be a directory: said before reading any data.
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let under_file = file.join("out");
    let o = train(&tiny(), &file, &under_file, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("t.csv/out") && !err.contains("data:"), "{err}");
}

#[test]
fn overwrite_leaves_one_consistent_model_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    // The model without tokenizer.json: a stale one in the output must not survive.
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
        std::fs::copy(tiny().join(f), model.join(f)).unwrap();
    }
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let stale_tokenizer = r#"{"version":"1.0","model":{"type":"WordLevel","vocab":{"[UNK]":0},"unk_token":"[UNK]"}}"#;
    std::fs::write(out.join("tokenizer.json"), stale_tokenizer).unwrap();
    std::fs::create_dir(out.join("checkpoint-999")).unwrap();
    std::fs::write(out.join("checkpoint-999/trainer_state.json"), "{}").unwrap();
    for f in ["test_results.json", "pytorch_model.bin", "model.safetensors.index.json", ".model.safetensors.x1y2.tmp", "notes.txt"] {
        std::fs::write(out.join(f), "earlier run").unwrap();
    }
    let o = train(&model, &file, &out, &["--max-steps", "2", "--save-strategy", "no"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "refused without --overwrite-output-dir: {err}");
    assert!(err.contains("not empty"), "{err}");
    let o = train(&model, &file, &out, &["--max-steps", "2", "--save-strategy", "no", "--overwrite-output-dir"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for gone in ["checkpoint-999", "test_results.json", "pytorch_model.bin", "model.safetensors.index.json", ".model.safetensors.x1y2.tmp"] {
        assert!(!out.join(gone).exists(), "{gone} of the earlier run is still there");
    }
    assert!(out.join("notes.txt").exists(), "the user's own files stay");
    let tokenizer = std::fs::read_to_string(out.join("tokenizer.json")).unwrap();
    assert!(tokenizer.contains("WordPiece"), "tokenizer.json is the run's: {}", &tokenizer[..100.min(tokenizer.len())]);
    // The directory predicts as the run's model with the run's tokenizer.
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"text\": \"good film\"}\n").unwrap();
    let preds = tmp.path().join("p.jsonl");
    let o = cli(&["predict", "--model", out.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", preds.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn resume_never_takes_a_checkpoint_of_other_data() {
    let tmp = tempfile::tempdir().unwrap();
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let out = tmp.path().join("out");
    let o = train(&tiny(), &file, &out, &["--max-steps", "2", "--save-steps", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Same number of rows, batches and seed; other texts.
    let other = train_csv(tmp.path(), "other.csv", &["x"; 12]);
    let o = train(&tiny(), &other, &out, &["--max-steps", "2", "--save-steps", "1", "--resume"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("other training data"), "{err}");
    let o = train(&tiny(), &file, &out, &["--resume", tmp.path().join("out/checkpoint-1").to_str().unwrap(), "--max-steps", "2", "--save-steps", "1"]);
    assert!(o.status.success(), "its own data resumes: {}", stderr(&o));
}

#[test]
fn predict_never_destroys_its_input_nor_follows_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    let body = "{\"text\": \"good film\"}\n";
    std::fs::write(&input, body).unwrap();
    let model = tiny();
    let run = |output: &Path| cli(&["predict", "--model", model.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    // The output is the input, spelled another way.
    let same = tmp.path().join(".").join("in.jsonl");
    let o = run(&same);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is the --input file"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), body);
    // A symlink at the output is replaced by the results, never written through.
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let out = tmp.path().join("out.jsonl");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    let o = run(&out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"label\""));
    // An output directory that does not exist fails before any work, naming the path.
    let o = run(&tmp.path().join("no/such/out.jsonl"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no/such/out.jsonl"), "{}", stderr(&o));
}

/// Overwrites the f32 values of `key` in a safetensors file with `value`.
fn poison(file: &Path, key: &str, value: f32) {
    common::edit_f32s(file, key, |_, _| value);
}

#[test]
fn nan_weights_never_become_a_label() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"] {
        std::fs::copy(tiny().join(f), model.join(f)).unwrap();
    }
    poison(&model.join("model.safetensors"), "classifier.bias", f32::NAN);
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"text\": \"good film\"}\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "earlier results\n").unwrap();
    let o = cli(&["predict", "--model", model.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("in.jsonl row 1") && err.contains("non-finite logit"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results\n", "the old output stays");
}

#[test]
fn model_directories_are_checked_against_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"text\": \"good film\", \"text_pair\": \"bad film\"}\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    let with_config = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in ["model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"] {
            std::fs::copy(tiny().join(f), dir.join(f)).unwrap();
        }
        let mut c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tiny().join("config.json")).unwrap()).unwrap();
        edit(&mut c);
        std::fs::write(dir.join("config.json"), c.to_string()).unwrap();
        dir
    };
    let predict = |model: &Path, extra: &[&str]| {
        let mut args = vec!["predict", "--model", model.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()];
        args.extend(extra);
        cli(&args)
    };
    let cases: Vec<(PathBuf, Vec<&str>, &str)> = vec![
        // The tokenizer has 100 tokens; an embedding of 50 rows would be indexed past.
        (with_config("small_vocab", &|c| c["vocab_size"] = 50.into()), vec![], "`vocab_size` is 50"),
        // Pairs need a second token type.
        (with_config("one_type", &|c| c["type_vocab_size"] = 1.into()), vec![], "type_vocab_size 1"),
        // Longer than the position embeddings (40).
        (tiny(), vec!["--max-length", "41"], "max_position_embeddings (40)"),
    ];
    for (model, extra, needle) in cases {
        let o = predict(&model, &extra);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{needle}: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // train picks a --max-length that fits (as predict does), padded multiples included.
    let file = train_csv(tmp.path(), "t.csv", &WORDS);
    let o = train(&tiny(), &file, &tmp.path().join("run"), &["--max-steps", "1", "--max-length", "40", "--pad-to-multiple-of", "16"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("padded to a multiple of 16: 48"), "{err}");
}
