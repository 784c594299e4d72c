//! A generic training loop for burn classifiers with HF `Trainer` semantics. It knows nothing
//! about BERT: a model is reached through [`Classifier`], data through [`Dataset`].
//!
//! What is HF's and how it is done here (see README): AdamW is `torch.optim.AdamW`'s update
//! (`HfAdamW`: in place on flex and libtorch, burn's `AdamW` elsewhere), with HF's epsilon
//! (1e-8) and a second parameter group without weight decay for biases and norm weights;
//! gradient clipping is by the *global* norm (burn's clips per tensor); the learning-rate
//! schedules are HF's `get_*_schedule_with_warmup` formulas.
//!
//! ```no_run
//! use bertrs_train::{Classifier, Dataset, EvalStrategy, Trainer, TrainingArgs};
//!
//! fn fine_tune<M, D>(model: M, train: &D, eval: &D) -> bertrs_train::Result<M>
//! where
//!     M: Classifier,
//!     D: Dataset<Batch = M::Batch>,
//! {
//!     let args = TrainingArgs {
//!         learning_rate: 5e-5,
//!         weight_decay: 0.01,
//!         num_train_epochs: 1.0,
//!         per_device_train_batch_size: 32,
//!         eval_strategy: EvalStrategy::Epoch,
//!         output_dir: Some("runs/example".into()), // checkpoint-<step>/ go here
//!         ..TrainingArgs::default()
//!     };
//!     // `model` was built on `Device::flex().autodiff()`.
//!     let trainer = Trainer::new(args, burn::tensor::Device::flex(), 2)?;
//!     let out = trainer.train(model, train, Some(eval), |log| println!("{log:?}"))?;
//!     println!("{} steps, mean loss {:.4}", out.global_step, out.train_loss);
//!     Ok(out.model)
//! }
//! ```

mod adamw;
mod args;
mod best;
pub mod checkpoint;
mod clip;
pub mod metrics;
mod optim;
mod sampler;
mod schedule;
mod state;
mod step_times;
mod trainer;

pub use args::{EvalStrategy, InvalidArgs, SaveStrategy, SchedulerType, TrainingArgs, UnknownName};
pub use clip::clip_grad_norm;
pub use metrics::{
    ClassificationMetrics, EvalMetrics, METRIC_NAMES, MultiLabelMetrics, RegressionMetrics, classification_metrics,
    multilabel_metrics, regression_metrics,
};
pub use optim::hf_adamw;
pub use sampler::{length_grouped, shuffled};
pub use schedule::lr_lambda;
pub use state::{LogEntry, TrainerState};
pub use step_times::StepTimes;
pub use trainer::{Evaluation, Progress, TrainOutput, Trainer};

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// What one forward pass of a classifier gives the trainer.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The mean loss of the batch, `[1]`.
    pub loss: Tensor<1>,
    /// `[batch, num_labels]`.
    pub logits: Tensor<2>,
}

/// What one example should predict (bertrs-core's; for regression the first logit is the
/// prediction).
pub use bertrs_core::Target;

/// Whatever a [`Classifier::export`] failed on, kept whole (its source chain included).
pub type ExportError = Box<dyn std::error::Error + Send + Sync>;

/// Whatever a [`Dataset::batch`] failed on (a row that cannot be read or does not fit).
pub type BatchError = Box<dyn std::error::Error + Send + Sync>;

/// A model the trainer can train: a batch in, loss and logits out.
pub trait Classifier: Module + Clone + Sync {
    type Batch;
    fn step(&self, batch: Self::Batch) -> StepOutput;
    /// Whether a training batch may run as shards side by side (on flex and libtorch's CPU
    /// device, `bertrs_kernels::device::training_shards`): only when every random draw of
    /// `step` follows the thread's dropout stream, as `bertrs_kernels::dropout`'s (BERT's
    /// dropout) do. burn's own `Dropout` draws from the device's generator, one per process,
    /// which shards running at once would draw from in a different order on every run; so the
    /// default is one shard.
    fn parallel_shards(&self) -> bool {
        false
    }
    /// Extra files for each checkpoint directory (e.g. an HF model directory, so a checkpoint
    /// loads like any saved model); the trainer's own record is written regardless.
    fn export(&self, _dir: &Path) -> std::result::Result<(), ExportError> {
        Ok(())
    }
}

/// Examples the trainer can batch. `batch` builds tensors on the device it is given (the
/// autodiff device for training, the plain one for evaluation). `Sync`: evaluation builds
/// several batches at once on backends that gain from it (`device::map_batches`).
pub trait Dataset: Sync {
    type Batch;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The class id of example `i`, for the metrics of single-label classification.
    fn label(&self, _i: usize) -> usize {
        0
    }
    /// What example `i` should predict, for metrics; classification by default. Multi-label
    /// and regression datasets return their own kind and get their metrics.
    fn target(&self, i: usize) -> Target {
        Target::Class(self.label(i))
    }
    /// The length of example `i` (e.g. tokens), for `group_by_length`.
    fn length(&self, _i: usize) -> usize {
        1
    }
    /// A hash of the examples' content (inputs and targets), recorded in checkpoints so that
    /// a run never resumes from the checkpoint of a run on other data. `None`: not checked.
    fn fingerprint(&self) -> Option<u64> {
        None
    }
    fn batch(&self, indices: &[usize], device: &Device) -> std::result::Result<Self::Batch, BatchError>;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid training arguments: {0}")]
    Args(#[from] InvalidArgs),
    /// Training data the arguments leave nothing of.
    #[error("{0}")]
    Data(String),
    /// A batch the dataset could not build.
    #[error("building a batch: {0}")]
    Batch(BatchError),
    /// A NaN or infinity in the loss, the gradient norm or the weights: training stops and
    /// nothing from this point is saved as a model.
    #[error("the {what} became {value} at step {step}; training stopped and nothing from this step on was saved (try a lower learning rate or check the data)")]
    NonFinite { what: &'static str, value: f64, step: usize },
    #[error(transparent)]
    OutputDir(#[from] bertrs_fs::Error),
    #[error("checkpoint {}: {msg}", .path.display())]
    Checkpoint { path: PathBuf, msg: String },
    #[error("cannot resume from {}: {msg}", .path.display())]
    Resume { path: PathBuf, msg: String },
    /// A device's tensor that could not be read back as `f32`s.
    #[error("reading the {what} back from the device: {msg}")]
    ReadBack { what: &'static str, msg: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
