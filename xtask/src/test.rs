//! `cargo xtask test`: the one test command (README, CI). Fetches the pinned assets once,
//! then runs the workspace tests on each backend: flex always, `tch` when `LIBTORCH`
//! points at a libtorch, `wgpu` when asked (it needs a Vulkan driver, e.g. Mesa lavapipe).

use anyhow::{Result, bail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Backends to test (flex, tch, wgpu); default: flex, plus tch when LIBTORCH is set.
    #[arg(long = "backend", value_delimiter = ',')]
    backends: Vec<String>,
    /// Also run the tests that check our exports with Python transformers; needs
    /// `BERT_REF_PYTHON` (a Python with the reference harness's pinned packages).
    #[arg(long)]
    python: bool,
    /// Extra arguments for `cargo test` (after `--`), e.g. a test name filter.
    #[arg(last = true)]
    rest: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    crate::fetch_assets(&[])?;
    let mut backends = args.backends.clone();
    if backends.is_empty() {
        backends.push("flex".into());
        if std::env::var_os("LIBTORCH").is_some() {
            backends.push("tch".into());
        }
    }
    for backend in &backends {
        let mut cmd = crate::cargo();
        cmd.args(["test", "--workspace", "--locked"]);
        match backend.as_str() {
            "flex" => {}
            "tch" => {
                let Some(libtorch) = std::env::var_os("LIBTORCH") else {
                    bail!("the tch backend needs LIBTORCH (see README: Backends)");
                };
                // The test binaries link libtorch dynamically. The real library directory, not
                // a view of symlinks: libtorch finds its CUDA helper libraries (cupti, cudart)
                // through `$ORIGIN`-relative run paths.
                let view = std::path::PathBuf::from(libtorch).join("lib");
                let lib = std::fs::canonicalize(view.join("libtorch_cpu.so"))
                    .ok()
                    .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or(view);
                let mut path = std::ffi::OsString::from(lib);
                if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
                    path.push(":");
                    path.push(old);
                }
                cmd.env("LD_LIBRARY_PATH", path);
                cmd.args(["--features", "bert-e2e/tch,bert-cli/tch"]);
            }
            "wgpu" => {
                cmd.args(["--features", "bert-e2e/wgpu,bert-cli/wgpu"]);
                // Without it the first kernels autotune for minutes on a software rasteriser.
                cmd.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
            }
            other => bail!("unknown backend `{other}` (flex, tch, wgpu)"),
        }
        cmd.env("BERT_TEST_BACKEND", backend).env("BERT_BACKEND", backend);
        if !args.rest.is_empty() {
            cmd.arg("--").args(&args.rest);
        }
        crate::status(cmd)?;
    }
    if args.python {
        if std::env::var_os("BERT_REF_PYTHON").is_none() {
            bail!("--python needs BERT_REF_PYTHON");
        }
        let mut cmd = crate::cargo();
        cmd.args(["test", "--locked", "-p", "bert-cli", "--test", "hf_roundtrip", "--", "--ignored"]);
        crate::status(cmd)?;
    }
    Ok(())
}
