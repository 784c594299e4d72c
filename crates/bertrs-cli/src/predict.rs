//! `bertrs-cli predict`: batched inference with dynamic padding, results in input order.

use anyhow::{Result, bail};
use bertrs_data::{Columns, Encoder, open_rows};
use std::io::Write;

use bertrs_fs::AtomicFile;
use bertrs_model::ProblemType;
use bertrs_train::metrics::{argmax, sigmoid, softmax};
use serde_json::json;

use crate::args::PredictArgs;
use crate::model_dir;

pub fn run(args: PredictArgs) -> Result<()> {
    if bertrs_fs::same_file(&args.input, &args.output) {
        bail!("--output {} is the --input file: writing it would destroy the input", args.output.display());
    }
    // Created now, so an output that cannot be written fails before the work; it replaces
    // the path only when complete.
    let mut out = AtomicFile::create(&args.output)?;
    let opened = model_dir::Opened::new(&args.model, args.backend.backend.as_deref(), args.max_length)?;
    let (config, device) = (&opened.config, &opened.device);
    let cols = Columns {
        text: args.columns.text_column.clone(),
        text_pair: args.columns.text_pair_column.clone(),
        ..Columns::default()
    };
    let rows = open_rows(&args.input, &cols)?;
    // Timed: reading, tokenization and forward passes, not loading the model.
    let started = std::time::Instant::now();
    let data = Encoder::new(&opened.tokenizer, opened.max_length)?.unlabelled(&args.input, rows)?;
    model_dir::check_pairs(&args.input, &data, config)?;
    // The weights last: the cheap checks above fail first.
    let loading = std::time::Instant::now();
    let model = opened.weights()?;
    let load_s = loading.elapsed();

    // Batches of similar length waste less compute on padding; padding never changes a
    // row's logits (tested to 1e-5), so the order of batching is free.
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&i| data.length(i));
    let mut logits = vec![Vec::new(); data.len()];
    let n = config.num_labels();
    for chunk in order.chunks(args.batch_size) {
        let input = data.batch(chunk, device)?.input.with_execution(args.backend.execution());
        let out = model
            .forward(input)
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("reading logits: {e:?}"))?;
        for (k, &i) in chunk.iter().enumerate() {
            logits[i] = out[k * n..(k + 1) * n].to_vec();
        }
    }

    let labels = config.labels();
    for (i, l) in logits.iter().enumerate() {
        // Broken weights give NaN logits; a label argmax'd from them would look real.
        if let Some(bad) = l.iter().find(|v| !v.is_finite()) {
            bail!(
                "{} row {}: the model gave a non-finite logit ({bad}); its weights are broken, nothing was written",
                args.input.display(),
                i + 1
            );
        }
        let row = match config.problem_type() {
            ProblemType::SingleLabelClassification => {
                let probs = softmax(l);
                let best = argmax(&probs);
                json!({"label": labels[best], "logits": l, "probs": probs})
            }
            ProblemType::MultiLabelClassification => {
                let probs: Vec<f32> = l.iter().copied().map(sigmoid).collect();
                let on: Vec<&String> = probs.iter().zip(&labels).filter(|(p, _)| **p > 0.5).map(|(_, n)| n).collect();
                json!({"labels": on, "logits": l, "probs": probs})
            }
            ProblemType::Regression => json!({"value": l[0], "logits": l}),
        };
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
    }
    let secs = (started.elapsed() - load_s).as_secs_f64();
    out.commit()?;
    eprintln!(
        "predicted {} rows in {secs:.2}s ({:.1} examples/s, model load excluded); wrote {}",
        data.len(),
        data.len() as f64 / secs.max(1e-9),
        args.output.display()
    );
    Ok(())
}
