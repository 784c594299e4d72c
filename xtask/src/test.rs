//! `cargo xtask test`: the one test command (README, CI). Fetches the pinned assets once,
//! builds every test binary once, then runs them on each backend asked for.
//!
//! All backends asked for are compiled into one build (the model code picks the device at run
//! time), so adding tch or wgpu costs their own crates once rather than a second full build of
//! burn. The runner starts the test binaries itself (as `cargo test` would: in the package's
//! directory, `BERT_TEST_BACKEND`/`BERT_BACKEND` set), so that each binary runs where
//! `test_plan.rs` says (backend-free tests once, the rest on every backend) and the summary
//! counts distinct tests (`test_tally.rs`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use crate::test_plan::{self, Scope};
use crate::test_tally::{Tally, filtered_out};

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

/// One test executable of the build.
struct Binary {
    package: String,
    /// `lib`, `bin`, or the integration test's name.
    target: String,
    exe: PathBuf,
    dir: PathBuf,
}

impl Binary {
    fn name(&self) -> String {
        format!("{}/{}", self.package, self.target)
    }
}

pub fn run(args: Args) -> Result<()> {
    crate::fetch_assets(&[])?;
    let (backends, features) = crate::backends(&args.backends)?;
    let features: Vec<String> = features.iter().map(|f| format!("bertrs-e2e/{f},bertrs-cli/{f}")).collect();
    let libtorch_path = if backends.iter().any(|b| b == "tch") {
        Some(libtorch_lib_path()?)
    } else {
        None
    };
    let mut binaries = build(&features)?;
    binaries.sort_by_key(Binary::name);
    let mut plan = Vec::new();
    for b in binaries {
        let scope = test_plan::scope(&b.package, &b.target).ok_or_else(|| {
            anyhow!("test binary {} ({}) has no scope in xtask/src/test_plan.rs: say whether it touches a backend", b.name(), b.exe.display())
        })?;
        plan.push((b, scope));
    }
    let env = |cmd: &mut Command, backend: &str| {
        if let Some(path) = &libtorch_path {
            cmd.env("LD_LIBRARY_PATH", path);
        }
        // Without it the first kernels autotune for minutes on a software rasteriser.
        cmd.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
        cmd.env("BERT_TEST_BACKEND", backend).env("BERT_BACKEND", backend);
        // burn's `Device::default()` (which optimizer-state loading uses before moving the
        // state to the parameters' device) would otherwise prefer wgpu whenever it is built in.
        cmd.env("BURN_DEVICE", backend);
    };
    // The round trips with Python transformers are ignored without a Python to run.
    let include_ignored = std::env::var_os("BERT_REF_PYTHON").is_some();
    let mut tally = Tally::default();
    for (pass, backend) in backends.iter().enumerate() {
        eprintln!("== tests on {backend} ==");
        if pass == 0 {
            // Doc examples compile against the crates' public API: once.
            let mut cmd = crate::cargo();
            cmd.args(["test", "--workspace", "--locked", "--doc"]);
            if !features.is_empty() {
                cmd.args(["--features", &features.join(",")]);
            }
            env(&mut cmd, backend);
            if !args.rest.is_empty() {
                cmd.arg("--").args(&args.rest);
            }
            stream(cmd, |line| tally.record("doc", backend, line))?;
        }
        for (b, scope) in &plan {
            let Some(mut libtest) = test_plan::filters(*scope, pass, backend) else { continue };
            // What the filters leave out, and why, from the binary's own list of tests.
            let listed = list_tests(b, |cmd| env(cmd, backend))?;
            if let Scope::Partly(prefixes) = scope
                && pass > 0
            {
                let free = listed.iter().filter(|t| !prefixes.iter().any(|p| t.contains(p))).count();
                tally.filtered(&b.name(), backend, free, &format!("backend-free, run on {}", backends[0]));
            }
            for (skip, reason) in test_plan::skipped(backend) {
                let n = listed.iter().filter(|t| t.contains(skip)).count();
                tally.filtered(&b.name(), backend, n, &format!("`{skip}`: {reason}"));
            }
            let mut rest = args.rest.clone();
            let asked: Vec<&String> = args.rest.iter().filter(|a| !a.starts_with('-')).collect();
            if let Scope::Partly(prefixes) = scope
                && pass > 0
                && !asked.is_empty()
            {
                // libtest ORs its filters: name the backend tests the command line asks for.
                let names: Vec<String> =
                    listed.iter().filter(|t| prefixes.iter().any(|p| t.contains(p)) && asked.iter().any(|a| t.contains(a.as_str()))).cloned().collect();
                if names.is_empty() {
                    continue;
                }
                libtest = std::iter::once("--exact".to_string()).chain(names).collect();
                rest.retain(|a| a.starts_with('-'));
            }
            if include_ignored {
                libtest.push("--include-ignored".into());
            }
            libtest.extend(rest);
            let mut cmd = Command::new(&b.exe);
            cmd.args(&libtest).current_dir(&b.dir).env("CARGO_MANIFEST_DIR", &b.dir).env("CARGO_PKG_NAME", &b.package);
            env(&mut cmd, backend);
            eprintln!("$ {} {}  [{backend}]", b.name(), libtest.join(" "));
            let name = b.name();
            stream(cmd, |line| {
                tally.record(&name, backend, line);
                if !args.rest.is_empty()
                    && let Some(n) = filtered_out(line)
                {
                    tally.filtered(&name, backend, n, "the command line's filter (with the above)");
                }
            })?;
        }
    }
    println!("{}", tally.summary());
    let failed = tally.failed();
    if !failed.is_empty() {
        bail!("{} test run(s) failed", failed.len());
    }
    // Fuzzing for a bounded time (CI sets it); the committed inputs are replayed above on
    // stable either way (tests/fuzz_replay.rs).
    match std::env::var("BERT_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(seconds) if seconds > 0 => crate::fuzz::run(crate::fuzz::Args { seconds, targets: Vec::new() })?,
        _ => eprintln!("fuzzing skipped: set BERT_FUZZ_SECONDS (needs nightly and cargo-fuzz), or run `cargo xtask fuzz`"),
    }
    Ok(())
}

/// `cargo test --no-run` once for the whole workspace; the test executables it built.
fn build(features: &[String]) -> Result<Vec<Binary>> {
    let mut cmd = crate::cargo();
    cmd.args(["test", "--workspace", "--locked", "--no-run", "--message-format=json-render-diagnostics"]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    eprintln!("$ {cmd:?}");
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("building the tests failed ({})", out.status);
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else { continue };
        let manifest = PathBuf::from(msg["manifest_path"].as_str().context("cargo's artifact without manifest_path")?);
        let dir = manifest.parent().map(PathBuf::from).context("manifest_path without a directory")?;
        let package = package_name(msg["package_id"].as_str().unwrap_or_default(), &dir);
        let kind = msg["target"]["kind"][0].as_str().unwrap_or_default();
        let target = match kind {
            "lib" | "rlib" | "proc-macro" => "lib".to_string(),
            "bin" => "bin".to_string(),
            _ => msg["target"]["name"].as_str().unwrap_or_default().to_string(),
        };
        binaries.push(Binary { package, target, exe: exe.into(), dir });
    }
    Ok(binaries)
}

/// The package name in a cargo package id: `path+file:///…/crates/bertrs-data#0.1.0` (named
/// after its directory) or `path+file:///…/tests#bertrs-e2e@0.1.0`.
fn package_name(id: &str, dir: &std::path::Path) -> String {
    match id.rsplit_once('#') {
        Some((_, tail)) if tail.contains('@') => tail.split('@').next().unwrap_or_default().to_string(),
        _ => dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string(),
    }
}

/// The names of a test binary's tests (`--list --format terse`: `NAME: test` lines).
fn list_tests(b: &Binary, env: impl Fn(&mut Command)) -> Result<Vec<String>> {
    let mut cmd = Command::new(&b.exe);
    cmd.args(["--list", "--format", "terse"]).current_dir(&b.dir);
    env(&mut cmd);
    let out = cmd.output().with_context(|| format!("cannot list {}", b.exe.display()))?;
    if !out.status.success() {
        bail!("{} --list failed ({})", b.name(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_suffix(": test")).map(String::from).collect())
}

/// Runs `cmd`, echoing and handing each stdout line to `each`; a failing exit status is
/// recorded by the lines (libtest prints FAILED), so only a command that prints no result
/// for a failure (a build error, a crash before any test) is an error here.
fn stream(mut cmd: Command, mut each: impl FnMut(&str)) -> Result<()> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut saw_failure = false;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        saw_failure |= line.starts_with("test result: FAILED");
        each(&line);
    }
    let status = child.wait()?;
    if !status.success() && !saw_failure {
        bail!("{cmd:?} failed ({status}) without a test failure to show for it");
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
