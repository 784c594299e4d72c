//! `cargo xtask fixtures`: regenerates `fixtures/` with PyTorch + transformers at the
//! versions pinned by the reference harness (`../shared/reference/README.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A Python venv holding the pinned packages; created (with pip) if missing.
    #[arg(long, env = "BERT_REF_VENV")]
    venv: Option<PathBuf>,
}

/// A Python with the reference harness's pins: `<venv>/bin/python`, the venv created (with
/// pip, from `scripts/requirements-ref.txt`, as CI's `scripts/setup-torch.sh`) if missing.
fn venv_python(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    if !venv.join(".complete").is_file() {
        crate::status({
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]).arg(venv);
            c
        })?;
        crate::status({
            let mut c = Command::new(&python);
            c.args(["-m", "pip", "install", "-q", "-r"]).arg(crate::root().join("scripts/requirements-ref.txt"));
            c
        })?;
        std::fs::write(venv.join(".complete"), b"")?;
    }
    Ok(python)
}

/// The reference Python in the asset cache (`<cache>/ref-venv`), set up on first use.
pub fn ref_python() -> Result<PathBuf> {
    venv_python(&bertrs_assets::Store::from_env().root().join("ref-venv"))
}

pub fn run(args: Args) -> Result<()> {
    let venv = args
        .venv
        .unwrap_or_else(|| bertrs_assets::Store::from_env().root().join("ref-venv"));
    let python = venv_python(&venv)?;
    let root = crate::root();
    crate::status({
        let mut c = Command::new(&python);
        c.arg(root.join("scripts/make_tiny_fixtures.py"))
            .arg(root.join("fixtures/tiny"));
        c
    })?;
    // scikit-learn's split indices for bertrs-data's splits.
    crate::status({
        let mut c = Command::new(&python);
        c.arg(root.join("scripts/make_split_fixtures.py")).arg(root.join("fixtures/splits/splits.json"));
        c
    })?;
    // The MiniLM reference comes from the harness's own script, run on the pinned model.
    let minilm = bertrs_assets::Store::from_env()
        .fetch("all-minilm-l6-v2")
        .context("fetching all-MiniLM-L6-v2")?;
    let script = root.join("../shared/reference/parity_ref.py");
    crate::status({
        let mut c = Command::new(&python);
        c.arg(&script)
            .env("REF_MODEL_DIR", &minilm)
            .env("REF_OUT", root.join("fixtures/minilm"));
        c
    })
}
