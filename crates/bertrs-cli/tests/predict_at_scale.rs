//! `predict` on files too big to hold (issue 16): a million rows in bounded memory, and a run
//! killed with SIGKILL at a random moment that `--resume` finishes with the same bytes an
//! uninterrupted run writes, for JSON Lines and for Parquet output.
//!
//! Peak RSS is read from GNU time (`/usr/bin/time -f %M`), which reports the child's
//! `ru_maxrss` after it exits; `.ci/run` installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixtures;

const MILLION: usize = 1_000_000;

fn model() -> PathBuf {
    fixtures().join("tiny/single_label_classification")
}

/// `n` short rows with an id, as JSON Lines.
fn generate(path: &Path, n: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let words = ["great", "dull", "film", "boring", "loved", "the", "ending", "slow", "best", "scenes"];
    for i in 0..n {
        let text: Vec<&str> = (0..3 + i % 7).map(|k| words[(i * 7 + k * 3) % words.len()]).collect();
        writeln!(f, "{{\"id\": \"r{i}\", \"text\": \"{}\"}}", text.join(" ")).unwrap();
    }
    f.flush().unwrap();
}

fn predict(input: &Path, output: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bertrs-cli"));
    c.args(["predict", "--model"]).arg(model()).arg("--input").arg(input).arg("--output").arg(output);
    c.args(["--keep-columns", "id"]).args(extra);
    c
}

#[test]
fn a_million_rows_in_bounded_memory() {
    let time = Path::new("/usr/bin/time");
    assert!(time.exists(), "GNU time (/usr/bin/time) is needed to read the peak RSS: apt-get install time");
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("million.jsonl");
    generate(&input, MILLION);
    let output = d.path().join("out.jsonl");
    let mut c = Command::new(time);
    c.args(["-f", "peak-rss-kb %M"]).arg(predict(&input, &output, &[]).get_program());
    c.args(predict(&input, &output, &[]).get_args());
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kb "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    eprintln!("1,000,000 rows: peak RSS {} MB; {stderr}", kb / 1024);
    assert!(kb < 300 * 1024, "peak RSS {} MB, over 300 MB", kb / 1024);
    // Every row once, in input order.
    let text = std::fs::read_to_string(&output).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        assert!(line.starts_with(&format!("{{\"id\":\"r{i}\",")), "row {i}: {line}");
        n += 1;
    }
    assert_eq!(n, MILLION);
    assert!(!d.path().join("out.jsonl.resume.json").exists() && !d.path().join("out.jsonl.partial").exists());
}

/// Waits until the run has finished at least one window, so the kill lands mid-run.
fn wait_for_a_window(child: &mut Child, state: &Path) {
    let start = Instant::now();
    while !state.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its first window");
        assert!(start.elapsed() < Duration::from_secs(120), "no window done in 2 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A seed-free random delay: the clock's nanoseconds.
fn random_millis(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    nanos % max
}

fn killed_and_resumed_equals_uninterrupted(output_name: &str, input: &Path, dir: &Path) {
    let whole = dir.join(format!("whole-{output_name}"));
    let started = Instant::now();
    let o = predict(input, &whole, &["--window-rows", "2048"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The kill lands anywhere in the first 60% of a run's time after its first window.
    let span = (started.elapsed().as_millis() as u64 * 6 / 10).max(1);

    let out = dir.join(output_name);
    let state = dir.join(format!("{output_name}.resume.json"));
    let mut child = predict(input, &out, &["--window-rows", "2048"]).stderr(Stdio::null()).spawn().unwrap();
    wait_for_a_window(&mut child, &state);
    std::thread::sleep(Duration::from_millis(random_millis(span)));
    // SIGKILL: no destructor, no flush.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{output_name}: the run finished before the kill; make the input longer");
    assert!(!out.exists(), "{output_name}: a killed run left an output in place");
    let done: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    eprintln!("{output_name}: killed after {} complete rows", done["rows_done"]);

    let o = predict(input, &out, &["--window-rows", "2048", "--resume"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&whole).unwrap(), "{output_name}: the resumed output differs from the uninterrupted one");
    assert!(!state.exists(), "{output_name}: the state file is left behind");
}

#[test]
fn a_run_killed_at_a_random_point_resumes_to_the_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("rows.jsonl");
    generate(&input, 200_000);
    killed_and_resumed_equals_uninterrupted("out.jsonl", &input, d.path());
    killed_and_resumed_equals_uninterrupted("out.parquet", &input, d.path());
}

#[test]
fn a_resume_under_other_settings_or_another_input_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("rows.jsonl");
    generate(&input, 100);
    let out = d.path().join("out.jsonl");
    let state = d.path().join("out.jsonl.resume.json");
    // A partial run, as a kill after the first window leaves it (the fault point kills the
    // process right after the state is saved).
    let o = predict(&input, &out, &["--window-rows", "40"]).env("BERT_KILL_AT", "predict window:1").output().unwrap();
    assert!(!o.status.success());
    assert!(state.exists() && !out.exists());
    let o = predict(&input, &out, &["--window-rows", "50", "--resume"]).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("window_rows=40") && e.contains("without --resume"), "{e}");
    generate(&input, 120);
    let o = predict(&input, &out, &["--window-rows", "40", "--resume"]).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("input_bytes"), "{e}");
    // Without --resume the partial run is replaced and the output is whole.
    let o = predict(&input, &out, &["--window-rows", "40"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 120);
}

/// On a terminal (`script` gives the run a pseudo-terminal) a progress bar shows rows, rows/s
/// and the time left; the output is the same as without one.
#[test]
fn a_terminal_shows_a_progress_bar() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("rows.jsonl");
    generate(&input, 50_000);
    let (plain, shown) = (d.path().join("plain.jsonl"), d.path().join("shown.jsonl"));
    let o = predict(&input, &plain, &["--window-rows", "1024"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("rows/s"), "no bar without a terminal");
    let line = predict(&input, &shown, &["--window-rows", "1024"]);
    let command: Vec<String> = std::iter::once(line.get_program()).chain(line.get_args()).map(|a| format!("'{}'", a.to_string_lossy())).collect();
    let transcript = d.path().join("transcript");
    let o = Command::new("script").args(["-q", "-e", "-c", &command.join(" ")]).arg(&transcript).stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = String::from_utf8_lossy(&std::fs::read(&transcript).unwrap()).to_string();
    assert!(seen.contains("/50,000 rows") && seen.contains("/s"), "{seen}");
    assert!(std::fs::read(&shown).unwrap() == std::fs::read(&plain).unwrap());
}
