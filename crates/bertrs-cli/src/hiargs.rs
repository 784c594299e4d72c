//! `train`'s options after validation (ripgrep's "high-level" arguments): what clap parsed
//! (`args.rs`) turned into the typed values the run uses. Nothing here reads data or
//! weights; every error names the flag.

use anyhow::{Result, bail};
use bertrs_data::{Columns, LabelOptions};
use bertrs_train::TrainingArgs;
use burn::tensor::Device;

use crate::args::TrainArgs;
use crate::model_dir;

/// The validated options of one `train` run.
pub(crate) struct TrainOptions {
    /// HF `TrainingArguments`, checked (`TrainingArgs::validate`).
    pub training: TrainingArgs,
    /// The training file's columns (the group column included).
    pub columns: Columns,
    pub labels: LabelOptions,
    pub device: Device,
}

impl TrainOptions {
    pub(crate) fn new(args: &TrainArgs) -> Result<Self> {
        Ok(Self {
            training: training_args(args)?,
            columns: columns(args),
            labels: LabelOptions { problem_type: args.problem_type, delimiter: args.label_delimiter.clone(), class_names: None },
            device: model_dir::device(args.backend.backend.as_deref())?,
        })
    }
}

fn training_args(a: &TrainArgs) -> Result<TrainingArgs> {
    let t = TrainingArgs {
        learning_rate: a.learning_rate,
        weight_decay: a.weight_decay,
        max_grad_norm: a.max_grad_norm,
        num_train_epochs: a.epochs,
        max_steps: a.max_steps,
        lr_scheduler_type: a.lr_scheduler_type,
        warmup_steps: a.warmup_steps,
        warmup_ratio: a.warmup_ratio,
        per_device_train_batch_size: a.batch_size,
        per_device_eval_batch_size: a.eval_batch_size,
        seed: a.seed,
        eval_strategy: a.eval_strategy,
        eval_steps: a.eval_steps,
        logging_steps: a.logging_steps,
        gradient_accumulation_steps: a.gradient_accumulation_steps,
        group_by_length: a.group_by_length,
        dataloader_drop_last: a.dataloader_drop_last,
        output_dir: Some(a.output_dir.clone()),
        save_strategy: a.save_strategy,
        save_steps: a.save_steps,
        save_total_limit: a.save_total_limit,
        load_best_model_at_end: a.load_best_model_at_end,
        metric_for_best_model: a.metric_for_best_model.clone(),
        greater_is_better: a.greater_is_better,
        early_stopping_patience: a.early_stopping_patience,
        early_stopping_threshold: a.early_stopping_threshold,
        ..TrainingArgs::default()
    };
    t.validate()?;
    Ok(t)
}

/// The checkpoint to continue from, and the guard HF's run_glue puts on --output-dir: files
/// already there are not replaced unless the user resumes or asks to overwrite. Overwriting
/// starts by removing the earlier run's checkpoints and results, so none of them can be
/// resumed, rotated or read as this run's.
pub(crate) fn resume_from(args: &TrainArgs) -> Result<Option<std::path::PathBuf>> {
    let out = &args.output_dir;
    match &args.resume {
        Some(None) => match bertrs_train::checkpoint::last(out) {
            Some(c) => Ok(Some(c)),
            None => bail!("--resume: no checkpoint-<step> directory in {}", out.display()),
        },
        Some(Some(p)) => {
            if !p.join(bertrs_train::checkpoint::STATE_FILE).is_file() {
                bail!("--resume {}: not a checkpoint directory (no {})", p.display(), bertrs_train::checkpoint::STATE_FILE);
            }
            Ok(Some(p.clone()))
        }
        None => {
            if crate::output_dir::holds_files(out)? {
                if !args.overwrite_output_dir {
                    bail!(
                        "output directory {} already exists and is not empty: use --resume to continue its run, --overwrite-output-dir to replace it, or another --output-dir",
                        out.display()
                    );
                }
                crate::output_dir::remove_previous_run(out)?;
            }
            Ok(None)
        }
    }
}

fn columns(args: &TrainArgs) -> Columns {
    Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        label: args.label_column.clone(),
        require_label: true,
        group: args.group_column.clone(),
        keep: Vec::new(),
    }
}
