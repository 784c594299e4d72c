//! The one error type of this crate: every variant names the file and, where there is one, the key.

use std::path::PathBuf;

/// What can go wrong reading a config, loading weights or writing an export.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A backend name that is unknown or not compiled into this build.
    #[error("{0}")]
    Backend(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] bertrs_fs::Error),
    #[error("{path}: invalid config: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("{path}: not a readable PyTorch checkpoint: {message}")]
    Pytorch { path: PathBuf, message: String },
    #[error("{path}: missing weight `{key}`")]
    MissingKey { path: PathBuf, key: String },
    #[error("{path}: weight `{key}` has shape {found:?}, the config needs {expected:?}")]
    Shape {
        path: PathBuf,
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// The checkpoint's classifier was trained for another number of labels (HF refuses
    /// it too unless `ignore_mismatched_sizes=True`).
    #[error(
        "{path}: the classification head `{key}` has shape {found:?}, the config needs {expected:?} (another number of labels); \
         pass ignore_mismatched_sizes (bertrs-cli: --ignore-mismatched-sizes) to replace it with a new head"
    )]
    HeadShape {
        path: PathBuf,
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{path}: weight `{key}` has dtype {dtype}; only F32, F16 and BF16 are supported")]
    Dtype {
        path: PathBuf,
        key: String,
        dtype: String,
    },
    #[error("{dir}: no model weights (looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin)")]
    NoWeights { dir: PathBuf },
    #[error("invalid input: {0}")]
    Input(String),
    /// An input or target that does not fit (bertrs-core's checks).
    #[error("invalid input: {0}")]
    Core(#[from] bertrs_core::Error),
    /// A parameter that could not be read back from its device as `f32`s.
    #[error("reading weight `{key}` back from the device: {message}")]
    ReadBack { key: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<bertrs_kernels::Error> for Error {
    fn from(e: bertrs_kernels::Error) -> Self {
        match e {
            bertrs_kernels::Error::Backend(message) => Error::Backend(message),
        }
    }
}
