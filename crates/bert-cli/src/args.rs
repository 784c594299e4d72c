//! Command-line arguments as clap parses them (the "low-level" arguments); each command
//! validates its own into what the libraries take.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bert-cli", version, about = "Fine-tune, evaluate and run BERT text classifiers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify the rows of a file with a saved model; writes one JSON line per row.
    Predict(PredictArgs),
}

/// Options shared by every command that runs a model.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// flex (pure-Rust CPU), tch, tch-cuda:N or wgpu; only compiled-in backends work.
    /// Default: the first compiled in (flex in a default build).
    #[arg(long, env = "BERT_BACKEND")]
    pub backend: Option<String>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// An HF model directory (config.json, model.safetensors, tokenizer files) or a known
    /// asset name (all-minilm-l6-v2).
    #[arg(long)]
    pub model: String,
    /// JSONL rows {"text": …, "text_pair": …}, or CSV/TSV with a `text` (and `text_pair`) header.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the JSONL results (replaced atomically).
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Longest tokenized input, special tokens included; longer ones are truncated.
    /// Default: 128, or the model's max_position_embeddings when that is smaller.
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Column holding the text (default: run_glue's rules).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Column holding the second text of a pair.
    #[arg(long)]
    pub text_pair_column: Option<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}
