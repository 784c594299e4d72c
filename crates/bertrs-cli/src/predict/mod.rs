//! `bertrs-cli predict`: streaming, resumable batched inference.
//!
//! The input is read in windows of `--window-rows` rows; a window is tokenized, sorted by
//! length, batched, predicted and written in input order before the next is read, so
//! memory does not grow with the file. After each window the output so far is made durable
//! and a small state file records the position (`state.rs`); `--resume` continues a killed
//! run after its last complete window and writes the same bytes an uninterrupted run would.

mod scores;
mod sink;
mod state;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bertrs_data::{Columns, Encoded, Encoder, Format, Row, RowReader, open_files};
use bertrs_model::{BertConfig, BertForSequenceClassification, Execution, ProblemType};
use burn::tensor::Device;

use crate::args::PredictArgs;
use crate::dataset;
use crate::model_dir;
use scores::Prediction;
use state::Paths;

pub fn run(args: PredictArgs) -> Result<()> {
    let inputs = dataset::inputs(args.input.as_ref(), args.dataset.as_deref(), args.dataset_config.as_deref(), &args.split)?;
    let input = inputs[0].as_path();
    if inputs.iter().any(|i| bertrs_fs::same_file(i, &args.output)) {
        bail!("--output {} is the --input file (or one of them): writing it would destroy the input", args.output.display());
    }
    let paths = Paths::new(&args.output);
    // The output's directory must be writable before any work is done.
    check_writable(&paths.output)?;
    let opened = model_dir::Opened::new(&args.model, args.backend.backend.as_deref(), args.max_length)?;
    let config = &opened.config;
    let cols = Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        keep: args.keep_columns.clone(),
        ..Columns::default()
    };
    let problem = config.problem_type();
    if let Some(k) = args.keep_columns.iter().find(|k| scores::fields(problem).contains(&k.as_str())) {
        bail!("--keep-columns {k}: `{k}` is an output field of {problem} predictions; rename the column");
    }
    let mut rows = open_files(&inputs, &cols)?;
    let encoder = Encoder::new(&opened.tokenizer, opened.max_length)?;
    let settings = format!(
        "model={} ({}) max_length={} batch_size={} window_rows={} execution={:?} backend={:?} columns={:?} output={}",
        opened.dir.display(),
        state::model_stamp(&opened.dir),
        opened.max_length,
        args.batch_size,
        args.window_rows,
        args.backend.execution(),
        opened.device,
        cols,
        if sink::is_parquet(&paths.output) { "parquet" } else { "jsonl" },
    );
    let run_id = state::run_id(&inputs, &settings)?;
    let resumed = if args.resume {
        let done = state::load(&paths.state, &run_id)?;
        if done.is_none() {
            eprintln!("no partial run at {}: starting from the first row", paths.state.display());
        }
        done
    } else {
        if paths.state.exists() {
            eprintln!("replacing the partial run at {} (pass --resume to continue one)", paths.state.display());
        }
        None
    };
    let mut done = resumed.unwrap_or_default();
    skip(&mut rows, done.rows)?;
    let bar = progress(&inputs, &rows, done.rows);
    // Timed: reading, tokenization, forward passes and writing, not loading the model.
    let started = std::time::Instant::now();
    let rows_before = done.rows;
    let names = config.labels();
    let window = Window { config, encoder: &encoder, device: &opened.device, batch_size: args.batch_size, execution: args.backend.execution(), path: input };
    // The first window is read and checked before the weights load: bad input fails first.
    let mut pending = window.read(&mut rows, args.window_rows)?;
    let loading = std::time::Instant::now();
    let model = opened.weights()?;
    let load_s = loading.elapsed();
    let mut out = if sink::is_parquet(&paths.output) {
        sink::Parquet::open(&paths, problem, &args.keep_columns, resumed.map(|d| d.windows))?
    } else {
        sink::Jsonl::open(&paths, &args.keep_columns, resumed.map(|d| d.position))?
    };
    let streamed = (|| -> Result<()> {
        while let Some(w) = pending.take() {
            let n = w.data.len() as u64;
            let preds = window.predict(&model, w, done.rows, problem, &names)?;
            out.write_window(done.windows, &preds)?;
            done.position = out.checkpoint()?;
            done.rows += n;
            done.windows += 1;
            state::save(&paths.state, &run_id, done)?;
            bertrs_fs::fault::point("predict window");
            bar.inc(n);
            pending = window.read(&mut rows, args.window_rows)?;
        }
        Ok(())
    })();
    if let Err(e) = streamed {
        return Err(abandon(&paths, e));
    }
    // The state goes first: a kill before the output is in place leaves work files that a
    // new run replaces, never a state that promises rows the output does not have.
    std::fs::remove_file(&paths.state).with_context(|| format!("cannot remove {}", paths.state.display()))?;
    out.finish().map_err(|e| abandon(&paths, e))?;
    bar.finish_and_clear();
    let secs = (started.elapsed() - load_s).as_secs_f64();
    let predicted = done.rows - rows_before;
    eprintln!(
        "predicted {predicted} rows in {secs:.2}s ({:.1} examples/s, model load excluded); wrote {}",
        predicted as f64 / secs.max(1e-9),
        args.output.display()
    );
    Ok(())
}

/// A run that failed: with a recorded position, its work files stay for `--resume` (a full
/// disk, freed, continues where it stopped); without one they are removed, leaving only what
/// was there before the run.
fn abandon(paths: &Paths, e: anyhow::Error) -> anyhow::Error {
    if paths.state.exists() {
        return e.context(format!("the rows done so far are kept beside {}: rerun with --resume to continue after them", paths.output.display()));
    }
    for p in [&paths.partial, &paths.parts] {
        let _ = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
    }
    e
}

/// What a window needs to be read and predicted.
struct Window<'a> {
    config: &'a BertConfig,
    encoder: &'a Encoder,
    device: &'a Device,
    batch_size: usize,
    execution: Execution,
    path: &'a Path,
}

/// A window read and tokenized, not yet predicted.
struct Read {
    data: Encoded,
    kept: Vec<Vec<serde_json::Value>>,
}

impl Window<'_> {
    /// The next (up to) `n` rows, tokenized and checked against the model; `None` at the end.
    fn read(&self, rows: &mut RowReader, n: usize) -> Result<Option<Read>> {
        let mut batch: Vec<Row> = rows.by_ref().take(n).collect::<Result<_, _>>()?;
        if batch.is_empty() {
            return Ok(None);
        }
        let kept = batch.iter_mut().map(|r| std::mem::take(&mut r.kept)).collect();
        let data = self.encoder.unlabelled(self.path, batch.into_iter().map(Ok))?;
        model_dir::check_pairs(self.path, &data, self.config)?;
        Ok(Some(Read { data, kept }))
    }

    /// The predictions of a window (the file's rows after the first `offset`), in order.
    fn predict(&self, model: &BertForSequenceClassification, w: Read, offset: u64, problem: ProblemType, names: &[String]) -> Result<Vec<Prediction>> {
        let data = &w.data;
        // Batches of similar length waste less compute on padding; padding never changes a
        // row's logits (tested to 1e-5), so the order of batching is free.
        let mut order: Vec<usize> = (0..data.len()).collect();
        order.sort_by_key(|&i| data.length(i));
        let mut logits = vec![Vec::new(); data.len()];
        let n = self.config.num_labels();
        let batches: Vec<&[usize]> = order.chunks(self.batch_size).collect();
        let outs = bertrs_model::device::map_batches(self.device, &batches, |chunk| -> Result<Vec<f32>> {
            let input = data.batch(chunk, self.device)?.input.with_execution(self.execution);
            model.forward(input).into_data().try_into_vec_as::<f32>().map_err(|e| anyhow::anyhow!("reading logits: {e:?}"))
        })?;
        for (chunk, out) in batches.iter().zip(outs) {
            for (k, &i) in chunk.iter().enumerate() {
                logits[i] = out[k * n..(k + 1) * n].to_vec();
            }
        }
        logits
            .into_iter()
            .zip(w.kept)
            .enumerate()
            .map(|(i, (l, kept))| {
                // Broken weights give NaN logits; a label argmax'd from them would look real.
                if let Some(bad) = l.iter().find(|v| !v.is_finite()) {
                    bail!(
                        "{} row {}: the model gave a non-finite logit ({bad}); its weights are broken, nothing was written",
                        self.path.display(),
                        offset + i as u64 + 1
                    );
                }
                Ok(Prediction::new(problem, names, l, kept))
            })
            .collect()
    }
}

/// Reads past the rows a resumed run has done; fewer rows than that means the input changed.
fn skip(rows: &mut RowReader, n: u64) -> Result<()> {
    for i in 0..n {
        match rows.next() {
            Some(r) => drop(r?),
            None => bail!("cannot resume: {} has {i} rows, fewer than the {n} already predicted", rows.path().display()),
        }
    }
    Ok(())
}

/// Fails now, not after the work, when the output's directory cannot take files.
fn check_writable(output: &Path) -> Result<()> {
    // Created and dropped: removed again, and whatever is at `output` stays as it was.
    bertrs_fs::AtomicFile::create(output).map(drop).with_context(|| format!("cannot write {}", output.display()))
}

/// A progress bar (rows, rows/s, ETA) on a terminal; hidden otherwise. The total is the
/// Parquet row count, or a line count of an uncompressed text file (close enough for an ETA).
fn progress(inputs: &[PathBuf], rows: &RowReader, done: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let total = rows.num_rows().or_else(|| match inputs {
        [one] => count_lines(one),
        _ => None,
    });
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::no_length(),
    };
    let template = if total.is_some() {
        "{bar:30} {human_pos}/{human_len} rows [{elapsed_precise} < {eta_precise}, {per_sec}]"
    } else {
        "{spinner} {human_pos} rows [{elapsed_precise}, {per_sec}]"
    };
    bar.set_style(indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar.set_position(done);
    bar
}

fn count_lines(input: &Path) -> Option<u64> {
    let (format, compression) = Format::and_compression(input).ok()?;
    if compression != bertrs_data::Compression::None || format == Format::Parquet || format == Format::Json {
        return None;
    }
    let mut f = std::io::BufReader::new(std::fs::File::open(input).ok()?);
    let mut lines = 0u64;
    loop {
        let buf = std::io::BufRead::fill_buf(&mut f).ok()?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        std::io::BufRead::consume(&mut f, n);
    }
    Some(if matches!(format, Format::Csv | Format::Tsv) { lines.saturating_sub(1) } else { lines })
}
