//! Command-line arguments as clap parses them (the "low-level" arguments); each command
//! validates its own into what the libraries take.

use std::path::PathBuf;

use bertrs_train::{EvalStrategy, SaveStrategy, SchedulerType};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
// A later occurrence of a flag wins: `--config` files become flags placed before the
// command line's own (see config.rs).
#[command(name = "bertrs-cli", version, about = "Fine-tune, evaluate and run BERT text classifiers", args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify the rows of a file with a saved model; writes one JSON line per row.
    Predict(PredictArgs),
    /// Fine-tune a pre-trained BERT for classification. With no arguments: the tutorial's
    /// job, all-MiniLM-L6-v2 on Rotten Tomatoes, 1 epoch, evaluated on the validation split.
    Train(TrainArgs),
    /// Evaluate a saved model on a labelled file: accuracy, F1, MCC, confusion matrix.
    Eval(EvalArgs),
    /// Serve a classifier over HTTP with text-embeddings-inference's API (`POST /predict`,
    /// `/tokenize`, `/info`, `/health`, `/metrics`, `/api-doc/openapi.json`) and a playground
    /// page at `/`.
    Serve(ServeArgs),
}

/// Options shared by every command that runs a model.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// flex (pure-Rust CPU), tch, tch-cuda:N or wgpu; only compiled-in backends work.
    /// Default: the first compiled in (flex in a default build).
    #[arg(long, env = "BERT_BACKEND")]
    pub backend: Option<String>,
    /// Compute the padding tokens too, as HF does (for comparison): by default the encoder
    /// runs padding-free, only real tokens through its dense layers, with the same results.
    #[arg(long)]
    pub padded: bool,
}

impl BackendArgs {
    /// The layout the encoder runs batches in.
    pub fn execution(&self) -> bertrs_model::Execution {
        if self.padded { bertrs_model::Execution::Padded } else { bertrs_model::Execution::PaddingFree }
    }
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// An HF model directory (config.json, model.safetensors, tokenizer files) or a known
    /// asset name (all-minilm-l6-v2).
    #[arg(long)]
    pub model: String,
    /// JSONL rows {"text": …, "text_pair": …}, CSV/TSV with a `text` (and `text_pair`) header,
    /// a JSON array, or Parquet (run_glue's column rules).
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    pub input: Option<PathBuf>,
    /// A hub dataset `org/name` instead of --input: its --split's Parquet files.
    #[arg(long)]
    pub dataset: Option<String>,
    /// The hub dataset's configuration; default: `default`, or the only one.
    #[arg(long, requires = "dataset")]
    pub dataset_config: Option<String>,
    /// With --dataset: the split to predict (`test`, `validation`, `train`, …).
    #[arg(long, default_value = "test", requires = "dataset")]
    pub split: String,
    /// Where to write the results: Parquet for a `.parquet` name, JSON Lines otherwise. It
    /// appears complete at the end; until then the run works in `OUTPUT.partial` (and
    /// `OUTPUT.parts/` for Parquet) beside a resume state `OUTPUT.resume.json`.
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Rows read, sorted by length, predicted and written at a time: memory depends on this,
    /// not on the input's size, and a killed run resumes after its last whole window.
    #[arg(long, default_value_t = 8192, value_parser = at_least_one)]
    pub window_rows: usize,
    /// Continue the run that was killed while writing this --output (same input, model and
    /// settings), after its last complete window; without a partial run, start from the top.
    #[arg(long)]
    pub resume: bool,
    /// Input columns copied into each output row (e.g. `--keep-columns id,source`).
    #[arg(long, value_delimiter = ',')]
    pub keep_columns: Vec<String>,
    /// Longest tokenized input, special tokens included; longer ones are truncated.
    /// Default: 128, or the model's max_position_embeddings when that is smaller.
    #[arg(long)]
    pub max_length: Option<usize>,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// An HF model directory (e.g. a `bertrs-cli train` output), a hub id or a known asset.
    #[arg(long)]
    pub model: String,
    /// The address to listen on (`0.0.0.0`: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (`0`: a free one, printed on start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Longest input in tokens, special tokens included; longer inputs are refused (413)
    /// unless the request sets `truncate`. Default: the model's max_position_embeddings.
    #[arg(long)]
    pub max_input_length: Option<usize>,
    /// Truncate inputs that are too long when a request does not say (TEI's flag).
    #[arg(long)]
    pub auto_truncate: bool,
    /// Tokens (real ones, not padding) in one forward pass of the model.
    #[arg(long, default_value_t = 16384, value_parser = at_least_one)]
    pub max_batch_tokens: usize,
    /// Inputs in one forward pass of the model (`predict`'s batch size): on a CPU, larger
    /// passes of mixed lengths are slower per input.
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub max_batch_requests: usize,
    /// Requests being served at once; one more gets 429 at once.
    #[arg(long, default_value_t = 512, value_parser = at_least_one)]
    pub max_concurrent_requests: usize,
    /// Inputs in one request's batch; more get 413.
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub max_client_batch_size: usize,
    /// Largest request body in bytes; larger get 413.
    #[arg(long, default_value_t = 2_000_000, value_parser = at_least_one)]
    pub payload_limit: usize,
    /// Web pages of these origins may call the API from a browser (e.g.
    /// `--cors-allow-origin https://app.example`); default: any origin, as TEI.
    #[arg(long, value_delimiter = ',')]
    pub cors_allow_origin: Vec<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Which columns of an input file hold the texts (default: run_glue's rules).
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Column holding the text.
    #[arg(long)]
    pub text_column: Option<String>,
    /// Column holding the second text of a pair.
    #[arg(long)]
    pub text_pair_column: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// An HF model directory (e.g. a `bertrs-cli train` output) or a known asset name.
    #[arg(long)]
    pub model: String,
    /// CSV/TSV/JSONL/JSON/Parquet with a label column (run_glue's column rules); labels are
    /// the model's id2label names (or their ids).
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    pub file: Option<PathBuf>,
    /// A hub dataset `org/name` instead of --file: its --split's Parquet files.
    #[arg(long)]
    pub dataset: Option<String>,
    /// The hub dataset's configuration; default: `default`, or the only one.
    #[arg(long, requires = "dataset")]
    pub dataset_config: Option<String>,
    /// With --dataset: the split to evaluate on (`validation`, `test`, …).
    #[arg(long, default_value = "validation", requires = "dataset")]
    pub split: String,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// For a multi-label model: the separator of the labels in one CSV/TSV cell.
    #[arg(long, value_parser = non_empty)]
    pub label_delimiter: Option<String>,
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Longest tokenized input, special tokens included. Default: 128, or the model's
    /// max_position_embeddings when that is smaller.
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Also write the results as JSON (HF `eval_results.json` keys), atomically.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A TOML file of training options: keys are these flags' names (`learning_rate` or
    /// `learning-rate`); flags on the command line override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// An HF model directory or a known asset name.
    #[arg(long, default_value = "all-minilm-l6-v2")]
    pub model: String,
    /// The data when no --train-file is given: the built-in `rotten-tomatoes`, or a hub
    /// dataset `org/name` (its Parquet files, as `load_dataset` reads them: the `train` split,
    /// and `validation` when it has one and no --validation-split is given).
    #[arg(long, default_value = "rotten-tomatoes")]
    pub dataset: String,
    /// The hub dataset's configuration (`load_dataset(name, config)`); default: `default`,
    /// or the only one.
    #[arg(long)]
    pub dataset_config: Option<String>,
    /// CSV/TSV/JSONL/JSON/Parquet with a label column (run_glue's column rules); replaces
    /// --dataset.
    #[arg(long)]
    pub train_file: Option<PathBuf>,
    #[arg(long, requires = "train_file")]
    pub validation_file: Option<PathBuf>,
    /// A labelled file evaluated once after training, with the final model (HF run_glue's
    /// --test_file): `test_*` metrics in test_results.json and all_results.json.
    #[arg(long, requires = "train_file")]
    pub test_file: Option<PathBuf>,
    /// Without --validation-file: hold out this part of --train-file (or of a hub dataset's
    /// train split) for validation, a fraction (0.1) or a count (500), like scikit-learn's
    /// train_test_split (seed: --seed).
    #[arg(long, conflicts_with = "validation_file", value_parser = parse_test_size)]
    pub validation_split: Option<bertrs_data::TestSize>,
    /// With --validation-split: keep each label's share the same in both splits.
    #[arg(long, requires = "validation_split")]
    pub stratify: bool,
    /// With --validation-split: no value of this column (e.g. a movie id) in both splits.
    #[arg(long, requires = "validation_split", conflicts_with = "stratify")]
    pub group_column: Option<String>,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// single_label_classification, multi_label_classification or regression. Default:
    /// inferred as HF does: list labels (or --label-delimiter) are multi-label, numbers with
    /// a float among them regression, anything else classes.
    #[arg(long)]
    pub problem_type: Option<bertrs_data::ProblemType>,
    /// Multi-label data in CSV/TSV: the separator of the labels in one cell (`a|b`).
    #[arg(long, value_parser = non_empty)]
    pub label_delimiter: Option<String>,
    /// Replace the model's classification head when it was trained for another number of
    /// labels (HF `ignore_mismatched_sizes=True`); without it that is an error.
    #[arg(long)]
    pub ignore_mismatched_sizes: bool,
    /// Pad each batch to a multiple of N tokens (HF `pad_to_multiple_of`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pad_to_multiple_of: Option<u64>,
    /// Where the fine-tuned model (HF format) and the results go.
    #[arg(long, default_value = "runs/bert-classifier")]
    pub output_dir: PathBuf,
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub epochs: f64,
    /// Stop after this many optimizer steps (overrides --epochs).
    #[arg(long, default_value_t = 0)]
    pub max_steps: usize,
    #[arg(long, default_value_t = 5e-5, value_parser = non_negative)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub eval_batch_size: usize,
    #[arg(long, default_value_t = 0.01, value_parser = non_negative)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub warmup_ratio: f64,
    #[arg(long, default_value_t = 0)]
    pub warmup_steps: usize,
    #[arg(long, default_value = "linear", value_parser = hf_name::<SchedulerType>(SchedulerType::NAMES))]
    pub lr_scheduler_type: SchedulerType,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0, value_parser = non_negative)]
    pub max_grad_norm: f64,
    /// Longest tokenized input, special tokens included. Default: 128, or the model's
    /// max_position_embeddings when that is smaller.
    #[arg(long)]
    pub max_length: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "epoch", value_parser = hf_name::<EvalStrategy>(EvalStrategy::NAMES))]
    pub eval_strategy: EvalStrategy,
    #[arg(long, default_value_t = 500, value_parser = at_least_one)]
    pub eval_steps: usize,
    #[arg(long, default_value_t = 50)]
    pub logging_steps: usize,
    /// Micro-batches whose gradients are averaged into one optimizer step.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub gradient_accumulation_steps: usize,
    /// Batches of similar lengths (HF group_by_length): less padding, faster epochs.
    #[arg(long)]
    pub group_by_length: bool,
    /// Drop each epoch's last incomplete batch.
    #[arg(long)]
    pub dataloader_drop_last: bool,
    /// When to write checkpoints (`<output-dir>/checkpoint-<step>/`); HF's default.
    #[arg(long, default_value = "steps", value_parser = hf_name::<SaveStrategy>(SaveStrategy::NAMES))]
    pub save_strategy: SaveStrategy,
    /// With --save-strategy steps: every N steps, and at the last step.
    #[arg(long, default_value_t = 500, value_parser = at_least_one)]
    pub save_steps: usize,
    /// Keep only the N most recent checkpoints (and the best one).
    #[arg(long, value_parser = at_least_one)]
    pub save_total_limit: Option<usize>,
    /// Save the best evaluation's model instead of the last (needs matching save and eval
    /// strategies, as in HF).
    #[arg(long)]
    pub load_best_model_at_end: bool,
    /// loss, accuracy, f1_macro, f1_micro, precision_macro, recall_macro or
    /// matthews_correlation (an `eval_` prefix is accepted). Default: loss.
    #[arg(long)]
    pub metric_for_best_model: Option<String>,
    /// Default: false for the loss, true for the other metrics.
    #[arg(long)]
    pub greater_is_better: Option<bool>,
    /// Stop after this many evaluations without improvement of the metric.
    #[arg(long, value_parser = at_least_one)]
    pub early_stopping_patience: Option<usize>,
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    pub early_stopping_threshold: f64,
    /// Continue an interrupted run: from the given checkpoint directory, or (no value) from
    /// the last checkpoint in --output-dir.
    #[arg(long, num_args = 0..=1)]
    pub resume: Option<Option<PathBuf>>,
    /// Train into an --output-dir that already holds files (they are replaced).
    #[arg(long)]
    pub overwrite_output_dir: bool,
    /// Use only the first N training examples.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N validation examples.
    #[arg(long)]
    pub eval_limit: Option<usize>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// `0.1` → a fraction, `500` → a count.
fn parse_test_size(s: &str) -> Result<bertrs_data::TestSize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return Ok(bertrs_data::TestSize::Count(n));
    }
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f < 1.0 => Ok(bertrs_data::TestSize::Fraction(f)),
        _ => Err(format!("`{s}` is neither a fraction in (0, 1) nor a count")),
    }
}

// Numeric options are checked as they are parsed, so a bad value is refused before any work
// and, from a `--config` file, with the file named (config.rs parses each entry alone).
// HF's TrainingArguments takes any float; a NaN or negative rate would train a model of NaN.

/// A finite number >= 0.
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a finite number >= 0")),
    }
}

/// A finite number > 0.
fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a finite number > 0")),
    }
}

/// A number in [0, 1].
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number in [0, 1]")),
    }
}

/// A whole number >= 1.
/// One of a settings enum's HF names: listed in `--help`, parsed with no fallback.
fn hf_name<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = bertrs_train::UnknownName> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a whole number >= 1")),
    }
}

/// A string that is not empty (a label delimiter `''` would split every character).
fn non_empty(s: &str) -> Result<String, String> {
    if s.is_empty() { Err("an empty string is not a delimiter".into()) } else { Ok(s.to_string()) }
}
