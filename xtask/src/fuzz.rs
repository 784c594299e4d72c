//! `cargo xtask fuzz`: every `cargo fuzz` target of `fuzz/` (the loaders of untrusted input:
//! data files, safetensors, pytorch_model.bin, config.json, tokenizer files, `--config`
//! TOML) for a bounded time each, from the committed seeds and regressions. Needs the
//! nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Built without a sanitizer
//! (`-s none`): the workspace forbids `unsafe`, so what fuzzing finds here is panics, aborts
//! and runaway memory, and the build stays a few minutes.
//!
//! New inputs the fuzzers find go to a scratch corpus under the target directory; a crash
//! is left in `fuzz/artifacts/<target>/` and fails the run: copy it into
//! `fuzz/regressions/<target>/`, where `tests/fuzz_replay.rs` replays it on stable forever.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The targets, as in `fuzz/Cargo.toml` (and `fuzz/targets.rs`).
const TARGETS: [&str; 7] = ["data_rows", "parquet_rows", "safetensors", "pytorch_bin", "config_json", "tokenizer_dir", "toml_config"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Only these targets (default: all).
    pub targets: Vec<String>,
}

/// Whether `cargo +nightly fuzz` can run here.
pub fn available() -> bool {
    nightly().args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success())
}

fn nightly() -> Command {
    // rustup's proxy picks the toolchain; the `CARGO` of `cargo xtask` is stable's binary.
    let mut c = Command::new("cargo");
    c.arg("+nightly").env_remove("RUSTUP_TOOLCHAIN").env_remove("RUSTC").env_remove("RUSTDOC");
    c
}

pub fn run(args: Args) -> Result<()> {
    if !available() {
        bail!("`cargo +nightly fuzz` is not available: `rustup toolchain install nightly` and `cargo install cargo-fuzz`");
    }
    let targets: Vec<String> = if args.targets.is_empty() { TARGETS.iter().map(|t| t.to_string()).collect() } else { args.targets.clone() };
    for t in &targets {
        if !TARGETS.contains(&t.as_str()) {
            bail!("no fuzz target `{t}` (targets: {})", TARGETS.join(", "));
        }
    }
    let fuzz = crate::root().join("fuzz");
    let mut build = nightly();
    build.current_dir(&fuzz).args(["fuzz", "build", "-s", "none"]);
    crate::status(build)?;
    let scratch = target_dir().join("fuzz-corpus");
    for t in &targets {
        let work = scratch.join(t);
        std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
        let mut cmd = nightly();
        cmd.current_dir(&fuzz).args(["fuzz", "run", "-s", "none", t]).arg(&work).arg(fuzz.join("corpus").join(t));
        let regressions = fuzz.join("regressions").join(t);
        if regressions.is_dir() {
            cmd.arg(&regressions);
        }
        cmd.arg("--").args([
            format!("-max_total_time={}", args.seconds),
            "-max_len=16384".into(),
            "-rss_limit_mb=2048".into(),
            "-timeout=10".into(),
            "-print_final_stats=1".into(),
        ]);
        crate::status(cmd).with_context(|| {
            format!(
                "fuzz target `{t}` failed: its input is in fuzz/artifacts/{t}/; copy it into fuzz/regressions/{t}/, fix the code, rerun"
            )
        })?;
    }
    eprintln!("fuzzed {} targets for {} s each: no crash", targets.len(), args.seconds);
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate::root().join("target"))
}
