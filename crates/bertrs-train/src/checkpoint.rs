//! Checkpoints (HF `checkpoint-<step>/`): everything a run needs to continue exactly where it
//! stopped. The model and the optimizer state are burn records (burnpack, full precision, with
//! the parameter ids that key the optimizer state); the loop's own state is
//! `trainer_state.json`. The schedule is a function of the step and the shuffling and dropout
//! seeds are functions of (seed, epoch, batch), so the step and the position are the whole of
//! their state (HF saves `scheduler.pt` and `rng_state.pth` instead).
//!
//! A checkpoint directory is written under a temporary name, synced, and renamed into place
//! (`bertrs_fs::persist_dir`), so a run killed while saving leaves the previous checkpoints
//! intact and no partial one; the leftover temporary directory is removed by the next run.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;

use crate::state::TrainerState;
use crate::{Classifier, Error, Result};

pub const MODEL_FILE: &str = "model.bpk";
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
pub const STATE_FILE: &str = "trainer_state.json";

/// `checkpoint-<step>` directories under `dir`, complete or not, oldest first.
pub fn list_all(dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let step = name.strip_prefix("checkpoint-")?.parse().ok()?;
            e.file_type().ok()?.is_dir().then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// `checkpoint-<step>` directories under `dir` that hold a trainer state, oldest first.
pub fn list(dir: &Path) -> Vec<(usize, PathBuf)> {
    list_all(dir).into_iter().filter(|(_, p)| p.join(STATE_FILE).is_file()).collect()
}

/// HF `get_last_checkpoint`: the checkpoint with the highest step.
pub fn last(dir: &Path) -> Option<PathBuf> {
    list(dir).pop().map(|(_, p)| p)
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Checkpoint { path: path.to_path_buf(), msg: e.to_string() }
}

/// Writes `checkpoint-<step>` atomically; `export` may add files (e.g. an HF model directory).
pub(crate) fn save<M: Classifier>(
    dir: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    state: &TrainerState,
) -> Result<PathBuf> {
    let final_dir = dir.join(format!("checkpoint-{}", state.global_step));
    let tmp = bertrs_fs::temp_dir_in(dir, &format!("checkpoint-{}", state.global_step)).map_err(|e| io(dir, e))?;
    let at = |f: &str| tmp.path().join(f);
    model.clone().save_file(at(MODEL_FILE)).map_err(|e| io(&at(MODEL_FILE), e))?;
    optim.save(at(OPTIMIZER_FILE)).map_err(|e| io(&at(OPTIMIZER_FILE), e))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| io(&at(STATE_FILE), e))?;
    std::fs::write(at(STATE_FILE), json).map_err(|e| io(&at(STATE_FILE), e))?;
    model.export(tmp.path()).map_err(|e| io(tmp.path(), e))?;
    bertrs_fs::persist_dir(tmp, &final_dir).map_err(|e| io(&final_dir, e))?;
    Ok(final_dir)
}

/// Deletes the oldest checkpoints beyond `limit`, never the best one (HF `_rotate_checkpoints`:
/// with a limit of 1 and a best checkpoint that is not the newest it keeps 2, so that the
/// run stays resumable).
pub(crate) fn rotate(dir: &Path, limit: usize, best: Option<&Path>) -> Result<()> {
    let all = list(dir);
    let newest_is_best = all.last().is_some_and(|(_, p)| Some(p.as_path()) == best);
    let limit = if limit == 1 && best.is_some() && !newest_is_best { 2 } else { limit };
    let mut excess = all.len().saturating_sub(limit);
    for (_, path) in all {
        if excess == 0 {
            break;
        }
        if Some(path.as_path()) == best {
            continue;
        }
        tracing::info!(checkpoint = %path.display(), "deleting older checkpoint (save_total_limit)");
        bertrs_fs::remove_dir_atomic(&path).map_err(|e| io(&path, e))?;
        excess -= 1;
    }
    Ok(())
}

/// The loop state saved in a checkpoint directory.
pub fn load_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| io(&path, e))
}

pub(crate) fn load_model<M: Module>(dir: &Path, model: M) -> Result<M> {
    let path = dir.join(MODEL_FILE);
    model.try_load_file(&path).map_err(|e| io(&path, e))
}

pub(crate) fn load_optimizer(dir: &Path, optim: ModuleOptimizer) -> Result<ModuleOptimizer> {
    let path = dir.join(OPTIMIZER_FILE);
    if !path.is_file() {
        return Err(io(&path, "missing"));
    }
    optim.load(&path).map_err(|e| io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_best_and_the_newest() {
        let make = |steps: &[usize]| {
            let tmp = tempfile::tempdir().unwrap();
            for s in steps {
                let d = tmp.path().join(format!("checkpoint-{s}"));
                std::fs::create_dir(&d).unwrap();
                std::fs::write(d.join(STATE_FILE), "{}").unwrap();
            }
            tmp
        };
        let kept = |dir: &Path| list(dir).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        // HF: the best is moved next to the newest, the oldest beyond the limit go.
        let t = make(&[10, 20, 22, 24]);
        rotate(t.path(), 2, Some(&t.path().join("checkpoint-20"))).unwrap();
        assert_eq!(kept(t.path()), [20, 24]);
        // A limit of 1 with an older best keeps 2: the newest must stay to resume from.
        let t = make(&[10, 20, 24]);
        rotate(t.path(), 1, Some(&t.path().join("checkpoint-10"))).unwrap();
        assert_eq!(kept(t.path()), [10, 24]);
        let t = make(&[10, 20, 24]);
        rotate(t.path(), 1, Some(&t.path().join("checkpoint-24"))).unwrap();
        assert_eq!(kept(t.path()), [24]);
        let t = make(&[10, 20, 24]);
        rotate(t.path(), 1, None).unwrap();
        assert_eq!(kept(t.path()), [24]);
    }
}
