//! `cargo xtask download-weights`: an HF model into the HF cache (`models--org--name/…`, the
//! layout Python's huggingface_hub uses, so either side reuses the other's downloads), with
//! resumable, verified downloads and a progress bar; `--output` also writes a plain directory.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use bertrs_assets::Hub;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The hub repository.
    #[arg(long, default_value = "bert-base-uncased")]
    model: String,
    /// A branch, tag or commit.
    #[arg(long, default_value = "main")]
    revision: String,
    /// Only these files (default: config, weights and tokenizer files, as from_pretrained).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    files: Vec<String>,
    /// Also copy the files into this plain directory (an HF model directory).
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let hub = Hub::from_env();
    eprintln!("{} ({}) from {} into {}", args.model, args.revision, hub.endpoint(), hub.cache().display());
    let mut bar = Bar::default();
    let snapshot = if args.files.is_empty() {
        hub.download_model(&args.model, &args.revision, &mut |f, d, t| bar.show(f, d, t))
    } else {
        let mut last = None;
        for f in &args.files {
            last = Some(hub.download(&args.model, &args.revision, f, &mut |d, t| bar.show(f, d, t))?);
        }
        Ok(last.and_then(|p| p.parent().map(|d| d.to_path_buf())).unwrap_or_default())
    }
    .with_context(|| format!("downloading {}", args.model))?;
    bar.finish();
    println!("{}", snapshot.display());
    if let Some(out) = &args.output {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for entry in std::fs::read_dir(&snapshot)?.flatten() {
            let dest = out.join(entry.file_name());
            let tmp = out.join(format!(".{}.tmp", entry.file_name().to_string_lossy()));
            // fs::copy follows the snapshot's symlinks to the blobs.
            std::fs::copy(entry.path(), &tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
        }
        println!("{}", out.display());
    }
    Ok(())
}

/// A one-line progress bar on stderr, redrawn at most every percent.
#[derive(Default)]
struct Bar {
    file: String,
    shown: Option<u64>,
}

impl Bar {
    fn show(&mut self, file: &str, done: u64, total: Option<u64>) {
        if file != self.file {
            self.finish();
            self.file = file.to_string();
        }
        let mb = |b: u64| b as f64 / 1e6;
        let line = match total {
            Some(t) if t > 0 => {
                let pct = done * 100 / t;
                if self.shown == Some(pct) {
                    return;
                }
                self.shown = Some(pct);
                let fill = (pct / 4) as usize;
                format!("{file} [{}{}] {pct:>3}% {:.1}/{:.1} MB", "#".repeat(fill), " ".repeat(25 - fill), mb(done), mb(t))
            }
            _ => format!("{file} {:.1} MB", mb(done)),
        };
        eprint!("\r{line}");
        let _ = std::io::stderr().flush();
    }

    fn finish(&mut self) {
        if self.shown.take().is_some() {
            eprintln!();
        }
    }
}
