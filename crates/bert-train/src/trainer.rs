//! The loop: seeded shuffling, forward/backward with gradient accumulation, global-norm
//! clipping, HF's schedule, burn's AdamW; evaluation, best model and early stopping by
//! strategy; checkpoints and exact resumption; a log history like HF's `trainer_state.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::best::{improves, metric_value};
use crate::checkpoint::{self, TrainerState};
use crate::metrics::{ClassificationMetrics, classification_metrics};
use crate::multilabel_metrics::{MultiLabelMetrics, multilabel_metrics};
use crate::regression_metrics::{RegressionMetrics, regression_metrics};
use crate::{EvalMetrics, Target};
use crate::{
    Classifier, Dataset, Error, EvalStrategy, Result, SaveStrategy, TrainingArgs, clip_grad_norm, hf_adamw,
    length_grouped, lr_lambda, shuffled,
};

/// One row of the log history (HF `state.log_history`): a training log or an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub step: usize,
    pub epoch: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<ClassificationMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_multilabel: Option<MultiLabelMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_regression: Option<RegressionMetrics>,
}

/// Where the training steps' time went, summed over the run (wall clock per phase; the
/// clipping reads the gradient norm, so it also waits for an asynchronous device).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepTimes {
    pub steps: usize,
    /// Building batches (tensors from token ids).
    pub data_s: f64,
    /// The forward pass and the loss.
    pub forward_s: f64,
    /// The backward pass and gradient accumulation.
    pub backward_s: f64,
    /// The global gradient norm and clipping.
    pub clip_s: f64,
    /// AdamW's update.
    pub optimizer_s: f64,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Data,
    Forward,
    Backward,
    Clip,
    Optimizer,
}

impl StepTimes {
    fn add(&mut self, phase: Phase, since: Instant) {
        let dt = since.elapsed().as_secs_f64();
        let slot = match phase {
            Phase::Data => &mut self.data_s,
            Phase::Forward => &mut self.forward_s,
            Phase::Backward => &mut self.backward_s,
            Phase::Clip => &mut self.clip_s,
            Phase::Optimizer => &mut self.optimizer_s,
        };
        *slot += dt;
    }

    /// One line of milliseconds per step by phase, with shares of the total.
    pub fn summary(&self) -> String {
        let n = self.steps.max(1) as f64;
        let parts = [("data", self.data_s), ("forward", self.forward_s), ("backward", self.backward_s), ("clip", self.clip_s), ("optimizer", self.optimizer_s)];
        let total: f64 = parts.iter().map(|p| p.1).sum::<f64>().max(1e-12);
        let each: Vec<String> = parts.iter().map(|(name, s)| format!("{name} {:.1} ms ({:.0}%)", s / n * 1e3, s / total * 100.0)).collect();
        format!("per step: {}", each.join(", "))
    }
}

#[derive(Debug)]
pub struct TrainOutput<M> {
    /// The final model, or the best checkpoint's with `load_best_model_at_end`.
    pub model: M,
    pub global_step: usize,
    /// Mean training loss over all steps (HF `training_loss`), resumed steps included.
    pub train_loss: f64,
    /// Wall time of this call (a resumed run counts from the resumption).
    pub train_runtime_s: f64,
    pub train_examples_per_s: f64,
    pub log_history: Vec<LogEntry>,
    pub best_metric: Option<f64>,
    pub best_model_checkpoint: Option<PathBuf>,
    /// Stopped by `early_stopping_patience` before the planned steps.
    pub early_stopped: bool,
    /// Time per phase of the steps this run took (not those before a resumption).
    pub step_times: StepTimes,
}

/// Where the loop stands after an optimizer step (for progress bars).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub step: usize,
    pub total: usize,
    /// This step's training loss.
    pub loss: f64,
    pub learning_rate: f64,
    /// Examples trained on by this call so far (a resumed run counts from the resumption).
    pub examples: usize,
}

type OnStep = Box<dyn Fn(&Progress) + Send + Sync>;

/// Runs training and evaluation on one device (the plain one; autodiff is added inside).
pub struct Trainer {
    pub args: TrainingArgs,
    pub device: Device,
    pub num_labels: usize,
    on_step: Option<OnStep>,
}

/// The dropout seed of one micro-batch: a function of the position only, so a resumed run
/// draws the same masks as an uninterrupted one without saving generator state. (burn's
/// generator is one per backend and process: two trainers running at once in one process
/// would interleave their draws.)
fn batch_seed(seed: u64, epoch: usize, batch: usize) -> u64 {
    crate::sampler::mix64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (batch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

impl Trainer {
    pub fn new(args: TrainingArgs, device: Device, num_labels: usize) -> Result<Self> {
        args.validate().map_err(Error::Args)?;
        Ok(Self {
            args,
            device: device.without_autodiff(),
            num_labels,
            on_step: None,
        })
    }

    /// Calls `f` after every optimizer step (a progress bar; logging rows go to `on_log`).
    pub fn with_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_step = Some(Box::new(f));
        self
    }

    /// Trains `model` (built on `self.device.autodiff()`) from the start; `on_log` sees each
    /// log row as it is made (progress, metrics files).
    pub fn train<M, D>(&self, model: M, train: &D, eval: Option<&D>, on_log: impl FnMut(&LogEntry)) -> Result<TrainOutput<M>>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        self.train_from(model, train, eval, None, on_log)
    }

    /// Like [`train`](Self::train), continuing from a checkpoint directory when given (HF
    /// `train(resume_from_checkpoint=…)`): weights, optimizer state, step, data position and
    /// log history come from it; the data and arguments must be the run's own.
    pub fn train_from<M, D>(
        &self,
        mut model: M,
        train: &D,
        eval: Option<&D>,
        resume: Option<&Path>,
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
        let (bs, accum) = (a.per_device_train_batch_size, a.gradient_accumulation_steps);
        let n_batches = a.batches_per_epoch(train.len());
        if n_batches == 0 {
            return Err(Error::Args(format!("dataloader_drop_last with {} examples and batch {bs} leaves no batch", train.len())));
        }
        // One run per output directory: its checkpoints are this run's alone. The lock also
        // proves the directory writable before any work; leftovers of a run killed while
        // writing are cleared under it.
        let _lock = match &a.output_dir {
            Some(dir) if a.save_strategy != SaveStrategy::No || a.load_best_model_at_end => {
                let lock = bert_fs::DirLock::acquire(dir)?;
                bert_fs::remove_stale_temps(dir)?;
                Some(lock)
            }
            _ => None,
        };
        let lengths: Vec<usize> = if a.group_by_length { (0..train.len()).map(|i| train.length(i)).collect() } else { Vec::new() };
        let per_epoch = a.steps_per_epoch(train.len());
        let total = a.total_steps(train.len());
        let warmup = a.warmup(total);
        let mut optim = hf_adamw(a);
        let mut st = TrainerState {
            global_step: 0,
            epoch: 0.0,
            next_epoch: 0,
            next_batch: 0,
            max_steps: total,
            num_examples: train.len(),
            train_batch_size: bs,
            gradient_accumulation_steps: accum,
            seed: a.seed,
            group_by_length: a.group_by_length,
            dataloader_drop_last: a.dataloader_drop_last,
            data_fingerprint: train.fingerprint(),
            loss_sum: 0.0,
            loss_since_log: 0.0,
            steps_since_log: 0,
            examples_seen: 0,
            runtime_s: 0.0,
            best_metric: None,
            best_model_checkpoint: None,
            early_stopping_patience_counter: 0,
            log_history: Vec::new(),
        };
        if let Some(dir) = resume {
            let saved = checkpoint::load_state(dir)?;
            let (was, now) = (saved.data_order(), st.data_order());
            if was != now {
                return Err(Error::Resume { path: dir.to_path_buf(), msg: format!("it was written by a run with {was}; this run has {now}") });
            }
            if let (Some(was), Some(now)) = (saved.data_fingerprint, st.data_fingerprint)
                && was != now
            {
                return Err(Error::Resume {
                    path: dir.to_path_buf(),
                    msg: format!("it was written by a run on other training data (fingerprint {was:016x}; this run's is {now:016x})"),
                });
            }
            st = saved;
            model = checkpoint::load_model(dir, model)?;
            optim = checkpoint::load_optimizer(dir, optim)?;
            tracing::info!(checkpoint = %dir.display(), step = st.global_step, "resuming");
        }
        let started = Instant::now();
        let (runtime_before, seen_before) = (st.runtime_s, st.examples_seen);
        let mut accumulator = GradientsAccumulator::<M>::new();
        let mut times = StepTimes::default();
        let mut stop = false;
        'epochs: while st.global_step < total && !stop {
            let epoch = st.next_epoch;
            let order = if a.group_by_length { length_grouped(&lengths, bs, a.seed, epoch) } else { shuffled(train.len(), a.seed, epoch) };
            let batches: Vec<&[usize]> = order.chunks(bs).take(n_batches).collect();
            while st.next_batch < n_batches && st.global_step < total {
                // One optimizer step over up to `accum` micro-batches; HF divides each loss by
                // the number of micro-batches in this step (fewer at the end of an epoch).
                let (from, to) = (st.next_batch, (st.next_batch + accum).min(n_batches));
                let n_micro = to - from;
                let mut step_loss = 0f64;
                for (j, idx) in batches.iter().enumerate().take(to).skip(from) {
                    ad.seed(batch_seed(a.seed, epoch, j));
                    let t = Instant::now();
                    let batch = train.batch(idx, &ad);
                    times.add(Phase::Data, t);
                    let t = Instant::now();
                    let out = model.step(batch);
                    // Reading the loss waits for the forward pass (on asynchronous devices too).
                    let loss = out.loss.clone().into_scalar::<f32>();
                    times.add(Phase::Forward, t);
                    if !loss.is_finite() {
                        return Err(Error::NonFinite { what: "training loss", value: loss as f64, step: st.global_step + 1 });
                    }
                    let t = Instant::now();
                    let scaled = if n_micro > 1 { out.loss.div_scalar(n_micro as f32) } else { out.loss };
                    accumulator.accumulate(&model, GradientsParams::from_grads(scaled.backward(), &model));
                    times.add(Phase::Backward, t);
                    step_loss += loss as f64 / n_micro as f64;
                    st.examples_seen += idx.len();
                }
                let t = Instant::now();
                let mut grads = accumulator.grads();
                let grad_norm = clip_grad_norm(&model, &mut grads, a.max_grad_norm);
                times.add(Phase::Clip, t);
                // A non-finite norm would turn every weight into NaN (torch's clipping
                // propagates it); stop before the update.
                if !grad_norm.is_finite() {
                    return Err(Error::NonFinite { what: "gradient norm", value: grad_norm as f64, step: st.global_step + 1 });
                }
                let t = Instant::now();
                let lr = a.learning_rate * lr_lambda(a.lr_scheduler_type, st.global_step, warmup, total);
                model = optim.step(lr, model, grads);
                times.add(Phase::Optimizer, t);
                bert_fs::fault::point("optimizer step");
                times.steps += 1;
                st.global_step += 1;
                st.next_batch = to;
                st.loss_sum += step_loss;
                st.loss_since_log += step_loss;
                st.steps_since_log += 1;
                st.epoch = epoch as f64 + to.div_ceil(accum) as f64 / per_epoch as f64;
                let step = st.global_step;
                if let Some(f) = &self.on_step {
                    f(&Progress { step, total, loss: step_loss, learning_rate: lr, examples: st.examples_seen - seen_before });
                }
                if a.logging_steps > 0 && step % a.logging_steps == 0 {
                    let entry = LogEntry {
                        step,
                        epoch: st.epoch,
                        loss: Some(st.loss_since_log / st.steps_since_log as f64),
                        // HF logs the rate the scheduler has moved on to.
                        learning_rate: Some(a.learning_rate * lr_lambda(a.lr_scheduler_type, step, warmup, total)),
                        grad_norm: Some(grad_norm as f64),
                        eval_loss: None,
                        eval: None,
                        eval_multilabel: None,
                        eval_regression: None,
                    };
                    on_log(&entry);
                    st.log_history.push(entry);
                    (st.loss_since_log, st.steps_since_log) = (0.0, 0);
                }
                let mut new_best = false;
                if let (EvalStrategy::Steps, Some(data)) = (a.eval_strategy, eval)
                    && step % a.eval_steps == 0
                {
                    (new_best, stop) = self.evaluate_into(&model, data, &mut st, &mut on_log);
                }
                // HF saves at every save_steps and at the last step (DefaultFlowCallback).
                if a.save_strategy == SaveStrategy::Steps && (step % a.save_steps == 0 || step == total) {
                    self.save(&model, &optim, &mut st, new_best, started, runtime_before)?;
                }
                if stop {
                    break 'epochs;
                }
            }
            // The end of an epoch (or of max_steps within one): evaluate and save by epoch.
            st.next_epoch = epoch + 1;
            st.next_batch = 0;
            let mut new_best = false;
            if let (EvalStrategy::Epoch, Some(data)) = (a.eval_strategy, eval) {
                (new_best, stop) = self.evaluate_into(&model, data, &mut st, &mut on_log);
            }
            if a.save_strategy == SaveStrategy::Epoch {
                self.save(&model, &optim, &mut st, new_best, started, runtime_before)?;
            }
        }
        if a.load_best_model_at_end
            && let Some(best) = &st.best_model_checkpoint
        {
            tracing::info!(checkpoint = %best.display(), metric = st.best_metric, "loading the best model");
            model = checkpoint::load_model(best, model)?;
        }
        // The last update may have overflowed a weight (a huge weight decay, say): the caller
        // saves this model, so it must be whole.
        check_finite(&model, st.global_step)?;
        let runtime = started.elapsed().as_secs_f64();
        Ok(TrainOutput {
            model,
            global_step: st.global_step,
            train_loss: st.loss_sum / st.global_step.max(1) as f64,
            train_runtime_s: runtime,
            train_examples_per_s: (st.examples_seen - seen_before) as f64 / runtime.max(1e-9),
            log_history: st.log_history,
            best_metric: st.best_metric,
            best_model_checkpoint: st.best_model_checkpoint,
            early_stopped: stop,
            step_times: times,
        })
    }

    /// Evaluates, logs, and updates the best metric and the early-stopping counter; returns
    /// (new best, stop now).
    fn evaluate_into<M, D>(&self, model: &M, data: &D, st: &mut TrainerState, on_log: &mut impl FnMut(&LogEntry)) -> (bool, bool)
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let a = &self.args;
        let (metrics, loss) = self.evaluate(model, data);
        tracing::info!(step = st.global_step, epoch = st.epoch, loss, ?metrics, "eval");
        let mut entry = LogEntry {
            step: st.global_step,
            epoch: st.epoch,
            loss: None,
            learning_rate: None,
            grad_norm: None,
            eval_loss: Some(loss),
            eval: None,
            eval_multilabel: None,
            eval_regression: None,
        };
        match metrics {
            EvalMetrics::Classification(m) => entry.eval = Some(m),
            EvalMetrics::MultiLabel(m) => entry.eval_multilabel = Some(m),
            EvalMetrics::Regression(m) => entry.eval_regression = Some(m),
        }
        on_log(&entry);
        let value = metric_value(a, &entry);
        st.log_history.push(entry);
        let Some(value) = value else { return (false, false) };
        // HF's EarlyStoppingCallback compares with the best *before* this evaluation.
        let mut stop = false;
        if let Some(patience) = a.early_stopping_patience {
            if improves(a, value, st.best_metric, a.early_stopping_threshold) {
                st.early_stopping_patience_counter = 0;
            } else {
                st.early_stopping_patience_counter += 1;
            }
            stop = st.early_stopping_patience_counter >= patience;
            if stop {
                tracing::info!(patience, "early stopping: no improvement");
            }
        }
        let new_best = improves(a, value, st.best_metric, 0.0);
        if new_best {
            st.best_metric = Some(value);
        }
        (new_best, stop)
    }

    fn save<M: Classifier>(
        &self,
        model: &M,
        optim: &burn::optim::ModuleOptimizer,
        st: &mut TrainerState,
        new_best: bool,
        started: Instant,
        runtime_before: f64,
    ) -> Result<()> {
        let Some(dir) = &self.args.output_dir else { return Ok(()) };
        check_finite(model, st.global_step)?;
        if new_best {
            st.best_model_checkpoint = Some(dir.join(format!("checkpoint-{}", st.global_step)));
        }
        st.runtime_s = runtime_before + started.elapsed().as_secs_f64();
        let path = checkpoint::save(dir, model, optim, st)?;
        tracing::info!(checkpoint = %path.display(), "saved");
        if let Some(limit) = self.args.save_total_limit {
            checkpoint::rotate(dir, limit, st.best_model_checkpoint.as_deref())?;
        }
        Ok(())
    }

    /// Metrics and mean loss of `model` on `data`, without autodiff or dropout. The kind of
    /// metrics follows the dataset's targets: argmax classification metrics, multi-label
    /// metrics at a sigmoid threshold of 0.5, or regression metrics of the first logit.
    pub fn evaluate<M, D>(&self, model: &M, data: &D) -> (EvalMetrics, f64)
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let model = model.valid();
        let (mut rows, mut loss_sum) = (Vec::with_capacity(data.len()), 0f64);
        let indices: Vec<usize> = (0..data.len()).collect();
        for idx in indices.chunks(self.args.per_device_eval_batch_size) {
            let out = model.step(data.batch(idx, &self.device));
            loss_sum += out.loss.into_scalar::<f32>() as f64 * idx.len() as f64;
            let [b, n] = out.logits.dims();
            let logits = out.logits.into_data().try_into_vec_as::<f32>().unwrap_or_default();
            rows.extend((0..b).map(|r| logits[r * n..(r + 1) * n].to_vec()));
        }
        let targets: Vec<Target> = (0..data.len()).map(|i| data.target(i)).collect();
        let loss = loss_sum / data.len().max(1) as f64;
        let metrics = match targets.first() {
            Some(Target::Value(_)) => {
                let y: Vec<f64> = targets.iter().map(|t| if let Target::Value(v) = t { *v as f64 } else { f64::NAN }).collect();
                let p: Vec<f64> = rows.iter().map(|r| r.first().copied().unwrap_or(f32::NAN) as f64).collect();
                EvalMetrics::Regression(regression_metrics(&y, &p))
            }
            Some(Target::Labels(_)) => {
                let y: Vec<Vec<bool>> = targets.into_iter().map(|t| if let Target::Labels(l) = t { l } else { Vec::new() }).collect();
                let p: Vec<Vec<f32>> = rows.iter().map(|r| r.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect()).collect();
                EvalMetrics::MultiLabel(multilabel_metrics(&y, &p, 0.5))
            }
            _ => {
                let y: Vec<usize> = targets.iter().map(|t| if let Target::Class(c) = t { *c } else { 0 }).collect();
                let preds: Vec<usize> = rows.iter().map(|r| (0..r.len()).fold(0, |best, j| if r[j] > r[best] { j } else { best })).collect();
                EvalMetrics::Classification(classification_metrics(&y, &preds, self.num_labels))
            }
        };
        (metrics, loss)
    }
}

/// An error when any weight of `model` is NaN or infinite.
fn check_finite<M: burn::module::Module>(model: &M, step: usize) -> Result<()> {
    struct Finite(Option<f64>);
    impl burn::module::ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            if self.0.is_some() {
                return;
            }
            let t = param.val();
            if !t.clone().is_finite().all().into_scalar::<bool>() {
                let bad = t.into_data().iter::<f32>().find(|v| !v.is_finite()).unwrap_or(f32::NAN);
                self.0 = Some(bad as f64);
            }
        }
    }
    let mut v = Finite(None);
    model.visit(&mut v);
    match v.0 {
        Some(value) => Err(Error::NonFinite { what: "weight", value, step }),
        None => Ok(()),
    }
}
