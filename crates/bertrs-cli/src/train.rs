//! `bertrs-cli train`: the HF fine-tuning tutorial as one command. Reads the data, tokenizes it
//! once, fine-tunes with `bertrs-train`, and writes an HF directory plus run_glue-style results.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bertrs_data::{Columns, Encoded, Encoder, LabelMap, LabelOptions, ProblemType, open_files, open_rows, rotten_tomatoes};
use bertrs_fs::write_atomic;
use bertrs_tokenizer::BertTokenizer;
use bertrs_train::{Classifier, Dataset, EvalMetrics, LogEntry, Trainer, TrainingArgs};
use serde_json::json;

use crate::args::TrainArgs;
use crate::dataset;
use crate::eval::{eval_json, summary};
use crate::hiargs::{TrainOptions, resume_from};
use crate::model_dir;
use crate::task::{BertTask, TextSet, TokenizerFiles};

pub fn run(args: TrainArgs) -> Result<()> {
    let opts = TrainOptions::new(&args)?;
    // One run per output directory, checked (with its writability) before any work; held
    // until the results are written. A directory made just for the lock goes again when the
    // run fails before writing anything into it.
    let made = !args.output_dir.exists();
    let lock = bertrs_fs::DirLock::acquire(&args.output_dir)?;
    let result = run_locked(&args, opts);
    if result.is_err() && made {
        crate::output_dir::remove_if_only_lock(&args.output_dir);
    }
    drop(lock);
    result
}

fn run_locked(args: &TrainArgs, opts: TrainOptions) -> Result<()> {
    let TrainOptions { training: targs, columns: cols, labels: label_opts, device } = opts;
    bertrs_fs::remove_stale_temps(&args.output_dir)?;
    let resume = resume_from(args)?;
    let dir = model_dir::resolve(&args.model)?;
    let (mut config, tokenizer) = model_dir::open(&dir)?;
    let max_length = model_dir::max_length(args.max_length, &config, args.pad_to_multiple_of.map(|n| n as usize))?;
    let tokenizer_files = TokenizerFiles::read(&dir, &tokenizer)?;
    let started = Instant::now();
    let (map, mut train_set, mut eval_set) = load_data(args, &cols, &label_opts, &tokenizer, max_length)?;
    if let Some(n) = args.train_limit {
        train_set.truncate(n);
    }
    if let Some(n) = args.eval_limit {
        eval_set.truncate(n);
    }
    // HF run_glue's --test_file: labelled rows evaluated once, with the final model.
    let test_set = match &args.test_file {
        Some(p) => {
            let cols = Columns { group: None, ..cols.clone() };
            Some(Encoder::new(&tokenizer, max_length)?.labelled(p, open_rows(p, &cols)?, &map, &label_opts)?)
        }
        None => None,
    };
    let names = map.names.clone();
    eprintln!(
        "data: {} training and {} validation examples, {}, labels {names:?} (read and tokenized in {:.1}s)",
        train_set.len(),
        eval_set.len(),
        map.problem_type,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{}", train_set.describe("training", Some(&map), max_length));
    if !eval_set.is_empty() {
        eprintln!("{}", eval_set.describe("validation", Some(&map), max_length));
    }
    // HF run_glue: regression is one output named LABEL_0; classes are the sorted labels.
    config.set_label_map(&map);
    config.validate().map_err(|e| anyhow::anyhow!("{}: the labels do not fit a classification head: {e}", data_name(args)))?;
    let eval_name = args.validation_file.as_ref().map_or_else(|| data_name(args), |p| p.display().to_string());
    model_dir::check_pairs(Path::new(&data_name(args)), &train_set, &config)?;
    model_dir::check_pairs(Path::new(&eval_name), &eval_set, &config)?;
    if let (Some(p), Some(t)) = (&args.test_file, &test_set) {
        model_dir::check_pairs(p, t, &config)?;
    }
    let train_set = TextSet(train_set.with_pad_to_multiple_of(args.pad_to_multiple_of.map(|n| n as usize)));
    let eval_set = TextSet(eval_set.with_pad_to_multiple_of(args.pad_to_multiple_of.map(|n| n as usize)));

    // HF `set_seed` before `from_pretrained`: the fresh head's init is seeded too.
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    let load = bertrs_model::LoadOptions { ignore_mismatched_sizes: args.ignore_mismatched_sizes };
    let model = bertrs_model::BertForSequenceClassification::from_pretrained_with_options(&dir, &config, &train_device, &load)?;
    let total = targs.total_steps(train_set.len());
    let layout = if args.backend.padded { "padded, as HF" } else { "padding-free" };
    eprintln!("training: {total} steps of batch {} on {} ({layout})", targs.per_device_train_batch_size, backend_name(args));

    let mut last = (Instant::now(), 0usize);
    if let Some(dir) = &resume {
        eprintln!("resuming from {}", dir.display());
        // The first rate after resuming counts from the checkpoint's step.
        last.1 = bertrs_train::checkpoint::load_state(dir)?.global_step;
    }
    // A progress bar on a terminal (indicatif hides it otherwise); log rows print above it.
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps [{elapsed_precise} < {eta_precise}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(last.1 as u64);
    let trainer = Trainer::new(targs.clone(), device.clone(), map.num_labels())?.with_progress({
        let (bar, started) = (bar.clone(), Instant::now());
        move |p| {
            let rate = p.examples as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(p.step as u64);
            bar.set_message(format!("loss {:.4} lr {:.2e} {rate:.1} examples/s", p.loss, p.learning_rate));
        }
    });
    let task = BertTask { model, tokenizer: Some(tokenizer_files), execution: args.backend.execution() };
    let eval_data = (!eval_set.is_empty()).then_some(&eval_set);
    let examples_per_step = targs.per_device_train_batch_size * targs.gradient_accumulation_steps;
    let out = trainer.train_from(task, &train_set, eval_data, resume.as_deref(), |e: &LogEntry| {
        bar.suspend(|| report(e, total, examples_per_step, &mut last));
    })?;
    bar.finish_and_clear();
    if let (true, Some(best)) = (targs.load_best_model_at_end, &out.best_model_checkpoint) {
        eprintln!("best model: {} ({} {:.4})", best.display(), targs.metric_for_best_model.as_deref().unwrap_or("loss"), out.best_metric.unwrap_or(0.0));
    }
    if out.early_stopped {
        eprintln!("stopped early at step {}: no improvement in {} evaluations", out.global_step, targs.early_stopping_patience.unwrap_or(0));
    }

    // The final evaluation: the one the strategy already ran at the last step (unless the best
    // model replaced the last one), else a new one.
    let last_eval = out.last_evaluation.clone().filter(|e| e.step == out.global_step && !targs.load_best_model_at_end);
    let (metrics, eval_loss) = match (last_eval, eval_set.is_empty()) {
        (_, true) => (None, None),
        (Some(e), false) => (Some(e.metrics), Some(e.loss)),
        (None, false) => {
            let (m, l) = trainer.evaluate(&out.model, &eval_set)?;
            (Some(m), Some(l))
        }
    };
    let test = match test_set {
        Some(t) => {
            let t = TextSet(t.with_pad_to_multiple_of(args.pad_to_multiple_of.map(|n| n as usize)));
            let (m, loss) = trainer.evaluate(&out.model, &t)?;
            eprintln!("test ({} examples): {}, loss {loss:.4}", t.len(), summary(&m, &names));
            Some(with_prefix(eval_json(&m, Some(loss), &names), "test_", t.len()))
        }
        None => None,
    };
    save(args, &out, metrics.as_ref(), eval_loss, &targs, &map, test, max_length)?;

    eprintln!(
        "\ntrained {} steps in {:.1}s ({:.1} examples/s), mean training loss {:.4}",
        out.global_step, out.train_runtime_s, out.train_examples_per_s, out.train_loss
    );
    eprintln!("{}", out.step_times.summary());
    if let Some(m) = &metrics {
        eprintln!("validation: {}, loss {:.4}", summary(m, &names), eval_loss.unwrap_or(0.0));
    }
    println!("model saved to {}", args.output_dir.display());
    Ok(())
}

/// The training data's name for messages: the file, or the built-in dataset.
fn data_name(args: &TrainArgs) -> String {
    args.train_file.as_ref().map_or_else(|| args.dataset.clone(), |p| p.display().to_string())
}

fn backend_name(args: &TrainArgs) -> String {
    args.backend.backend.clone().unwrap_or_else(|| {
        bertrs_model::device::BackendChoice::default_compiled().map(|b| b.to_string()).unwrap_or_default()
    })
}

fn report(e: &LogEntry, total: usize, batch: usize, last: &mut (Instant, usize)) {
    if let Some(loss) = e.loss {
        let dt = last.0.elapsed().as_secs_f64();
        let rate = (e.step - last.1) as f64 * batch as f64 / dt.max(1e-9);
        *last = (Instant::now(), e.step);
        eprintln!(
            "step {}/{total} epoch {:.2} loss {loss:.4} lr {:.3e} grad_norm {:.3} | {rate:.1} examples/s",
            e.step,
            e.epoch,
            e.learning_rate.unwrap_or(0.0),
            e.grad_norm.unwrap_or(0.0)
        );
    }
    if let Some(loss) = e.eval_loss {
        // The row's named values, as HF's log line; the confusion matrix waits for the final
        // summary.
        let values: Vec<String> = e.eval_metrics().map(|(k, v)| format!("{k} {v:.4}")).collect();
        eprintln!("eval at step {} (epoch {:.2}): {}, loss {loss:.4}", e.step, e.epoch, values.join(", "));
    }
}

/// The label map and the two splits, tokenized, from the built-in dataset or from files.
/// Files stream through the tokenizer; only token ids are kept.
fn load_data(
    args: &TrainArgs,
    cols: &Columns,
    opts: &LabelOptions,
    tokenizer: &BertTokenizer,
    max_length: usize,
) -> Result<(LabelMap, Encoded, Encoded)> {
    let encoder = Encoder::new(tokenizer, max_length)?;
    // The files of each split: given, or a hub dataset's.
    let (train_files, validation_files) = match &args.train_file {
        Some(f) => (vec![f.clone()], args.validation_file.clone().map(|v| vec![v])),
        None if args.dataset == dataset::BUILT_IN => {
            if opts.problem_type.is_some_and(|k| k != ProblemType::SingleLabelClassification) || opts.delimiter.is_some() {
                bail!("rotten-tomatoes is single-label classification; --problem-type and --label-delimiter apply to --train-file data");
            }
            if args.validation_split.is_some() {
                bail!("rotten-tomatoes has its own validation split; --validation-split applies to --train-file data and hub datasets");
            }
            let s = rotten_tomatoes::load()?;
            let map = rotten_tomatoes::label_map();
            let train = encoder.labelled(Path::new("rotten-tomatoes/train"), rotten_tomatoes::rows(&s.train), &map, opts)?;
            let eval = encoder.labelled(Path::new("rotten-tomatoes/validation"), rotten_tomatoes::rows(&s.validation), &map, opts)?;
            return Ok((map, train, eval));
        }
        None => {
            let data = dataset::Dataset::open(&args.dataset, args.dataset_config.as_deref())?;
            let train = data.required("train")?;
            // HF's scripts: the dataset's validation split, unless asked to hold one out.
            let validation = if args.validation_split.is_some() { None } else { data.split("validation")? };
            (train, validation)
        }
    };
    let train_file = &train_files[0];
    if args.validation_split.is_none() && validation_files.is_none() && args.train_file.is_none() {
        eprintln!("dataset `{}` has no validation split: training without evaluation (--validation-split holds one out)", args.dataset);
    }
    let cols = cols.clone();
    let rows = open_files(&train_files, &cols)?;
    // A Parquet file from `datasets` may declare its classes (ClassLabel): their order is the map's.
    let opts = &LabelOptions { class_names: rows.class_names().map(<[String]>::to_vec), ..opts.clone() };
    let (all, map) = encoder.training(train_file, rows, opts)?;
    if all.is_empty() {
        bail!("{}: no examples", train_file.display());
    }
    let (train, eval) = match (&validation_files, args.validation_split) {
        (Some(files), _) => {
            let cols = Columns { group: None, ..cols };
            (all, encoder.labelled(&files[0], open_files(files, &cols)?, &map, opts)?)
        }
        (None, Some(size)) => hold_out(args, train_file, all, size, &map)?,
        (None, None) => {
            let none = all.select(&[]);
            (all, none)
        }
    };
    Ok((map, train, eval))
}

/// `eval_*` keys renamed with another prefix (HF `metric_key_prefix="test"`), plus the count.
fn with_prefix(v: serde_json::Value, prefix: &str, samples: usize) -> serde_json::Value {
    let mut out: serde_json::Map<String, serde_json::Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (format!("{prefix}{}", k.strip_prefix("eval_").unwrap_or(k)), v.clone()))
        .collect();
    out.insert(format!("{prefix}samples"), json!(samples));
    serde_json::Value::Object(out)
}

/// `--validation-split`: part of the training file held out for validation, split like
/// scikit-learn's `train_test_split` (seeded by --seed; stratified or by group on request).
fn hold_out(args: &TrainArgs, file: &Path, all: Encoded, size: bertrs_data::TestSize, map: &LabelMap) -> Result<(Encoded, Encoded)> {
    let split = if args.group_column.is_some() {
        bertrs_data::group_split(&all.groups().unwrap_or_default(), size, args.seed)
    } else if args.stratify {
        let classes = all.classes().context("--stratify needs single-label classification data")?;
        bertrs_data::stratified_split(&classes, size, args.seed)
    } else {
        bertrs_data::train_test_split(all.len(), size, true, args.seed)
    };
    let (train_idx, eval_idx) = split.with_context(|| format!("{}: --validation-split", file.display()))?;
    let (train, eval) = (all.select(&train_idx), all.select(&eval_idx));
    if let Some(classes) = train.classes() {
        for (id, name) in map.names.iter().enumerate() {
            if !classes.contains(&id) {
                bail!(
                    "{}: the validation split leaves label `{name}` without a training example; use --stratify, a smaller --validation-split or another --seed",
                    file.display()
                );
            }
        }
    }
    Ok((train, eval))
}

#[allow(clippy::too_many_arguments)]
fn save(
    args: &TrainArgs,
    out: &bertrs_train::TrainOutput<BertTask>,
    metrics: Option<&EvalMetrics>,
    eval_loss: Option<f64>,
    targs: &TrainingArgs,
    map: &LabelMap,
    test: Option<serde_json::Value>,
    max_length: usize,
) -> Result<()> {
    let dir = &args.output_dir;
    out.model.export(dir).map_err(|e| anyhow::anyhow!(e))?;
    crate::output_dir::remove_other_weights(dir)?;
    let epoch = out.log_history.last().map_or(0.0, |e| e.epoch);
    let train_results = json!({
        "epoch": epoch,
        "global_step": out.global_step,
        "train_loss": out.train_loss,
        "train_runtime": out.train_runtime_s,
        "train_samples_per_second": out.train_examples_per_s,
    });
    let eval_results = metrics.map(|m| {
        let mut e = eval_json(m, eval_loss, &map.names);
        e["epoch"] = json!(epoch);
        e
    });
    let mut all = train_results.as_object().cloned().unwrap_or_default();
    for r in [&eval_results, &test] {
        if let Some(e) = r.as_ref().and_then(|e| e.as_object()) {
            all.extend(e.clone());
        }
    }
    let state = json!({
        "global_step": out.global_step,
        "epoch": epoch,
        "num_train_epochs": targs.num_train_epochs,
        "best_metric": out.best_metric,
        "best_model_checkpoint": out.best_model_checkpoint,
        "log_history": out.log_history,
    });
    let run_config = json!({
        "model": args.model,
        "dataset": if args.train_file.is_some() { serde_json::Value::Null } else { json!(args.dataset) },
        "train_file": args.train_file,
        "validation_file": args.validation_file,
        "test_file": args.test_file,
        "validation_split": args.validation_split.map(|s| match s {
            bertrs_data::TestSize::Fraction(f) => json!(f),
            bertrs_data::TestSize::Count(c) => json!(c),
        }),
        "stratify": args.stratify,
        "group_column": args.group_column,
        "problem_type": map.problem_type.hf_name(),
        "label_delimiter": args.label_delimiter,
        "pad_to_multiple_of": args.pad_to_multiple_of,
        "ignore_mismatched_sizes": args.ignore_mismatched_sizes,
        "max_length": max_length,
        "train_limit": args.train_limit,
        "eval_limit": args.eval_limit,
        "backend": backend_name(args),
        "padded": args.backend.padded,
        "training_args": targs,
    });
    let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomic(&dir.join("train_results.json"), &pretty(&train_results))?;
    if let Some(e) = &eval_results {
        write_atomic(&dir.join("eval_results.json"), &pretty(e))?;
    }
    if let Some(t) = &test {
        write_atomic(&dir.join("test_results.json"), &pretty(t))?;
    }
    write_atomic(&dir.join("all_results.json"), &pretty(&serde_json::Value::Object(all)))?;
    write_atomic(&dir.join("trainer_state.json"), &pretty(&state))?;
    write_atomic(&dir.join("run_config.json"), &pretty(&run_config))?;
    // One row per logging step and evaluation, those before a resumption included.
    let mut lines = String::new();
    for e in &out.log_history {
        lines.push_str(&serde_json::to_string(e)?);
        lines.push('\n');
    }
    write_atomic(&dir.join("metrics.jsonl"), lines.as_bytes())?;
    write_atomic(&dir.join("curves.svg"), crate::curves::svg(&out.log_history).as_bytes())?;
    Ok(())
}
