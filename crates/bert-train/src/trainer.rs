//! The loop: seeded shuffling, forward/backward, global-norm clipping, HF's schedule, burn's
//! AdamW; evaluation by strategy; a log history like HF's `trainer_state.json`.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::Device;
use serde::Serialize;

use crate::metrics::{ClassificationMetrics, classification_metrics};
use crate::{Classifier, Dataset, Error, EvalStrategy, Result, TrainingArgs, clip_grad_norm, hf_adamw, lr_lambda, shuffled};

/// One row of the log history (HF `state.log_history`): a training log or an evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub step: usize,
    pub epoch: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<ClassificationMetrics>,
}

#[derive(Debug)]
pub struct TrainOutput<M> {
    pub model: M,
    pub global_step: usize,
    /// Mean training loss over all steps (HF `training_loss`).
    pub train_loss: f64,
    pub train_runtime_s: f64,
    pub train_examples_per_s: f64,
    pub log_history: Vec<LogEntry>,
}

/// Runs training and evaluation on one device (the plain one; autodiff is added inside).
pub struct Trainer {
    pub args: TrainingArgs,
    pub device: Device,
    pub num_labels: usize,
}

impl Trainer {
    pub fn new(args: TrainingArgs, device: Device, num_labels: usize) -> Result<Self> {
        args.validate().map_err(Error::Args)?;
        Ok(Self {
            args,
            device: device.without_autodiff(),
            num_labels,
        })
    }

    /// Trains `model` (built on `self.device.autodiff()`); `on_log` sees each log row as it
    /// is made (progress, metrics files).
    pub fn train<M, D>(
        &self,
        mut model: M,
        train: &D,
        eval: Option<&D>,
        mut on_log: impl FnMut(&LogEntry),
    ) -> Result<TrainOutput<M>>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let a = &self.args;
        if train.is_empty() {
            return Err(Error::Args("the training set is empty".into()));
        }
        let ad = self.device.clone().autodiff();
        ad.seed(a.seed);
        let bs = a.per_device_train_batch_size;
        let per_epoch = train.len().div_ceil(bs);
        let total = a.total_steps(train.len());
        let warmup = a.warmup(total);
        let mut optim = hf_adamw(a);
        let mut history = Vec::new();
        let (mut step, mut loss_sum, mut loss_since_log, mut steps_since_log) = (0usize, 0f64, 0f64, 0usize);
        let started = Instant::now();
        let mut seen = 0usize;
        let mut epoch = 0usize;
        while step < total {
            let order = shuffled(train.len(), a.seed, epoch);
            for (k, idx) in order.chunks(bs).enumerate() {
                if step >= total {
                    break;
                }
                let out = model.step(train.batch(idx, &ad));
                let loss = out.loss.clone().into_scalar::<f32>();
                if !loss.is_finite() {
                    return Err(Error::NonFinite(loss, step));
                }
                let mut grads = GradientsParams::from_grads(out.loss.backward(), &model);
                let grad_norm = clip_grad_norm(&model, &mut grads, a.max_grad_norm);
                let lr = a.learning_rate * lr_lambda(a.lr_scheduler_type, step, warmup, total);
                model = optim.step(lr, model, grads);
                step += 1;
                seen += idx.len();
                loss_sum += loss as f64;
                loss_since_log += loss as f64;
                steps_since_log += 1;
                let epoch_f = epoch as f64 + (k + 1) as f64 / per_epoch as f64;
                if a.logging_steps > 0 && step % a.logging_steps == 0 {
                    let entry = LogEntry {
                        step,
                        epoch: epoch_f,
                        loss: Some(loss_since_log / steps_since_log as f64),
                        // HF logs the rate the scheduler has moved on to.
                        learning_rate: Some(a.learning_rate * lr_lambda(a.lr_scheduler_type, step, warmup, total)),
                        grad_norm: Some(grad_norm as f64),
                        eval_loss: None,
                        eval: None,
                    };
                    on_log(&entry);
                    history.push(entry);
                    (loss_since_log, steps_since_log) = (0.0, 0);
                }
                let eval_now = a.eval_strategy == EvalStrategy::Steps && step % a.eval_steps == 0;
                if let (true, Some(data)) = (eval_now, eval) {
                    let entry = self.eval_entry(&model, data, step, epoch_f);
                    on_log(&entry);
                    history.push(entry);
                }
            }
            epoch += 1;
            if let (EvalStrategy::Epoch, Some(data)) = (a.eval_strategy, eval) {
                let entry = self.eval_entry(&model, data, step, epoch as f64);
                on_log(&entry);
                history.push(entry);
            }
        }
        let runtime = started.elapsed().as_secs_f64();
        Ok(TrainOutput {
            model,
            global_step: step,
            train_loss: loss_sum / step.max(1) as f64,
            train_runtime_s: runtime,
            train_examples_per_s: seen as f64 / runtime.max(1e-9),
            log_history: history,
        })
    }

    fn eval_entry<M, D>(&self, model: &M, data: &D, step: usize, epoch: f64) -> LogEntry
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let (metrics, loss) = self.evaluate(model, data);
        tracing::info!(step, epoch, loss, accuracy = metrics.accuracy, f1_macro = metrics.f1_macro, "eval");
        LogEntry {
            step,
            epoch,
            loss: None,
            learning_rate: None,
            grad_norm: None,
            eval_loss: Some(loss),
            eval: Some(metrics),
        }
    }

    /// Metrics and mean loss of `model` on `data`, without autodiff or dropout.
    pub fn evaluate<M, D>(&self, model: &M, data: &D) -> (ClassificationMetrics, f64)
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let model = model.valid();
        let (mut preds, mut labels, mut loss_sum) = (Vec::new(), Vec::new(), 0f64);
        let indices: Vec<usize> = (0..data.len()).collect();
        for idx in indices.chunks(self.args.per_device_eval_batch_size) {
            let out = model.step(data.batch(idx, &self.device));
            loss_sum += out.loss.into_scalar::<f32>() as f64 * idx.len() as f64;
            let [b, n] = out.logits.dims();
            let logits = out.logits.into_data().try_into_vec_as::<f32>().unwrap_or_default();
            for r in 0..b {
                let row = &logits[r * n..(r + 1) * n];
                let best = (0..n).fold(0, |best, j| if row[j] > row[best] { j } else { best });
                preds.push(best);
            }
            labels.extend(idx.iter().map(|&i| data.label(i)));
        }
        (
            classification_metrics(&labels, &preds, self.num_labels),
            loss_sum / data.len().max(1) as f64,
        )
    }
}
