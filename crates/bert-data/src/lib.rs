//! Datasets for text classification, knowing nothing of models: rows read from CSV, TSV,
//! JSONL and JSON-array files (plain, `.gz` or `.bz2`) with HF `run_glue.py`'s column rules,
//! each error naming file and line; scikit-learn-style seeded splits (plain, stratified,
//! by group); the built-in Rotten Tomatoes source.
//!
//! ```no_run
//! let rows = bert_data::read_rows("reviews.csv", &bert_data::Columns::default())?;
//! println!("{}: {:?}", rows[0].line, rows[0].text);
//! # Ok::<(), bert_data::Error>(())
//! ```

pub mod rotten_tomatoes;
mod read;
pub mod split;

pub use read::{Columns, Compression, Format, Row, read_rows};
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
