//! Issue 14, faults: `kill -9` at seeded random points of `train` (checkpoint writes and
//! rotation included) and of `predict`, and a disk that fills mid-write (`ulimit -f`, with SIGXFSZ
//! ignored so writes fail with EFBIG as on a full disk). Afterwards the old files are intact,
//! `--resume` ends with the uninterrupted run's weights bit for bit, and no half file is ever
//! taken for a whole one. The kills are reached through `bertrs_fs::fault` (`BERT_KILL_AT=N`:
//! SIGKILL at the N-th write step or optimizer step), so a seed (`BERT_FAULT_SEED`, printed
//! with every failure) replays a run exactly. The counts are printed (README: Reliability). File handling does
//! not depend on the backend: `cargo xtask test` runs this file once (`xtask/src/test_plan.rs`).

mod common;

use std::path::{Path, PathBuf};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use common::{cli, fixtures};


fn tiny() -> PathBuf {
    fixtures().join("tiny/single_label_classification")
}

/// 400 labelled rows: 100 steps an epoch of batch 4, a checkpoint every 5 (rotated down to 2).
fn data(dir: &Path) -> PathBuf {
    let words = ["good", "bad", "fine", "awful", "great", "dull", "film", "plot", "cast", "ending"];
    let mut body = String::from("text,label\n");
    for i in 0..400usize {
        let text: Vec<&str> = (0..3 + i % 5).map(|k| words[(i * 7 + k * 3 + k * k) % words.len()]).collect();
        body.push_str(&format!("{},{}\n", text.join(" "), ["negative", "neutral", "positive"][i % 3]));
    }
    let p = dir.join("train.csv");
    std::fs::write(&p, body).unwrap();
    p
}

fn train_args(train: &Path, out: &Path) -> Vec<String> {
    let tiny = tiny();
    [
        "train", "--model", tiny.to_str().unwrap(), "--train-file", train.to_str().unwrap(), "--output-dir",
        out.to_str().unwrap(), "--batch-size", "4", "--max-length", "16", "--learning-rate", "1e-3", "--save-steps", "5",
        "--save-total-limit", "2", "--eval-strategy", "no", "--logging-steps", "10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(args: &[String]) -> Output {
    cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// xorshift64*: the kill points, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// `BERT_FAULT_SEED` (to replay a failure), else `default`.
fn seed(default: u64) -> u64 {
    std::env::var("BERT_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// `bertrs-cli args` with `BERT_KILL_AT` set.
fn cli_kill_at(at: &str, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bertrs-cli")).args(args).env("BERT_KILL_AT", at).output().unwrap()
}

/// How many fault points a whole run passes (and that it succeeds).
fn fault_points(args: &[String]) -> u64 {
    let o = cli_kill_at("trace", args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let n = err.lines().filter(|l| l.starts_with("fault point ")).count() as u64;
    assert!(n > 0, "no fault points traced:\n{err}");
    n
}

/// A safetensors file is whole: its header parses and its data ends where the file does.
fn whole_safetensors(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = header.as_object().unwrap().values().filter_map(|t| t["data_offsets"][1].as_u64()).max().unwrap() as usize;
    assert_eq!(8 + n + end, bytes.len(), "{} is torn", path.display());
}

/// Every checkpoint directory under its final name is complete.
fn checkpoints_are_whole(out: &Path) -> usize {
    let all = bertrs_train::checkpoint::list_all(out);
    for (_, dir) in &all {
        let state = std::fs::read(dir.join("trainer_state.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        serde_json::from_slice::<serde_json::Value>(&state).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for f in ["model.bpk", "optimizer.bpk", "config.json", "tokenizer.json"] {
            assert!(dir.join(f).is_file(), "{} lacks {f}", dir.display());
        }
        whole_safetensors(&dir.join("model.safetensors"));
    }
    all.len()
}

#[test]
fn kill_9_at_random_points_then_resume_ends_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let train = data(tmp.path());
    let (full, killed) = (tmp.path().join("full"), tmp.path().join("killed"));
    // Three epochs: 300 steps, 60 checkpoints written and 58 rotated away.
    let three = |mut a: Vec<String>| {
        a.extend(["--epochs".into(), "3".into()]);
        a
    };
    // The uninterrupted run, traced: its fault points are the kill points to draw from.
    let points = fault_points(&three(train_args(&train, &full)));
    let resume_if_any = |mut args: Vec<String>| {
        if bertrs_train::checkpoint::last(&killed).is_some() {
            args.push("--resume".into());
        }
        args
    };
    let seed = seed(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed);
    let (mut kills, mut with_checkpoints, mut at) = (0, 0, Vec::new());
    for _ in 0..40 {
        // Within the first eighth of a whole run's points: each resumed run gets a little
        // further, so the kills spread over the whole run, loading to final export.
        let point = 1 + rng.below(points / 8);
        at.push(point);
        let o = cli_kill_at(&point.to_string(), &resume_if_any(three(train_args(&train, &killed))));
        if o.status.success() {
            break; // the run got past the point: it is complete
        }
        assert_eq!(o.status.signal(), Some(9), "seed {seed}, kill points {at:?}: not killed\n{}", String::from_utf8_lossy(&o.stderr));
        kills += 1;
        if checkpoints_are_whole(&killed) > 0 {
            with_checkpoints += 1;
        }
        if killed.join("model.safetensors").exists() {
            whole_safetensors(&killed.join("model.safetensors"));
        }
    }
    // Finish (or, if the last run was not killed, confirm) the run.
    let o = run(&resume_if_any(three(train_args(&train, &killed))));
    assert!(o.status.success(), "seed {seed}, kill points {at:?}: {}", String::from_utf8_lossy(&o.stderr));
    eprintln!("train: {kills} kills survived ({with_checkpoints} with checkpoints on disk) of {points} fault points; seed {seed}, points {at:?}");
    assert!(kills >= 5 && with_checkpoints >= 3, "seed {seed}: too few kills landed: {kills} ({with_checkpoints} with checkpoints)");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(read(full.join("model.safetensors")) == read(killed.join("model.safetensors")), "seed {seed}, kill points {at:?}: final weights differ");
    assert_eq!(checkpoints_are_whole(&killed), 2, "rotation kept two");
    let leftovers: Vec<_> = std::fs::read_dir(&killed).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "seed {seed}: temporary files left after the last run: {leftovers:?}");
}

#[test]
fn kill_9_during_predict_leaves_the_old_output_or_the_whole_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.jsonl");
    let rows = 3000;
    let body: String = (0..rows).map(|i| format!("{{\"text\": \"row {i} is a good or bad film\"}}\n")).collect();
    std::fs::write(&input, body).unwrap();
    let out = tmp.path().join("out.jsonl");
    let tiny = tiny();
    let args: Vec<String> = ["predict", "--model", tiny.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--window-rows", "500"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Each window's resume state (its write, sync and rename), each window's end, and the
    // output's sync and rename are points.
    let points = fault_points(&args);
    let want = std::fs::read(&out).unwrap();
    let mut resume = args.clone();
    resume.push("--resume".into());
    std::fs::write(&out, "old\n").unwrap();
    let seed = seed(0x2545_f491_4f6c_dd1d);
    let mut rng = Rng(seed);
    let (mut old, mut new) = (0, 0);
    // The last point is the rename itself: always one kill there, the rest anywhere.
    let mut at: Vec<u64> = (0..15).map(|_| 1 + rng.below(points)).collect();
    at.push(points);
    for &point in &at {
        let o = cli_kill_at(&point.to_string(), &args);
        assert_eq!(o.status.signal(), Some(9), "seed {seed}, point {point}: not killed");
        let text = std::fs::read_to_string(&out).unwrap();
        if text == "old\n" {
            old += 1;
            // The killed run continues to exactly what an uninterrupted one writes.
            assert!(run(&resume).status.success(), "seed {seed}, point {point}: --resume failed");
            assert!(std::fs::read(&out).unwrap() == want, "seed {seed}, point {point}: the resumed output differs");
            std::fs::write(&out, "old\n").unwrap();
        } else {
            assert_eq!(text.lines().count(), rows, "seed {seed}, point {point}: a partial output under the final name");
            assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
            new += 1;
            std::fs::write(&out, "old\n").unwrap();
        }
        let temps: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with(".out.jsonl.")).collect();
        for t in temps {
            std::fs::remove_file(tmp.path().join(t)).unwrap(); // a kill's leftover, never the output
        }
    }
    eprintln!("predict: {} kills of {points} fault points; output old {old} times, whole and new {new} times; seed {seed}", at.len());
    assert!(old >= 1 && new >= 1, "seed {seed}: kills before and after the rename ({old} old, {new} new)");
}

/// `bertrs-cli` with a file-size limit of `kib` KiB and SIGXFSZ ignored: writes past the limit
/// fail with EFBIG, as on a full disk.
fn cli_with_file_limit(kib: u64, args: &[String]) -> Output {
    let script = format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\"");
    Command::new("bash").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_bertrs-cli")).args(args).output().unwrap()
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_old_files() {
    let tmp = tempfile::tempdir().unwrap();
    // predict: 3000 rows of results (~300 KB) against a 16 KiB limit.
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, (0..3000).map(|i| format!("{{\"text\": \"row {i}\"}}\n")).collect::<String>()).unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "old\n").unwrap();
    let tiny = tiny();
    let args: Vec<String> = ["predict", "--model", tiny.to_str().unwrap(), "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let o = cli_with_file_limit(16, &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("out.jsonl") && err.contains("too large"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");

    // train: an earlier run's model stays whole when the new run's first checkpoint (a
    // 170 KB optimizer state) cannot be written.
    let train = data(tmp.path());
    let dir = tmp.path().join("run");
    let mut first = train_args(&train, &dir);
    first.extend(["--max-steps".into(), "5".into()]);
    assert!(run(&first).status.success());
    let model = std::fs::read(dir.join("model.safetensors")).unwrap();
    let mut again = train_args(&train, &dir);
    again.extend(["--max-steps".into(), "5".into(), "--overwrite-output-dir".into()]);
    let o = cli_with_file_limit(120, &again);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("checkpoint") && err.contains("too large"), "{err}");
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), model, "the earlier model is intact");
    assert_eq!(checkpoints_are_whole(&dir), 0, "no partial checkpoint under a final name");
    assert!(std::fs::read_dir(&dir).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")), "temporary directory removed");
    // With room again, the run completes.
    assert!(run(&again).status.success());

    // The final export (no checkpoints): `model.safetensors` (80 KB) cannot be written under
    // a 60 KiB limit; the earlier run's model stays whole.
    let model = std::fs::read(dir.join("model.safetensors")).unwrap();
    let mut export = train_args(&train, &dir);
    export.extend(["--max-steps".into(), "2".into(), "--save-strategy".into(), "no".into(), "--overwrite-output-dir".into()]);
    let o = cli_with_file_limit(60, &export);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("model.safetensors") && err.contains("too large"), "{err}");
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), model, "the earlier model is intact");
    assert!(std::fs::read_dir(&dir).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")), "temporary file removed");
}
