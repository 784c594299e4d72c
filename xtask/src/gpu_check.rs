//! `cargo xtask gpu-check`: the checks that need an NVIDIA GPU, as one prepared run (issue 13),
//! for a machine that has one and reaches the package registries:
//!
//! 1. CUDA libtorch 2.9.0: a venv with the reference pins (`scripts/requirements-ref.txt`); the
//!    default Linux torch 2.9.0 wheel is a CUDA build and brings its CUDA libraries as `nvidia-*`
//!    wheels. `LIBTORCH` is the wheel's own `torch/` directory, whose `lib/` holds
//!    `libtorch_cuda.so`, so torch-sys links CUDA (the CPU checks use a view without it).
//! 2. One build with tch and wgpu in its own target directory (`target/gpu-check`: another
//!    libtorch than the CPU build's).
//! 3. The parity suites (tiny model with gradients, padded and padding-free; MiniLM; the
//!    optimizer; every kernel against burn's plain ops) on `tch-cuda:0` and on wgpu over the GPU's Vulkan driver.
//! 4. The bench against PyTorch CUDA: prediction of the 981 dev sentences (batch 32 and 64;
//!    `scripts/gpu_predict.py`) and training 2,048 examples (`finetune_hf.py` through
//!    `scripts/with_training_args.py use_cpu=false`), ours on `tch-cuda:0` and wgpu; JSON in
//!    `bench-results/gpu-<time>.json`, a table on stdout.
//!
//! Without a GPU (`nvidia-smi` missing or listing none) it says so and exits 0, or 1 with
//! `--require-gpu`; CI runs it that way, which checks that it builds and finds no GPU.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bench::{self, median, number_before, run_measured};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail when no NVIDIA GPU is found (default: say so and exit 0).
    #[arg(long)]
    require_gpu: bool,
    /// Where the CUDA torch venv goes (default: `$BERT_CACHE_DIR/gpu-check`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only the parity suites, no bench.
    #[arg(long)]
    skip_bench: bool,
    /// Rounds of the bench (medians reported).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

/// The suites that compare with PyTorch (bertrs-e2e's) or with burn's plain ops (bertrs-kernels'
/// `parity`).
const SUITES: [&str; 4] = ["tiny_parity", "minilm_parity", "optimizer_parity", "parity"];

pub fn run(args: Args) -> Result<()> {
    let gpu = match find_gpu() {
        Ok(gpu) => gpu,
        Err(why) => {
            println!("gpu-check: no NVIDIA GPU found ({why}); nothing to check on this machine.");
            println!("On a machine with one it sets up CUDA libtorch 2.9.0, builds tch and wgpu, runs {} on tch-cuda:0 and wgpu, and benches against PyTorch CUDA.", SUITES.join(", "));
            if args.require_gpu {
                bail!("--require-gpu: no GPU");
            }
            return Ok(());
        }
    };
    println!("gpu-check: {gpu}");
    let root = crate::root();
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => bertrs_assets::Store::from_env().root().join("gpu-check"),
    };
    let libtorch = cuda_libtorch(&root, &dir)?;
    let python = dir.join("venv/bin/python");
    let target = root.join("target/gpu-check");
    let lib_path = lib_path(&libtorch)?;
    let cargo = |args: &[&str]| {
        let mut c = crate::cargo();
        c.args(args).env("LIBTORCH", &libtorch).env("CARGO_TARGET_DIR", &target).env("LD_LIBRARY_PATH", &lib_path);
        c
    };
    crate::fetch_assets(&[])?;
    let features = "bertrs-e2e/tch,bertrs-e2e/wgpu,bertrs-cli/tch,bertrs-cli/wgpu,bertrs-kernels/tch,bertrs-kernels/wgpu";
    crate::status(cargo(&["build", "--release", "--locked", "-p", "bertrs-cli", "--features", "bertrs-cli/tch,bertrs-cli/wgpu"]))?;
    let mut failed = Vec::new();
    for backend in ["tch-cuda:0", "wgpu"] {
        for suite in SUITES {
            // `--workspace` with the features of the build: one set of compiled crates.
            let mut c = cargo(&["test", "--locked", "--workspace", "--features", features, "--test", suite]);
            c.env("BERT_TEST_BACKEND", backend).env("BERT_BACKEND", backend).env("BURN_DEVICE", backend);
            if let Err(e) = crate::status(c) {
                failed.push(format!("{suite} on {backend}: {e:#}"));
            }
        }
    }
    if !args.skip_bench {
        gpu_bench(&root, &python, &target, &lib_path, &gpu, args.rounds)?;
    }
    if !failed.is_empty() {
        bail!("gpu-check: {} suite(s) failed:\n{}", failed.len(), failed.join("\n"));
    }
    println!("gpu-check: every suite passed on tch-cuda:0 and wgpu ({gpu})");
    Ok(())
}

/// `nvidia-smi`'s name, memory and driver of GPU 0, or why there is none.
fn find_gpu() -> std::result::Result<String, String> {
    let out = Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"])
        .output()
        .map_err(|e| format!("nvidia-smi: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().next().map(str::trim).filter(|l| !l.is_empty()) {
        Some(first) if out.status.success() => Ok(first.to_string()),
        _ => Err(format!("nvidia-smi listed no GPU: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

/// The venv's torch (2.9.0, a CUDA build) as `LIBTORCH`.
fn cuda_libtorch(root: &Path, dir: &Path) -> Result<PathBuf> {
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        crate::status({
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]).arg(&venv);
            c
        })?;
    }
    crate::status({
        let mut c = Command::new(&python);
        c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"]).arg(root.join("scripts/requirements-ref.txt"));
        c
    })?;
    let out = Command::new(&python)
        .args(["-c", "import torch, os; assert torch.version.cuda, 'not a CUDA build'; print(os.path.dirname(torch.__file__))"])
        .output()
        .context("cannot ask the venv's torch where it is")?;
    if !out.status.success() {
        bail!("the venv's torch is not usable with CUDA: {}", String::from_utf8_lossy(&out.stderr));
    }
    let torch = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !torch.join("lib/libtorch_cuda.so").is_file() {
        bail!("{}: no lib/libtorch_cuda.so", torch.display());
    }
    Ok(torch)
}

fn lib_path(libtorch: &Path) -> Result<std::ffi::OsString> {
    let mut path = libtorch.join("lib").into_os_string();
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        path.push(":");
        path.push(old);
    }
    Ok(path)
}

/// Ours on tch-cuda:0 and wgpu against PyTorch CUDA, alternating, medians.
fn gpu_bench(root: &Path, python: &Path, target: &Path, lib_path: &std::ffi::OsStr, gpu: &str, rounds: usize) -> Result<()> {
    let setup = bench::Setup::new(root, python)?;
    let cli = target.join("release/bertrs-cli");
    let ours = |backend: &str| {
        let mut c = Command::new(&cli);
        c.env("BERT_BACKEND", backend).env("BURN_DEVICE", backend).env("LD_LIBRARY_PATH", lib_path);
        c
    };
    let mut rows = Vec::new();
    let mut record = |work: String, backend: &str, o: Vec<f64>, t: Vec<f64>| {
        let (om, tm) = (median(o.clone()), median(t.clone()));
        println!("{work} [{backend}]: ours {om:.1}, PyTorch CUDA {tm:.1}, ratio {:.2}x", om / tm);
        rows.push(json!({"work": work, "backend": backend, "ours": o, "pytorch_cuda": t, "ratio": om / tm}));
    };
    for bs in [32usize, 64] {
        let (mut theirs, mut tch, mut wgpu) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let out = setup.work.join("gpu-infer.json");
            let mut c = Command::new(python);
            c.arg(root.join("scripts/gpu_predict.py")).arg("--model-dir").arg(&setup.minilm).arg("--data").arg(&setup.tsv);
            c.arg("--harness").arg(&setup.harness).args(["--repeats", "1", "--batch-sizes", &bs.to_string()]).arg("--out").arg(&out);
            run_measured(c, &format!("PyTorch CUDA predict batch {bs} (round {})", round + 1))?;
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
            theirs.push(v["dev"][bs.to_string()]["end_to_end_ex_per_s_median"].as_f64().unwrap_or(f64::NAN));
            for (backend, into) in [("tch-cuda:0", &mut tch), ("wgpu", &mut wgpu)] {
                let mut c = ours(backend);
                c.arg("predict").arg("--model").arg(&setup.minilm).arg("--input").arg(&setup.dev_jsonl);
                c.arg("--output").arg(setup.work.join("gpu-preds.jsonl")).args(["--batch-size", &bs.to_string()]);
                let r = run_measured(c, &format!("ours predict batch {bs} on {backend} (round {})", round + 1))?;
                into.push(number_before(&r.output, " examples/s").unwrap_or(f64::NAN));
            }
        }
        record(format!("predict batch {bs} (examples/s)"), "tch-cuda:0", tch, theirs.clone());
        record(format!("predict batch {bs} (examples/s)"), "wgpu", wgpu, theirs);
    }
    let (mut theirs, mut tch, mut wgpu) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let out = setup.work.join("gpu-finetune.json");
        let mut c = Command::new(python);
        c.arg(root.join("scripts/with_training_args.py")).args(["use_cpu=false", "--"]).arg(setup.harness.join("finetune_hf.py"));
        c.arg("--model-dir").arg(&setup.minilm).arg("--data").arg(&setup.tsv).env("HF_HUB_OFFLINE", "1");
        c.args(["--train-limit", "2048", "--eval-limit", "64", "--epochs", "1", "--lr", "5e-5", "--batch-size", "32"]).arg("--out").arg(&out);
        run_measured(c, &format!("PyTorch CUDA train 2048 examples (round {})", round + 1))?;
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
        theirs.push(v["timing"]["train_examples_per_s"].as_f64().unwrap_or(f64::NAN));
        for (backend, into) in [("tch-cuda:0", &mut tch), ("wgpu", &mut wgpu)] {
            let dir = setup.work.join(format!("gpu-train-{}", backend.replace(':', "")));
            let mut c = ours(backend);
            c.arg("train").arg("--model").arg(&setup.minilm);
            c.args(["--train-limit", "2048", "--eval-limit", "64", "--save-strategy", "no", "--overwrite-output-dir", "--output-dir"]).arg(&dir);
            run_measured(c, &format!("ours train 2048 examples on {backend} (round {})", round + 1))?;
            let res: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("train_results.json"))?)?;
            into.push(res["train_samples_per_second"].as_f64().unwrap_or(f64::NAN));
        }
    }
    record("train 2048 examples, shuffled (examples/s)".into(), "tch-cuda:0", tch, theirs.clone());
    record("train 2048 examples, shuffled (examples/s)".into(), "wgpu", wgpu, theirs);
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let path = root.join("bench-results").join(format!("gpu-{stamp}.json"));
    std::fs::create_dir_all(root.join("bench-results"))?;
    std::fs::write(&path, serde_json::to_vec_pretty(&json!({"gpu": gpu, "cpu": bench::cpu_model(), "rows": rows}))?)?;
    println!("{}", path.display());
    Ok(())
}
