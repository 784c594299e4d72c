//! `bert-cli eval`: a saved model on a labelled file, with the metrics `train` reports
//! (HF `trainer.evaluate()` on an eval dataset).

use anyhow::{Context, Result, bail};
use bert_data::{Columns, read_rows};
use bert_model::ProblemType;
use bert_model::export::write_atomic;
use bert_train::{ClassificationMetrics, Trainer, TrainingArgs};
use serde_json::json;

use crate::args::EvalArgs;
use crate::model_dir;
use crate::task::BertTask;
use crate::train::{labelled_split, tokenize};

pub fn run(args: EvalArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let device = model_dir::device(args.backend.backend.as_deref())?;
    let dir = model_dir::resolve(&args.model)?;
    let (config, tokenizer, model) = model_dir::load(&dir, &device)?;
    if config.problem_type() != ProblemType::SingleLabelClassification {
        bail!("{}: eval supports single-label classifiers; this model's problem_type is {:?}", dir.display(), config.problem_type());
    }
    if args.max_length < 3 || args.max_length > config.max_position_embeddings {
        bail!("--max-length must be between 3 and the model's max_position_embeddings ({})", config.max_position_embeddings);
    }
    let cols = Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        label: args.label_column.clone(),
        require_label: true,
        group: None,
    };
    let rows = read_rows(&args.file, &cols)?;
    if rows.is_empty() {
        bail!("{}: no examples", args.file.display());
    }
    let names = config.labels();
    let split = labelled_split(&args.file, rows, &names, "model's")?;
    let data = tokenize(&tokenizer, &split, args.max_length)?;
    let targs = TrainingArgs {
        per_device_eval_batch_size: args.batch_size,
        ..TrainingArgs::default()
    };
    let trainer = Trainer::new(targs, device, names.len())?;
    let (m, loss) = trainer.evaluate(&BertTask { model, tokenizer_dir: None }, &data);
    let m = m.classification().cloned().context("single-label data gives classification metrics")?;
    let mut results = eval_json(&m, Some(loss), &names);
    results["eval_samples"] = json!(split.labels.len());
    eprintln!(
        "{} examples: accuracy {:.4}, macro F1 {:.4}, MCC {:.4}, loss {:.4}",
        split.labels.len(),
        m.accuracy,
        m.f1_macro,
        m.matthews_correlation,
        loss
    );
    eprintln!("confusion matrix (rows: true, columns: predicted), labels {names:?}:");
    for (name, row) in names.iter().zip(&m.confusion) {
        eprintln!("  {name:>12} {row:?}");
    }
    if let Some(out) = &args.output {
        write_atomic(out, &serde_json::to_vec_pretty(&results)?)?;
    }
    println!("{results}");
    Ok(())
}

/// HF-style `eval_*` keys for a metrics set (`eval_results.json`).
pub(crate) fn eval_json(m: &ClassificationMetrics, loss: Option<f64>, names: &[String]) -> serde_json::Value {
    let per_class: serde_json::Map<String, serde_json::Value> =
        names.iter().cloned().zip(m.f1_per_class.iter().map(|f| json!(f))).collect();
    json!({
        "eval_accuracy": m.accuracy,
        "eval_f1_macro": m.f1_macro,
        "eval_f1_micro": m.f1_micro,
        "eval_precision_macro": m.precision_macro,
        "eval_recall_macro": m.recall_macro,
        "eval_matthews_correlation": m.matthews_correlation,
        "eval_f1_per_class": per_class,
        "eval_confusion_matrix": m.confusion,
        "eval_loss": loss,
    })
}
