//! Where a prediction run is, so a killed one continues (`predict --resume`): the work files
//! beside the output and a small JSON state, rewritten atomically after each window.
//!
//! The state names the run (input file, its size and modification time, model, and every
//! setting that changes the output bytes); a resume under other settings is refused, since
//! its output would not be what an uninterrupted run writes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The files a run works in, named after its `--output`.
#[derive(Debug, Clone)]
pub struct Paths {
    pub output: PathBuf,
    /// JSON Lines written so far.
    pub partial: PathBuf,
    /// Parquet: one finished file a window.
    pub parts: PathBuf,
    pub state: PathBuf,
}

impl Paths {
    pub fn new(output: &Path) -> Self {
        let with = |suffix: &str| {
            let mut s = output.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        Self { output: output.to_path_buf(), partial: with(".partial"), parts: with(".parts"), state: with(".resume.json") }
    }
}

/// What identifies a run: a resume must match it exactly.
pub fn run_id(inputs: &[PathBuf], settings: &str) -> Result<Value> {
    let files = inputs
        .iter()
        .map(|input| {
            let meta = std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos().to_string());
            let path = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
            Ok(json!({"path": path, "input_bytes": meta.len(), "input_modified_ns": modified}))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({"inputs": files, "settings": settings}))
}

/// The model's config and weight files by size and modification time: weights replaced
/// in place (a new fine-tune into the same directory) make another run.
pub fn model_stamp(dir: &Path) -> String {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let weights = name == "config.json" || name.ends_with(".safetensors") || name.ends_with(".bin");
            let meta = std::fs::metadata(e.path()).ok().filter(|_| weights)?;
            let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
            Some(format!("{name}:{}:{modified}", meta.len()))
        })
        .collect();
    files.sort();
    files.join(",")
}

/// Progress recorded after a window: rows and windows done, and the sink's position (bytes
/// of JSON Lines, or Parquet parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Done {
    pub rows: u64,
    pub windows: u64,
    pub position: u64,
}

pub fn save(path: &Path, run: &Value, done: Done) -> Result<()> {
    let state = json!({"version": 1, "run": run, "rows_done": done.rows, "windows_done": done.windows, "position": done.position});
    bertrs_fs::write_atomic(path, &serde_json::to_vec_pretty(&state)?)?;
    Ok(())
}

/// The progress of the partial run at `path`, which must be the run `run`; `None` when
/// there is no partial run.
pub fn load(path: &Path, run: &Value) -> Result<Option<Done>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let state: Value = serde_json::from_slice(&bytes).with_context(|| format!("{}: not a predict resume state", path.display()))?;
    let recorded = &state["run"];
    if recorded != run {
        let differs: Vec<String> = ["inputs", "settings"]
            .iter()
            .filter(|k| recorded[**k] != run[**k])
            .map(|k| format!("{k}: was {}, now {}", recorded[*k], run[*k]))
            .collect();
        bail!(
            "{}: the partial run was made with another input or settings ({}); run without --resume to start over",
            path.display(),
            differs.join("; ")
        );
    }
    let field = |k: &str| state[k].as_u64().with_context(|| format!("{}: no `{k}` count", path.display()));
    Ok(Some(Done { rows: field("rows_done")?, windows: field("windows_done")?, position: field("position")? }))
}
