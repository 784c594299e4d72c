//! `bertrs-cli eval`: a saved model on a labelled file, with the metrics `train` reports
//! (HF `trainer.evaluate()` on an eval dataset), for any problem type.

use anyhow::{Result, bail};
use bertrs_data::{Columns, Encoder, LabelOptions, open_files};
use bertrs_fs::write_atomic;
use bertrs_train::{EvalMetrics, Trainer, TrainingArgs};
use serde_json::json;

use crate::args::EvalArgs;
use crate::dataset;
use crate::model_dir;
use crate::task::{BertTask, TextSet};

pub fn run(args: EvalArgs) -> Result<()> {
    let opened = model_dir::Opened::new(&args.model, args.backend.backend.as_deref(), args.max_length)?;
    let (config, tokenizer, max_length) = (&opened.config, &opened.tokenizer, opened.max_length);
    let cols = Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        label: args.label_column.clone(),
        require_label: true,
        group: None,
        keep: Vec::new(),
    };
    // The model's own labels and problem type decide how the file's labels read.
    let map = config.label_map();
    let opts = LabelOptions { problem_type: Some(map.problem_type), delimiter: args.label_delimiter.clone(), class_names: None };
    let files = dataset::inputs(args.file.as_ref(), args.dataset.as_deref(), args.dataset_config.as_deref(), &args.split)?;
    let file = &files[0];
    let data = Encoder::new(tokenizer, max_length)?.labelled(file, open_files(&files, &cols)?, &map, &opts)?;
    model_dir::check_pairs(file, &data, config)?;
    let model = opened.weights()?;
    if data.is_empty() {
        bail!("{}: no examples", file.display());
    }
    let n = data.len();
    let targs = TrainingArgs {
        per_device_eval_batch_size: args.batch_size,
        ..TrainingArgs::default()
    };
    let trainer = Trainer::new(targs, opened.device.clone(), map.num_labels())?;
    let (m, loss) = trainer.evaluate(&BertTask { model, tokenizer: None, execution: args.backend.execution() }, &TextSet(data))?;
    let mut results = eval_json(&m, Some(loss), &map.names);
    results["eval_samples"] = json!(n);
    eprintln!("{n} examples: {}, loss {loss:.4}", summary(&m, &map.names));
    if let Some(out) = &args.output {
        write_atomic(out, &serde_json::to_vec_pretty(&results)?)?;
    }
    println!("{results}");
    Ok(())
}

/// The metrics in words: one line, then (classification) the confusion matrix.
pub(crate) fn summary(m: &EvalMetrics, names: &[String]) -> String {
    match m {
        EvalMetrics::Classification(m) => {
            let mut s = format!(
                "accuracy {:.4}, macro F1 {:.4}, MCC {:.4}\nconfusion matrix (rows: true, columns: predicted), labels {names:?}:",
                m.accuracy, m.f1_macro, m.matthews_correlation
            );
            for (name, row) in names.iter().zip(&m.confusion) {
                s.push_str(&format!("\n  {name:>12} {row:?}"));
            }
            s
        }
        EvalMetrics::MultiLabel(m) => format!(
            "subset accuracy {:.4}, micro F1 {:.4}, macro F1 {:.4} (sigmoid > {})",
            m.subset_accuracy, m.f1_micro, m.f1_macro, m.threshold
        ),
        EvalMetrics::Regression(m) => format!("MSE {:.4}, Pearson {:.4}, Spearman {:.4}", m.mse, m.pearson, m.spearman),
    }
}

/// HF-style `eval_*` keys for a metrics set (`eval_results.json`): the named values, then
/// what is not a scalar (per-class F1 by label name, the confusion matrix, the threshold).
pub(crate) fn eval_json(m: &EvalMetrics, loss: Option<f64>, names: &[String]) -> serde_json::Value {
    let mut v: serde_json::Map<String, serde_json::Value> = m.values().into_iter().map(|(k, x)| (format!("eval_{k}"), json!(x))).collect();
    match m {
        EvalMetrics::Classification(m) => {
            let per_class: serde_json::Map<String, serde_json::Value> =
                names.iter().cloned().zip(m.f1_per_class.iter().map(|f| json!(f))).collect();
            v.insert("eval_f1_per_class".into(), per_class.into());
            v.insert("eval_confusion_matrix".into(), json!(m.confusion));
        }
        EvalMetrics::MultiLabel(m) => {
            v.insert("eval_threshold".into(), json!(m.threshold));
        }
        EvalMetrics::Regression(_) => {}
    }
    v.insert("eval_loss".into(), json!(loss));
    serde_json::Value::Object(v)
}
