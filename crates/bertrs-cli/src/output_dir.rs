//! `--output-dir` of `train`: what counts as an earlier run's files, and clearing them when
//! `--overwrite-output-dir` replaces that run.

use std::path::Path;

use anyhow::{Context, Result};

/// What `train` writes beside the model (run_glue's and the Trainer's names, plus ours).
pub const RESULT_FILES: [&str; 8] = [
    "all_results.json",
    "train_results.json",
    "eval_results.json",
    "test_results.json",
    "trainer_state.json",
    "run_config.json",
    "metrics.jsonl",
    "curves.svg",
];

/// Whether `dir` holds anything but its lock file.
pub fn holds_files(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    Ok(entries.flatten().any(|e| e.file_name() != bertrs_fs::LOCK_FILE))
}

/// Removes an earlier run's checkpoints and result files (not the user's other files).
/// Its model files stay until this run's replace them.
pub fn remove_previous_run(dir: &Path) -> Result<()> {
    for (_, checkpoint) in bertrs_train::checkpoint::list_all(dir) {
        bertrs_fs::remove_dir_atomic(&checkpoint).with_context(|| format!("cannot remove the earlier run's {}", checkpoint.display()))?;
    }
    for name in RESULT_FILES {
        remove_if_there(&dir.join(name))?;
    }
    Ok(())
}

/// Removes weight files that are not this run's `model.safetensors`: an earlier model's
/// `pytorch_model.bin`, sharded index and shards would sit beside it as another model.
pub fn remove_other_weights(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let shard = |stem: &str, ext: &str| name.starts_with(stem) && name.contains("-of-") && name.ends_with(ext);
        let other = matches!(
            name.as_str(),
            "pytorch_model.bin" | "model.safetensors.index.json" | "pytorch_model.bin.index.json" | "tf_model.h5" | "flax_model.msgpack"
        ) || shard("model-", ".safetensors")
            || shard("pytorch_model-", ".bin");
        if other {
            remove_if_there(&e.path())?;
        }
    }
    Ok(())
}

/// Removes `dir` if it holds nothing but its lock file (a run that failed early).
pub fn remove_if_only_lock(dir: &Path) {
    if holds_files(dir).is_ok_and(|any| !any) {
        let _ = std::fs::remove_file(dir.join(bertrs_fs::LOCK_FILE));
        let _ = std::fs::remove_dir(dir);
    }
}

fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        _ => Ok(()),
    }
}
