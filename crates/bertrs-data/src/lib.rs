//! Datasets for text classification, knowing nothing of models: rows read (streamed) from
//! CSV, TSV, JSONL and JSON-array files (plain, `.gz` or `.bz2`) and Parquet with HF `run_glue.py`'s
//! column rules, each error naming file and line; labels for single-label, multi-label and
//! regression with HF's problem-type inference; scikit-learn-style seeded splits (plain,
//! stratified, by group); tokenize-once storage and dynamically padded burn batches; the
//! built-in Rotten Tomatoes source.
//!
//! ```no_run
//! use bertrs_data::{Columns, Encoder, LabelOptions, open_rows};
//!
//! let tokenizer = bertrs_tokenizer::BertTokenizer::from_dir("all-MiniLM-L6-v2")?;
//! let rows = open_rows("reviews.csv", &Columns::default())?;
//! let path = rows.path().to_path_buf();
//! let (train, labels) = Encoder::new(&tokenizer, 128)?.training(&path, rows, &LabelOptions::default())?;
//! println!("{}", train.describe("train", Some(&labels), 128));
//! let batch = train.batch(&[0, 1, 2], &burn::tensor::Device::default())?;
//! println!("{:?}", batch.input.dims());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod clip;
mod encoded;
mod labels;
mod numpy_random;
mod read;
pub mod rotten_tomatoes;
pub mod split;
mod stats;

pub use encoded::{Encoded, Encoder};
pub use labels::{LabelError, LabelOptions, RawLabel};
/// The shared vocabulary (bertrs-core), re-exported: batches are `Batch`es of a `BertInput`
/// and `BatchTargets`; labels make a `LabelMap` of a `ProblemType` and rows' `Target`s.
pub use bertrs_core::{Batch, BatchTargets, BertInput, LabelMap, ProblemType, Target};
pub use read::{Columns, Compression, Format, Row, RowReader, open_files, open_rows, read_rows, rows_from_reader};
pub use split::{SplitError, TestSize, group_split, stratified_split, train_test_split};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Something wrong at one place in a file; `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    At {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Tokenizer(#[from] bertrs_tokenizer::Error),
    /// A target that does not fit its batch (bertrs-core's checks).
    #[error(transparent)]
    Core(#[from] bertrs_core::Error),
    #[error("row index {index} is beyond the set's {len} rows")]
    Index { index: usize, len: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
