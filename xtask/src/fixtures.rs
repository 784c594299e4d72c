//! `cargo xtask fixtures`: regenerates `fixtures/` with PyTorch + transformers at the
//! versions pinned by the reference harness (`../shared/reference/README.md`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A Python venv holding the pinned packages; created (with pip) if missing.
    #[arg(long, env = "BERT_REF_VENV")]
    venv: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let venv = args
        .venv
        .unwrap_or_else(|| bert_assets::Store::from_env().root().join("ref-venv"));
    let python = venv.join("bin/python");
    if !python.is_file() {
        crate::status({
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]).arg(&venv);
            c
        })?;
        crate::status({
            let mut c = Command::new(&python);
            // The reference harness's pins, shared with CI's set-up (scripts/setup-torch.sh).
            c.args(["-m", "pip", "install", "-q", "-r"]).arg(crate::root().join("scripts/requirements-ref.txt"));
            c
        })?;
    }
    let root = crate::root();
    crate::status({
        let mut c = Command::new(&python);
        c.arg(root.join("scripts/make_tiny_fixtures.py"))
            .arg(root.join("fixtures/tiny"));
        c
    })?;
    // The MiniLM reference comes from the harness's own script, run on the pinned model.
    let minilm = bert_assets::Store::from_env()
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
