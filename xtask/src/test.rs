//! `cargo xtask test`: the one test command (README, CI). Fetches the pinned assets once,
//! then runs the workspace tests on each backend asked for.
//!
//! All backends asked for are compiled into one build (the model code picks the device at run
//! time), so adding tch or wgpu costs their own crates once rather than a second full build of
//! burn; the tests then run once per backend with `BERT_TEST_BACKEND`/`BERT_BACKEND` set.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, bail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Backends to test (flex, tch, wgpu); default: flex, plus tch when LIBTORCH is set.
    /// wgpu needs a Vulkan driver (Mesa lavapipe on machines without a GPU).
    #[arg(long = "backend", value_delimiter = ',', env = "BERT_TEST_BACKENDS")]
    backends: Vec<String>,
    /// Extra arguments for the test binaries (after `--`), e.g. a test name filter.
    #[arg(last = true)]
    rest: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    crate::fetch_assets(&[])?;
    let (backends, features) = crate::backends(&args.backends)?;
    let features: Vec<String> = features.iter().map(|f| format!("bert-e2e/{f},bert-cli/{f}")).collect();
    let libtorch_path = if backends.iter().any(|b| b == "tch") {
        Some(libtorch_lib_path()?)
    } else {
        None
    };
    for (i, backend) in backends.iter().enumerate() {
        let mut cmd = crate::cargo();
        cmd.args(["test", "--workspace", "--locked"]);
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        if let Some(path) = &libtorch_path {
            cmd.env("LD_LIBRARY_PATH", path);
        }
        // Without it the first kernels autotune for minutes on a software rasteriser.
        cmd.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
        cmd.env("BERT_TEST_BACKEND", backend).env("BERT_BACKEND", backend);
        // burn's `Device::default()` (which optimizer-state loading uses before moving the
        // state to the parameters' device) would otherwise prefer wgpu whenever it is built in.
        cmd.env("BURN_DEVICE", backend);
        if i > 0 {
            // Tokenizer, data, assets and metrics tests do not touch a backend: once is enough.
            cmd.args(["--exclude", "bert-tokenizer", "--exclude", "bert-data", "--exclude", "bert-assets"]);
        }
        let mut rest = args.rest.clone();
        if backend == "wgpu" {
            // lavapipe runs BERT at a few GFLOP/s: the real-model fine-tune stays on the CPU
            // backends; every parity test (tiny and MiniLM) and `predict` run on wgpu too.
            rest.extend(["--skip".into(), "short_real_fine_tune".into()]);
        }
        if std::env::var_os("BERT_REF_PYTHON").is_some() {
            // The round trips with Python transformers (ignored without a Python to run).
            rest.push("--include-ignored".into());
        }
        if !rest.is_empty() {
            cmd.arg("--").args(&rest);
        }
        crate::status(cmd)?;
    }
    // Fuzzing for a bounded time (CI sets it); the committed inputs are replayed above on
    // stable either way (tests/fuzz_replay.rs).
    match std::env::var("BERT_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(seconds) if seconds > 0 => crate::fuzz::run(crate::fuzz::Args { seconds, targets: Vec::new() })?,
        _ => eprintln!("fuzzing skipped: set BERT_FUZZ_SECONDS (needs nightly and cargo-fuzz), or run `cargo xtask fuzz`"),
    }
    Ok(())
}

/// `LD_LIBRARY_PATH` for test binaries linked to libtorch: the real library directory, not
/// a view of symlinks, because libtorch finds its helper libraries through `$ORIGIN` run paths.
pub fn libtorch_lib_path() -> Result<OsString> {
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        bail!("the tch backend needs LIBTORCH (see README: Backends)");
    };
    let view = PathBuf::from(libtorch).join("lib");
    let lib = std::fs::canonicalize(view.join("libtorch_cpu.so"))
        .ok()
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .unwrap_or(view);
    let mut path = OsString::from(lib);
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        path.push(":");
        path.push(old);
    }
    Ok(path)
}
