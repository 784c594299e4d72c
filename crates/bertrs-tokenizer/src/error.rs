use std::path::PathBuf;

/// Why a tokenizer could not be loaded or could not encode.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a usable tokenizer: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: the vocabulary has no {token} token, which BERT inputs need")]
    MissingSpecialToken { path: PathBuf, token: String },
    #[error("{dir}: no tokenizer.json or vocab.txt")]
    NotFound { dir: PathBuf },
    #[error("invalid encode options: {0}")]
    Options(String),
    #[error("tokenization failed: {0}")]
    Encode(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
