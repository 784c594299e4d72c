//! `bert-cli train`: the HF fine-tuning tutorial as one command. Reads the data, tokenizes it
//! once, fine-tunes with `bert-train`, and writes an HF directory plus run_glue-style results.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bert_data::{Columns, read_rows};
use bert_model::ProblemType;
use bert_model::export::write_atomic;
use bert_tokenizer::{BertTokenizer, EncodeOptions, Input, Padding};
use bert_train::{Dataset, EvalStrategy, LogEntry, SaveStrategy, SchedulerType, Trainer, TrainingArgs};
use serde_json::json;

use crate::args::TrainArgs;
use crate::model_dir;
use crate::task::{BertTask, TokenizedSet, copy_tokenizer};

/// Texts and labels of one split, before tokenization.
#[derive(Debug, Default)]
pub(crate) struct Split {
    pub texts: Vec<(String, Option<String>)>,
    pub labels: Vec<usize>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let targs = training_args(&args)?;
    let resume = resume_from(&args)?;
    let device = model_dir::device(args.backend.backend.as_deref())?;
    let dir = model_dir::resolve(&args.model)?;
    let (names, mut train, mut eval) = load_data(&args)?;
    if let Some(n) = args.train_limit {
        train.texts.truncate(n);
        train.labels.truncate(n);
    }
    if let Some(n) = args.eval_limit {
        eval.texts.truncate(n);
        eval.labels.truncate(n);
    }
    eprintln!(
        "data: {} training and {} validation examples, labels {:?}",
        train.labels.len(),
        eval.labels.len(),
        names
    );

    let mut config = bert_model::BertConfig::from_file(dir.join("config.json"))?;
    config.set_labels(&names);
    config.problem_type = Some(ProblemType::SingleLabelClassification);
    if args.max_length < 3 || args.max_length > config.max_position_embeddings {
        bail!("--max-length must be between 3 and {}", config.max_position_embeddings);
    }
    let tokenizer = BertTokenizer::from_dir(&dir)?;
    let started = Instant::now();
    let train_set = tokenize(&tokenizer, &train, args.max_length)?;
    let eval_set = tokenize(&tokenizer, &eval, args.max_length)?;
    eprintln!("tokenized in {:.1}s", started.elapsed().as_secs_f64());
    eprintln!("{}", crate::stats::describe("training", &train_set, &names, args.max_length));
    if !eval_set.is_empty() {
        eprintln!("{}", crate::stats::describe("validation", &eval_set, &names, args.max_length));
    }

    // HF `set_seed` before `from_pretrained`: the fresh head's init is seeded too.
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    let model = bert_model::BertForSequenceClassification::from_pretrained_with_config(&dir, &config, &train_device)?;
    let total = targs.total_steps(train_set.len());
    eprintln!("training: {total} steps of batch {} on {}", targs.per_device_train_batch_size, backend_name(&args));

    let mut last = (Instant::now(), 0usize);
    if let Some(dir) = &resume {
        eprintln!("resuming from {}", dir.display());
        // The first rate after resuming counts from the checkpoint's step.
        last.1 = bert_train::checkpoint::load_state(dir)?.global_step;
    }
    // A progress bar on a terminal (indicatif hides it otherwise); log rows print above it.
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps [{elapsed_precise} < {eta_precise}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(last.1 as u64);
    let trainer = Trainer::new(targs.clone(), device.clone(), names.len())?.with_progress({
        let (bar, started) = (bar.clone(), Instant::now());
        move |p| {
            let rate = p.examples as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(p.step as u64);
            bar.set_message(format!("loss {:.4} lr {:.2e} {rate:.1} examples/s", p.loss, p.learning_rate));
        }
    });
    let task = BertTask { model, tokenizer_dir: Some(dir.clone()) };
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
    let last_eval = out
        .log_history
        .last()
        .filter(|e| e.step == out.global_step && e.eval.is_some() && !targs.load_best_model_at_end);
    let (metrics, eval_loss) = match (last_eval, eval_set.is_empty()) {
        (_, true) => (None, None),
        (Some(e), false) => (e.eval.clone(), e.eval_loss),
        (None, false) => {
            let (m, l) = trainer.evaluate(&out.model, &eval_set);
            (m.classification().cloned(), Some(l))
        }
    };
    save(&args, &dir, &out, metrics.as_ref(), eval_loss, &targs, &names)?;

    eprintln!(
        "\ntrained {} steps in {:.1}s ({:.1} examples/s), mean training loss {:.4}",
        out.global_step, out.train_runtime_s, out.train_examples_per_s, out.train_loss
    );
    if let Some(m) = &metrics {
        eprintln!("validation: accuracy {:.4}, macro F1 {:.4}, loss {:.4}", m.accuracy, m.f1_macro, eval_loss.unwrap_or(0.0));
        eprintln!("confusion matrix (rows: true, columns: predicted), labels {names:?}:");
        for (name, row) in names.iter().zip(&m.confusion) {
            eprintln!("  {name:>12} {row:?}");
        }
    }
    println!("model saved to {}", args.output_dir.display());
    Ok(())
}

fn backend_name(args: &TrainArgs) -> String {
    args.backend.backend.clone().unwrap_or_else(|| {
        bert_model::device::Backend::default_compiled().map(|b| b.to_string()).unwrap_or_default()
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
    if let Some(m) = &e.eval {
        eprintln!(
            "eval at step {} (epoch {:.2}): accuracy {:.4} macro F1 {:.4} loss {:.4}",
            e.step,
            e.epoch,
            m.accuracy,
            m.f1_macro,
            e.eval_loss.unwrap_or(0.0)
        );
    }
}

fn training_args(a: &TrainArgs) -> Result<TrainingArgs> {
    let t = TrainingArgs {
        learning_rate: a.learning_rate,
        weight_decay: a.weight_decay,
        max_grad_norm: a.max_grad_norm,
        num_train_epochs: a.epochs,
        max_steps: a.max_steps,
        lr_scheduler_type: match a.lr_scheduler_type.as_str() {
            "cosine" => SchedulerType::Cosine,
            "constant" => SchedulerType::Constant,
            "constant_with_warmup" => SchedulerType::ConstantWithWarmup,
            _ => SchedulerType::Linear,
        },
        warmup_steps: a.warmup_steps,
        warmup_ratio: a.warmup_ratio,
        per_device_train_batch_size: a.batch_size,
        per_device_eval_batch_size: a.eval_batch_size,
        seed: a.seed,
        eval_strategy: match a.eval_strategy.as_str() {
            "no" => EvalStrategy::No,
            "steps" => EvalStrategy::Steps,
            _ => EvalStrategy::Epoch,
        },
        eval_steps: a.eval_steps,
        logging_steps: a.logging_steps,
        gradient_accumulation_steps: a.gradient_accumulation_steps,
        group_by_length: a.group_by_length,
        dataloader_drop_last: a.dataloader_drop_last,
        output_dir: Some(a.output_dir.clone()),
        save_strategy: match a.save_strategy.as_str() {
            "no" => SaveStrategy::No,
            "epoch" => SaveStrategy::Epoch,
            _ => SaveStrategy::Steps,
        },
        save_steps: a.save_steps,
        save_total_limit: a.save_total_limit,
        load_best_model_at_end: a.load_best_model_at_end,
        metric_for_best_model: a.metric_for_best_model.clone(),
        greater_is_better: a.greater_is_better,
        early_stopping_patience: a.early_stopping_patience,
        early_stopping_threshold: a.early_stopping_threshold,
        ..TrainingArgs::default()
    };
    t.validate().map_err(anyhow::Error::msg)?;
    Ok(t)
}

/// The checkpoint to continue from, and the guard HF's run_glue puts on --output-dir: files
/// already there are not replaced unless the user resumes or asks to overwrite.
fn resume_from(args: &TrainArgs) -> Result<Option<std::path::PathBuf>> {
    let out = &args.output_dir;
    match &args.resume {
        Some(None) => match bert_train::checkpoint::last(out) {
            Some(c) => Ok(Some(c)),
            None => bail!("--resume: no checkpoint-<step> directory in {}", out.display()),
        },
        Some(Some(p)) => {
            if !p.join(bert_train::checkpoint::STATE_FILE).is_file() {
                bail!("--resume {}: not a checkpoint directory (no {})", p.display(), bert_train::checkpoint::STATE_FILE);
            }
            Ok(Some(p.clone()))
        }
        None => {
            let non_empty = std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false);
            if non_empty && !args.overwrite_output_dir {
                bail!(
                    "output directory {} already exists and is not empty: use --resume to continue its run, --overwrite-output-dir to replace it, or another --output-dir",
                    out.display()
                );
            }
            Ok(None)
        }
    }
}

/// Label names and the two splits, from the built-in dataset or from files.
fn load_data(args: &TrainArgs) -> Result<(Vec<String>, Split, Split)> {
    let Some(train_file) = &args.train_file else {
        if args.dataset != "rotten-tomatoes" {
            bail!("unknown dataset `{}` (built in: rotten-tomatoes)", args.dataset);
        }
        let s = bert_data::rotten_tomatoes::load()?;
        let split = |rows: Vec<bert_data::rotten_tomatoes::Snippet>| Split {
            labels: rows.iter().map(|r| r.label).collect(),
            texts: rows.into_iter().map(|r| (r.text, None)).collect(),
        };
        let names = bert_data::rotten_tomatoes::LABELS.iter().map(|s| s.to_string()).collect();
        return Ok((names, split(s.train), split(s.validation)));
    };
    let cols = Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        label: args.label_column.clone(),
        require_label: true,
        group: args.group_column.clone(),
    };
    let train_rows = read_rows(train_file, &cols)?;
    if train_rows.is_empty() {
        bail!("{}: no examples", train_file.display());
    }
    // HF run_glue: `label_list = sorted(set(labels))` (numbers sorted as numbers).
    let set: BTreeSet<String> = train_rows.iter().filter_map(|r| r.label.clone()).collect();
    let mut names: Vec<String> = set.into_iter().collect();
    if names.iter().all(|n| n.parse::<i64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
    }
    if names.len() < 2 {
        bail!("{}: the training data has {} distinct label(s); classification needs 2 or more", train_file.display(), names.len());
    }
    let groups: Vec<String> = train_rows.iter().map(|r| r.group.clone().unwrap_or_default()).collect();
    let all = labelled_split(train_file, train_rows, &names, "training")?;
    let (train, eval) = match (&args.validation_file, args.validation_split) {
        (Some(p), _) => (all, labelled_split(p, read_rows(p, &cols)?, &names, "training")?),
        (None, Some(size)) => hold_out(args, train_file, all, &groups, size, &names)?,
        (None, None) => (all, Split::default()),
    };
    Ok((names, train, eval))
}

/// `--validation-split`: part of the training file held out for validation, split like
/// scikit-learn's `train_test_split` (seeded by --seed; stratified or by group on request).
fn hold_out(args: &TrainArgs, file: &Path, all: Split, groups: &[String], size: bert_data::TestSize, names: &[String]) -> Result<(Split, Split)> {
    let n = all.labels.len();
    let split = if args.group_column.is_some() {
        bert_data::group_split(groups, size, args.seed)
    } else if args.stratify {
        bert_data::stratified_split(&all.labels, size, args.seed)
    } else {
        bert_data::train_test_split(n, size, true, args.seed)
    };
    let (train_idx, eval_idx) = split.with_context(|| format!("{}: --validation-split", file.display()))?;
    let pick = |idx: &[usize]| Split {
        texts: idx.iter().map(|&i| all.texts[i].clone()).collect(),
        labels: idx.iter().map(|&i| all.labels[i]).collect(),
    };
    let (train, eval) = (pick(&train_idx), pick(&eval_idx));
    for (id, name) in names.iter().enumerate() {
        if !train.labels.contains(&id) {
            bail!(
                "{}: the validation split leaves label `{name}` without a training example; use --stratify, a smaller --validation-split or another --seed",
                file.display()
            );
        }
    }
    Ok((train, eval))
}

/// Rows with their labels turned into ids of `names`; a label outside them is an error that
/// names the row. A number is also taken as an id when `names` are HF's defaults (`LABEL_3`).
pub(crate) fn labelled_split(path: &Path, rows: Vec<bert_data::Row>, names: &[String], whose: &str) -> Result<Split> {
    let mut s = Split::default();
    for r in rows {
        let label = r.label.unwrap_or_default();
        let by_id = label.parse::<usize>().ok().filter(|&i| names.get(i).is_some_and(|n| *n == format!("LABEL_{i}")));
        let id = names.iter().position(|n| *n == label).or(by_id).with_context(|| {
            format!("{}:{}: label `{label}` is not among the {whose} labels {names:?}", path.display(), r.line)
        })?;
        if r.text.trim().is_empty() {
            bail!("{}:{}: empty text", path.display(), r.line);
        }
        s.texts.push((r.text, r.text_pair));
        s.labels.push(id);
    }
    Ok(s)
}

pub(crate) fn tokenize(tok: &BertTokenizer, split: &Split, max_length: usize) -> Result<TokenizedSet> {
    let opts = EncodeOptions::default().max_length(max_length).padding(Padding::None);
    let mut set = TokenizedSet {
        pad_id: tok.pad_id(),
        labels: split.labels.clone(),
        ..TokenizedSet::default()
    };
    for chunk in split.texts.chunks(1024) {
        let inputs: Vec<Input> = chunk.iter().map(|(t, p)| Input { text: t, pair: p.as_deref() }).collect();
        let enc = tok.encode_batch(&inputs, &opts)?;
        set.input_ids.extend(enc.input_ids);
        set.token_type_ids.extend(enc.token_type_ids);
    }
    Ok(set)
}

#[allow(clippy::too_many_arguments)]
fn save(
    args: &TrainArgs,
    model_dir: &Path,
    out: &bert_train::TrainOutput<BertTask>,
    metrics: Option<&bert_train::ClassificationMetrics>,
    eval_loss: Option<f64>,
    targs: &TrainingArgs,
    names: &[String],
) -> Result<()> {
    let dir = &args.output_dir;
    out.model.model.save_pretrained(dir)?;
    copy_tokenizer(model_dir, dir)?;
    let epoch = out.log_history.last().map_or(0.0, |e| e.epoch);
    let train_results = json!({
        "epoch": epoch,
        "global_step": out.global_step,
        "train_loss": out.train_loss,
        "train_runtime": out.train_runtime_s,
        "train_samples_per_second": out.train_examples_per_s,
    });
    let eval_results = metrics.map(|m| {
        let mut e = crate::eval::eval_json(m, eval_loss, names);
        e["epoch"] = json!(epoch);
        e
    });
    let mut all = train_results.as_object().cloned().unwrap_or_default();
    if let Some(e) = eval_results.as_ref().and_then(|e| e.as_object()) {
        all.extend(e.clone());
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
        "validation_split": args.validation_split.map(|s| match s {
            bert_data::TestSize::Fraction(f) => json!(f),
            bert_data::TestSize::Count(c) => json!(c),
        }),
        "stratify": args.stratify,
        "group_column": args.group_column,
        "max_length": args.max_length,
        "train_limit": args.train_limit,
        "eval_limit": args.eval_limit,
        "backend": backend_name(args),
        "training_args": targs,
    });
    let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomic(&dir.join("train_results.json"), &pretty(&train_results))?;
    if let Some(e) = &eval_results {
        write_atomic(&dir.join("eval_results.json"), &pretty(e))?;
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
