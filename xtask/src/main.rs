//! `cargo xtask …` (the cargo-xtask convention): project automation in Rust, run through
//! the `xtask` alias in `.cargo/config.toml`. Cargo is invoked through `$CARGO`.

mod bench;
mod bench_serve;
mod download;
mod fixtures;
mod fuzz;
mod gpu_check;
mod package;
mod readme_maps;
mod test;
mod test_plan;
mod test_tally;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Fetch the pinned real assets (all of them, or those named) into the cache.
    FetchAssets {
        names: Vec<String>,
    },
    /// Our CLI against the PyTorch reference harness, side by side (BENCHMARKS.md).
    Bench(bench::Args),
    /// `bertrs-cli serve` under load (1, 16, 64 clients) against `predict`'s batch throughput.
    BenchServe(bench_serve::Args),
    /// Download an HF hub model into the HF cache (HF_ENDPOINT, HF_HOME/HF_HUB_CACHE, HF_TOKEN).
    DownloadWeights(download::Args),
    /// Regenerate the PyTorch parity fixtures with the reference harness's pinned versions.
    Fixtures(fixtures::Args),
    /// Fetch assets, then run the whole test suite on each backend asked for (and the fuzz
    /// targets for BERT_FUZZ_SECONDS each, when set).
    Test(test::Args),
    /// Run each cargo-fuzz target for a bounded time (nightly and cargo-fuzz).
    Fuzz(fuzz::Args),
    /// On a machine with an NVIDIA GPU: CUDA libtorch, tch and wgpu builds, the parity suites
    /// on tch-cuda:0 and wgpu, the bench against PyTorch CUDA. Elsewhere: says no GPU.
    GpuCheck(gpu_check::Args),
    /// Package every publishable crate (`cargo package --workspace`) and build them all
    /// from the packaged sources.
    Package(package::Args),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Cmd::FetchAssets { names } => fetch_assets(&names),
        Cmd::Bench(args) => bench::run(args),
        Cmd::BenchServe(args) => bench_serve::run(args),
        Cmd::DownloadWeights(args) => download::run(args),
        Cmd::Fixtures(args) => fixtures::run(args),
        Cmd::Test(args) => test::run(args),
        Cmd::Fuzz(args) => fuzz::run(args),
        Cmd::GpuCheck(args) => gpu_check::run(args),
        Cmd::Package(args) => package::run(args),
    }
}

pub fn fetch_assets(names: &[String]) -> Result<()> {
    let manifest = bertrs_assets::Manifest::builtin()?;
    let names: Vec<String> = if names.is_empty() {
        manifest.assets.iter().map(|a| a.name.clone()).collect()
    } else {
        names.to_vec()
    };
    let store = bertrs_assets::Store::from_env();
    for name in names {
        let dir = store.fetch(&name).with_context(|| format!("fetching `{name}`"))?;
        println!("{name}: {}", dir.display());
    }
    Ok(())
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    // `cargo run` (the alias) sets it at run time; the compile-time value can be another
    // checkout's when several share a target directory.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The backends asked for (default: flex, plus tch when `LIBTORCH` is set) and the ones
/// among them that need a cargo feature (flex is the default build).
pub fn backends(asked: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut backends = asked.to_vec();
    if backends.is_empty() {
        backends.push("flex".into());
        if std::env::var_os("LIBTORCH").is_some() {
            backends.push("tch".into());
        }
    }
    let mut features = Vec::new();
    for b in &backends {
        match b.as_str() {
            "flex" => {}
            "tch" | "wgpu" => features.push(b.clone()),
            other => bail!("unknown backend `{other}` (flex, tch, wgpu)"),
        }
    }
    Ok((backends, features))
}

/// A cargo command at the workspace root, without the variables `cargo run` set for xtask
/// itself (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, …): build scripts such as ring's declare
/// `rerun-if-env-changed` on those names, and cargo compares them with its own environment, so
/// inheriting xtask's values made every build through xtask rerun ring's build script and
/// rebuild what depends on it, after any build from a shell (and between clones at other
/// paths).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    for (name, _) in std::env::vars_os() {
        let set_for_xtask = name.to_str().is_some_and(|n| {
            n.starts_with("CARGO_PKG_")
                || matches!(
                    n,
                    "CARGO_MANIFEST_DIR" | "CARGO_MANIFEST_PATH" | "CARGO_MANIFEST_LINKS" | "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
                )
        });
        if set_for_xtask {
            c.env_remove(name);
        }
    }
    c
}

/// Runs a command, failing with its rendering when it fails.
pub fn status(mut cmd: Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let st = cmd.status().with_context(|| format!("cannot run {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed ({st})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cmd, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied())).map(|c| c.command)
    }

    /// `cargo test` sets the package's variables for this process, as `cargo run` does for
    /// xtask: the child cargo must not see them (ring's build script would rerun).
    #[test]
    fn child_cargo_does_not_inherit_xtasks_package_variables() {
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some() && std::env::var_os("CARGO_PKG_NAME").is_some());
        let cmd = cargo();
        let removed: Vec<_> = cmd.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k.to_string_lossy().into_owned()).collect();
        for name in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION_MAJOR"] {
            assert!(removed.iter().any(|r| r == name), "{name} reaches the child cargo: {removed:?}");
        }
        assert!(!removed.iter().any(|r| r == "CARGO_TARGET_DIR" || r == "CARGO_HOME"), "{removed:?}");
    }

    #[test]
    fn backends_name_their_features_and_refuse_unknown_ones() {
        let asked = |v: &[&str]| backends(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let (b, f) = asked(&["flex", "tch", "wgpu"]).unwrap();
        assert_eq!((b, f), (vec!["flex".to_string(), "tch".into(), "wgpu".into()], vec!["tch".to_string(), "wgpu".into()]));
        assert_eq!(asked(&["wgpu"]).unwrap().1, ["wgpu"]);
        let e = asked(&["flex", "cuda"]).unwrap_err().to_string();
        assert!(e.contains("unknown backend `cuda`"), "{e}");
        // Nothing asked: flex first, plus tch where libtorch is set up.
        let (b, _) = asked(&[]).unwrap();
        assert_eq!(b[0], "flex");
        assert_eq!(b.contains(&"tch".to_string()), std::env::var_os("LIBTORCH").is_some());
    }

    #[test]
    fn the_commands_parse_as_documented() {
        match parse(&["test", "--backend", "flex,wgpu", "--", "--nocapture", "kill_9"]).unwrap() {
            Cmd::Test(a) => assert_eq!(format!("{a:?}"), r#"Args { backends: ["flex", "wgpu"], rest: ["--nocapture", "kill_9"] }"#),
            other => panic!("{other:?}"),
        }
        match parse(&["fuzz", "--seconds", "5", "data_rows"]).unwrap() {
            Cmd::Fuzz(a) => assert_eq!((a.seconds, a.targets), (5, vec!["data_rows".to_string()])),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&["bench", "--group-by-length", "--shuffled-only"]), Err(e) if e.kind() == clap::error::ErrorKind::ArgumentConflict));
        assert!(parse(&["bench", "--rounds", "two"]).is_err());
        assert!(parse(&["no-such-command"]).is_err());
        match parse(&["fetch-assets", "rotten-tomatoes"]).unwrap() {
            Cmd::FetchAssets { names } => assert_eq!(names, ["rotten-tomatoes"]),
            other => panic!("{other:?}"),
        }
    }
}
