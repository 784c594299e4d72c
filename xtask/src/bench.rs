//! `cargo xtask bench`: our CLI and the PyTorch reference harness (`../shared/reference/`,
//! torch 2.9.0 + transformers 4.57.6) on the same work, alternating A B A B, medians and
//! ratios; results to `bench-results/<time>.json` and the table in `BENCHMARKS.md`.
//!
//! Work (issue 6): all-MiniLM-L6-v2 with a fresh 2-label head, Rotten Tomatoes as split by
//! the reference rule, fp32, 2 threads on both sides, dynamic padding, max length 128:
//! - predict: the 981 dev sentences in file order at batch 32 and 64, tokenization and
//!   forward passes timed, model loading not (ours: `bertrs-cli predict`'s own timing;
//!   theirs: `infer_bench.py`'s end-to-end figure);
//!   ONNX Runtime (`ort_bench.py`, CPU, all graph optimisations) is a second anchor there;
//! - train: the first N training examples (2,048 by default), 1 epoch, batch 32, lr 5e-5,
//!   examples/s of the training loop (ours: `train_results.json`; theirs: `finetune_hf.py`),
//!   twice: with HF's default shuffled batches, and length-grouped on both sides (ours
//!   `--group-by-length`, theirs HF's `group_by_length=True` through
//!   `scripts/with_training_args.py group_by_length=true`); `--full` adds the full epoch with its dev accuracy;
//! - peak RSS of each process (GNU time's `%M`).
//!
//! Every result names the CPU and the SIMD level its GEMMs ran at (flex's `gemm` kernels are
//! chosen at run time: AVX-512 where the CPU has it, else AVX2+FMA), and BENCHMARKS.md keeps
//! the latest table of each machine kind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Backends of ours to measure (flex, tch, wgpu); default flex, plus tch when LIBTORCH is
    /// set. wgpu is reported, not a target: on a machine without a GPU it is lavapipe, a
    /// software Vulkan driver (measure it with fewer `--train-examples`).
    #[arg(long = "backend", value_delimiter = ',')]
    backends: Vec<String>,
    /// A B rounds per measurement (medians are reported).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Training examples of the throughput run.
    #[arg(long, default_value_t = 2048)]
    train_examples: usize,
    /// Also fine-tune one full epoch on each side and report dev accuracy.
    #[arg(long)]
    full: bool,
    /// Train with length-grouped batches only (HF `group_by_length`); default: both samplers.
    #[arg(long, conflicts_with = "shuffled_only")]
    group_by_length: bool,
    /// Train with HF's default shuffled batches only.
    #[arg(long)]
    shuffled_only: bool,
    /// Run ours in HF's padded layout (`--padded`), to compare with padding-free execution.
    #[arg(long)]
    padded: bool,
    /// Leave out the ONNX Runtime prediction anchor.
    #[arg(long)]
    skip_ort: bool,
    #[arg(long)]
    skip_train: bool,
    #[arg(long)]
    skip_predict: bool,
    /// The reference Python (torch + transformers + accelerate + scikit-learn); default:
    /// $BERT_REF_PYTHON, else a venv set up in the asset cache.
    #[arg(long, env = "BERT_REF_PYTHON")]
    python: Option<PathBuf>,
}

/// One process run: its stdout+stderr, wall seconds, and peak RSS in MiB.
pub(crate) struct Run {
    pub output: String,
    pub peak_rss_mib: Option<f64>,
}

pub(crate) fn run_measured(mut cmd: Command, label: &str) -> Result<Run> {
    let rss_file = std::env::temp_dir().join(format!("bert-bench-rss-{}", std::process::id()));
    let time = Path::new("/usr/bin/time");
    let mut full = if time.is_file() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(cmd.get_program()).args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = cmd.get_current_dir() {
            c.current_dir(d);
        }
        c
    } else {
        std::mem::replace(&mut cmd, Command::new("true"))
    };
    eprintln!("  {label}");
    let out = full.output().with_context(|| format!("cannot run {label}"))?;
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("{label} failed:\n{output}");
    }
    let peak_rss_mib = std::fs::read_to_string(&rss_file).ok().and_then(|s| s.trim().lines().last()?.parse::<f64>().ok()).map(|kib| kib / 1024.0);
    let _ = std::fs::remove_file(&rss_file);
    Ok(Run { output, peak_rss_mib })
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A number following `key` in a line of output, e.g. "(61.2 examples/s" → 61.2.
pub(crate) fn number_before(text: &str, suffix: &str) -> Option<f64> {
    text.lines().rev().find_map(|l| {
        let head = &l[..l.find(suffix)?];
        head.rsplit(|c: char| c == '(' || c.is_whitespace()).find(|s| !s.is_empty())?.parse().ok()
    })
}

/// The bench's inputs, prepared once: the reference harness, the model, both sides' data.
pub(crate) struct Setup {
    pub root: PathBuf,
    pub python: PathBuf,
    pub harness: PathBuf,
    pub minilm: PathBuf,
    pub tsv: PathBuf,
    pub dev_jsonl: PathBuf,
    pub work: PathBuf,
    pub padded: bool,
}

fn setup(args: &Args) -> Result<Setup> {
    let python = match &args.python {
        Some(p) => p.clone(),
        None => crate::fixtures::ref_python()?,
    };
    Ok(Setup { padded: args.padded, ..Setup::new(&crate::root(), &python)? })
}

impl Setup {
    pub fn new(root: &Path, python: &Path) -> Result<Setup> {
        let (root, python) = (root.to_path_buf(), python.to_path_buf());
        let harness = root.join("../shared/reference");
        if !harness.join("infer_bench.py").is_file() {
            bail!("the PyTorch reference harness is not at {}", harness.display());
        }
        let store = bertrs_assets::Store::from_env();
        let minilm = store.fetch("all-minilm-l6-v2")?;
        let rt = store.fetch("rotten-tomatoes")?;
        let work = store.root().join("bench");
        std::fs::create_dir_all(&work)?;
        // The reference's data: its own split script over the same pinned file.
        let tsv = work.join("rt_snippets.tsv");
        if !tsv.is_file() {
            crate::status({
                let mut c = Command::new(&python);
                c.arg(harness.join("rt_split.py")).arg(rt.join("rotten_tomatoes_corpus_full.csv.bz2")).arg(&tsv);
                c
            })?;
        }
        // Ours: the same dev sentences, in file order (bertrs-data applies the same rule; its
        // split is checksum-tested against the reference's).
        let dev_jsonl = work.join("dev.jsonl");
        let splits = bertrs_data::rotten_tomatoes::load()?;
        let mut body = String::new();
        for s in &splits.validation {
            body.push_str(&json!({ "text": s.text }).to_string());
            body.push('\n');
        }
        std::fs::write(&dev_jsonl, body)?;
        Ok(Setup { root, python, harness, minilm, tsv, dev_jsonl, work, padded: false })
    }
}

/// ONNX Runtime in the reference Python, installed from `scripts/requirements-ort.txt` (its
/// pins) when missing.
fn ort_ready(s: &Setup) -> Result<bool> {
    let has = |s: &Setup| Command::new(&s.python).args(["-c", "import onnxruntime, onnx"]).output().is_ok_and(|o| o.status.success());
    if !has(s) {
        crate::status({
            let mut c = Command::new(&s.python);
            c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"]).arg(s.root.join("scripts/requirements-ort.txt"));
            c
        })?;
    }
    Ok(has(s))
}

fn python_cmd(s: &Setup, script: &str, group_by_length: bool) -> Command {
    let mut c = Command::new(&s.python);
    if group_by_length && script == "finetune_hf.py" {
        c.arg(s.root.join("scripts/with_training_args.py")).args(["group_by_length=true", "--"]);
    }
    c.arg(s.harness.join(script))
        .arg("--model-dir")
        .arg(&s.minilm)
        .arg("--data")
        .arg(&s.tsv)
        .args(["--threads", "2"])
        .env("HF_HUB_OFFLINE", "1")
        .env("OMP_NUM_THREADS", "2");
    c
}

/// Our `bertrs-cli train` with the bench's options.
fn ours_train(s: &Setup, backend: &str, group_by_length: bool) -> Command {
    let mut c = ours_cmd(s, backend);
    c.arg("train").arg("--model").arg(&s.minilm);
    if s.padded {
        c.arg("--padded");
    }
    if group_by_length {
        c.arg("--group-by-length");
    }
    c
}

fn ours_cmd(s: &Setup, backend: &str) -> Command {
    let mut c = Command::new(s.root.join("target/release/bertrs-cli"));
    c.env("RAYON_NUM_THREADS", "2").env("OMP_NUM_THREADS", "2").env("BERT_BACKEND", backend).env("BURN_DEVICE", backend);
    if backend == "wgpu" {
        // lavapipe's worker threads, like the other sides' 2; and no minutes-long kernel
        // autotuning on a software rasteriser (as `cargo xtask test`).
        c.env("LP_NUM_THREADS", "2").env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    }
    if let Ok(path) = crate::test::libtorch_lib_path() {
        c.env("LD_LIBRARY_PATH", path);
    }
    c
}

pub fn run(args: Args) -> Result<()> {
    let (backends, features) = crate::backends(&args.backends)?;
    eprintln!("CPU: {}, GEMM SIMD level: {}", cpu_model(), simd_level());
    let s = setup(&args)?;
    let mut build = crate::cargo();
    build.args(["build", "--release", "--locked", "-p", "bertrs-cli"]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    // A target dir of its own would rebuild everything: the release binary goes where the
    // README's quick start puts it.
    build.env_remove("CARGO_TARGET_DIR").env("CARGO_TARGET_DIR", s.root.join("target"));
    crate::status(build)?;

    let with_ort = !args.skip_ort && !args.skip_predict && ort_ready(&s)?;
    let mut rows: Vec<Value> = Vec::new();
    let mut record = |work: &str, backend: &str, ours: Vec<f64>, theirs: Vec<f64>, rss: (Vec<f64>, Vec<f64>)| {
        let (o, t) = (median(ours.clone()), median(theirs.clone()));
        let row = json!({
            "work": work, "backend": backend, "ours": ours, "pytorch": theirs,
            "ours_median": o, "pytorch_median": t, "ratio": o / t,
            "ours_peak_rss_mib": median(rss.0), "pytorch_peak_rss_mib": median(rss.1),
        });
        eprintln!("{work} [{backend}]: ours {o:.2}, PyTorch {t:.2}, ratio {:.2}x", o / t);
        rows.push(row);
    };

    if !args.skip_predict {
        for bs in [32usize, 64] {
            // PyTorch once per round (backend-independent), ours per backend, alternating.
            let mut theirs = (Vec::new(), Vec::new());
            let mut ort = (Vec::new(), Vec::new());
            let mut ours: Vec<(Vec<f64>, Vec<f64>)> = backends.iter().map(|_| (Vec::new(), Vec::new())).collect();
            for round in 0..args.rounds {
                if with_ort {
                    let out = s.work.join("ort.json");
                    let mut c = python_cmd(&s, "ort_bench.py", false);
                    c.args(["--repeats", "1", "--batch-sizes", &bs.to_string()]).arg("--out").arg(&out);
                    let r = run_measured(c, &format!("ONNX Runtime predict batch {bs} (round {})", round + 1))?;
                    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
                    ort.0.push(v["dev"][bs.to_string()]["ort_end_to_end_ex_per_s_median"].as_f64().unwrap_or(f64::NAN));
                    ort.1.push(r.peak_rss_mib.unwrap_or(f64::NAN));
                }
                let out = s.work.join("infer.json");
                let mut c = python_cmd(&s, "infer_bench.py", false);
                c.args(["--skip-micro", "--repeats", "1", "--batch-sizes", &bs.to_string()]).arg("--out").arg(&out);
                let r = run_measured(c, &format!("PyTorch predict batch {bs} (round {})", round + 1))?;
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
                theirs.0.push(v["dev"][bs.to_string()]["end_to_end_ex_per_s_median"].as_f64().unwrap_or(f64::NAN));
                theirs.1.push(r.peak_rss_mib.unwrap_or(f64::NAN));
                for (k, backend) in backends.iter().enumerate() {
                    let mut c = ours_cmd(&s, backend);
                    c.arg("predict").arg("--model").arg(&s.minilm).arg("--input").arg(&s.dev_jsonl);
                    if s.padded {
                        c.arg("--padded");
                    }
                    c.arg("--output").arg(s.work.join("preds.jsonl")).args(["--batch-size", &bs.to_string(), "--max-length", "128"]);
                    let r = run_measured(c, &format!("ours predict batch {bs} on {backend} (round {})", round + 1))?;
                    ours[k].0.push(number_before(&r.output, " examples/s").unwrap_or(f64::NAN));
                    ours[k].1.push(r.peak_rss_mib.unwrap_or(f64::NAN));
                }
            }
            for (k, backend) in backends.iter().enumerate() {
                let (o, orss) = ours[k].clone();
                record(&format!("predict batch {bs} (examples/s)"), backend, o, theirs.0.clone(), (orss, theirs.1.clone()));
            }
            if !ort.0.is_empty() {
                // The anchor against PyTorch, in the same table's columns.
                record(&format!("predict batch {bs} (examples/s)"), "ONNX Runtime", ort.0, theirs.0.clone(), (ort.1, theirs.1.clone()));
            }
        }
    }
    if !args.skip_train {
        let samplers: &[bool] = match (args.group_by_length, args.shuffled_only) {
            (true, _) => &[true],
            (_, true) => &[false],
            _ => &[false, true],
        };
        for &grouped in samplers {
            let n = args.train_examples.to_string();
            let mut theirs = (Vec::new(), Vec::new());
            let mut ours: Vec<(Vec<f64>, Vec<f64>)> = backends.iter().map(|_| (Vec::new(), Vec::new())).collect();
            for round in 0..args.rounds {
                let out = s.work.join("finetune.json");
                let mut c = python_cmd(&s, "finetune_hf.py", grouped);
                c.args(["--train-limit", &n, "--eval-limit", "64", "--epochs", "1", "--lr", "5e-5", "--batch-size", "32"]).arg("--out").arg(&out);
                let r = run_measured(c, &format!("PyTorch train {n} examples (round {})", round + 1))?;
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
                theirs.0.push(v["timing"]["train_examples_per_s"].as_f64().unwrap_or(f64::NAN));
                theirs.1.push(r.peak_rss_mib.unwrap_or(f64::NAN));
                for (k, backend) in backends.iter().enumerate() {
                    let dir = s.work.join(format!("train-{backend}"));
                    let mut c = ours_train(&s, backend, grouped);
                    c.args(["--train-limit", &n, "--eval-limit", "64", "--save-strategy", "no", "--overwrite-output-dir", "--output-dir"]).arg(&dir);
                    let r = run_measured(c, &format!("ours train {n} examples on {backend} (round {})", round + 1))?;
                    let res: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("train_results.json"))?)?;
                    ours[k].0.push(res["train_samples_per_second"].as_f64().unwrap_or(f64::NAN));
                    ours[k].1.push(r.peak_rss_mib.unwrap_or(f64::NAN));
                }
            }
            let sampler = if grouped { "group_by_length" } else { "shuffled" };
            for (k, backend) in backends.iter().enumerate() {
                let (o, orss) = ours[k].clone();
                record(&format!("train {n} examples, {sampler} (examples/s)"), backend, o, theirs.0.clone(), (orss, theirs.1.clone()));
            }
        }
    }
    if args.full {
        let out = s.work.join("finetune-full.json");
        let mut c = python_cmd(&s, "finetune_hf.py", args.group_by_length);
        c.args(["--epochs", "1", "--lr", "5e-5", "--batch-size", "32"]).arg("--out").arg(&out);
        run_measured(c, "PyTorch full epoch")?;
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
        let theirs = v["final_dev"]["accuracy"].as_f64().unwrap_or(f64::NAN);
        for backend in &backends {
            let dir = s.work.join(format!("full-{backend}"));
            let mut c = ours_train(&s, backend, args.group_by_length);
            c.args(["--save-strategy", "no", "--overwrite-output-dir", "--output-dir"]).arg(&dir);
            run_measured(c, &format!("ours full epoch on {backend}"))?;
            let res: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("all_results.json"))?)?;
            let acc = res["eval_accuracy"].as_f64().unwrap_or(f64::NAN);
            let grouped = if args.group_by_length { ", group_by_length" } else { "" };
            record(&format!("dev accuracy after 1 epoch{grouped}"), backend, vec![acc], vec![theirs], (vec![], vec![]));
        }
    }
    write_results(&s, &args, &backends, rows)
}

/// `model name` of /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_default()
}

/// The SIMD level flex's GEMMs run at here: the `gemm` crate picks its kernels at run time,
/// and our build has its AVX-512 ones (burn's `x86-v4`).
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            "AVX-512"
        } else if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            "AVX2+FMA"
        } else {
            "SSE2"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        "NEON"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

fn write_results(s: &Setup, args: &Args, backends: &[String], rows: Vec<Value>) -> Result<()> {
    let cpu = cpu_model();
    let simd = simd_level();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let command = format!(
        "cargo xtask bench --backend {} --rounds {} --train-examples {}{}",
        backends.join(","),
        args.rounds,
        args.train_examples,
        if args.full { " --full" } else { "" }
    ) + if args.group_by_length { " --group-by-length" } else { "" }
        + if args.shuffled_only { " --shuffled-only" } else { "" }
        + if args.skip_ort { " --skip-ort" } else { "" }
        + if args.padded { " --padded" } else { "" }
        + if args.skip_train { " --skip-train" } else { "" }
        + if args.skip_predict { " --skip-predict" } else { "" };
    let result = json!({
        "unix_time": stamp, "cpu": cpu, "simd": simd, "cores": cores, "loadavg_at_end": load.trim(),
        "command": command, "rows": rows,
    });
    let dir = s.root.join("bench-results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{stamp}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&result)?)?;
    let mut table = format!(
        "Machine: {cpu}, {cores} cores, GEMM SIMD level {simd}; load average at the end: {}. Command: `{command}`; raw results: `bench-results/{stamp}.json`.\n\n| work | backend | ours | PyTorch | ratio | peak RSS ours / PyTorch (MiB) |\n|---|---|---|---|---|---|\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    for r in result["rows"].as_array().into_iter().flatten() {
        // Accuracies to 4 places (a 0.5-point target), throughputs to 2.
        let places = if r["work"].as_str().is_some_and(|w| w.starts_with("dev accuracy")) { 4 } else { 2 };
        let f = |k: &str| r[k].as_f64().map_or("—".to_string(), |v| if v.is_nan() { "—".into() } else { format!("{v:.places$}") });
        let rss = |k: &str| r[k].as_f64().filter(|v| !v.is_nan()).map_or("—".to_string(), |v| format!("{v:.0}"));
        table.push_str(&format!(
            "| {} | {} | {} | {} | {}× | {} / {} |\n",
            r["work"].as_str().unwrap_or(""),
            r["backend"].as_str().unwrap_or(""),
            f("ours_median"),
            f("pytorch_median"),
            f("ratio"),
            rss("ours_peak_rss_mib"),
            rss("pytorch_peak_rss_mib")
        ));
    }
    // One table per machine kind, replaced by the next run on the same kind.
    let md = s.root.join("BENCHMARKS.md");
    let key = format!("{cpu}, {simd}");
    let (start, end) = (format!("<!-- bench:{key}:start -->"), format!("<!-- bench:{key}:end -->"));
    let text = std::fs::read_to_string(&md).unwrap_or_else(|_| "# Benchmarks\n\n<!-- bench:machines -->\n".into());
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{start}\n{table}{}", &text[..a], &text[b..]),
        _ => {
            let anchor = "<!-- bench:machines -->";
            let Some(at) = text.find(anchor) else {
                bail!("{}: no {anchor} marker (where each machine kind's table goes)", md.display());
            };
            let at = at + anchor.len();
            format!("{}\n\n### {key}\n\n{start}\n{table}{end}{}", &text[..at], &text[at..])
        }
    };
    std::fs::write(&md, new)?;
    println!("{}\n{}", path.display(), table);
    Ok(())
}
