//! Datasets for text classification, knowing nothing of models: rows read from CSV, TSV
//! and JSONL files with HF `run_glue.py`'s column rules, each error naming file and line.
//!
//! Still to come here (issue 3): labels and label maps, seeded and grouped splits, the
//! built-in Rotten Tomatoes source, compressed inputs and batching.
//!
//! ```no_run
//! let rows = bert_data::read_rows("reviews.csv", &bert_data::Columns::default())?;
//! println!("{}: {:?}", rows[0].line, rows[0].text);
//! # Ok::<(), bert_data::Error>(())
//! ```

pub mod rotten_tomatoes;
mod read;

pub use read::{Columns, Format, Row, read_rows};

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
