//! The loop: seeded shuffling, forward/backward with gradient accumulation, global-norm
//! clipping, HF's schedule, AdamW; evaluation, best model and early stopping by strategy;
//! checkpoints and exact resumption; a log history like HF's `trainer_state.json`.
//!
//! Its parts follow HF's `Trainer`: `initial_state` (a fresh state or `_load_from_checkpoint`),
//! `training_step` (one micro-batch's forward and backward), `optimizer_step` (clipping,
//! schedule, update) and `maybe_log_save_evaluate` (`_maybe_log_save_evaluate`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;

use crate::best::improves;
use crate::checkpoint;
use crate::state::{LogEntry, TrainerState};
use crate::step_times::{Phase, StepTimes};
use crate::{
    Classifier, Dataset, Error, EvalMetrics, EvalStrategy, Result, SaveStrategy, Target, TrainingArgs, clip_grad_norm,
    hf_adamw, length_grouped, lr_lambda, shuffled,
};

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
    /// The last evaluation this call ran, with the metrics that are not scalars.
    pub last_evaluation: Option<Evaluation>,
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

/// An evaluation's whole result (its log row keeps the named scalars only): the last one of a
/// run, for the caller's report without evaluating again.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub step: usize,
    pub metrics: EvalMetrics,
    pub loss: f64,
}

/// What one call of `train_from` fixes before its first step.
struct Plan {
    autodiff: Device,
    batch: usize,
    n_batches: usize,
    per_epoch: usize,
    total: usize,
    warmup: usize,
    /// Each example's length, for `group_by_length` only.
    lengths: Vec<usize>,
}

impl Plan {
    fn new<D: Dataset>(a: &TrainingArgs, train: &D, device: &Device) -> Result<Self> {
        if train.is_empty() {
            return Err(Error::Data("the training set is empty".into()));
        }
        let n_batches = a.batches_per_epoch(train.len());
        if n_batches == 0 {
            let bs = a.per_device_train_batch_size;
            return Err(Error::Data(format!("dataloader_drop_last with {} examples and batch {bs} leaves no batch", train.len())));
        }
        let total = a.total_steps(train.len());
        Ok(Self {
            autodiff: device.clone().autodiff(),
            batch: a.per_device_train_batch_size,
            n_batches,
            per_epoch: a.steps_per_epoch(train.len()),
            total,
            warmup: a.warmup(total),
            lengths: if a.group_by_length { (0..train.len()).map(|i| train.length(i)).collect() } else { Vec::new() },
        })
    }
}

/// This call's clock and counters (a resumed run counts its time and examples from the
/// resumption), and its last evaluation.
struct Run {
    started: Instant,
    runtime_before: f64,
    seen_before: usize,
    last_evaluation: Option<Evaluation>,
}

/// One micro-batch of an optimizer step: its examples, dropout seed, the number of
/// micro-batches in the step, and the step's number (for errors).
struct MicroBatch<'a> {
    indices: &'a [usize],
    seed: u64,
    of: usize,
    step: usize,
}

/// One shard's part of a micro-batch: its loss (weighted by its share of the micro-batch), its
/// gradients, and the seconds its data and forward pass took.
struct Shard {
    loss: f64,
    grads: GradientsParams,
    data: f64,
    forward: f64,
}

/// `indices` in `k` contiguous pieces of near-equal size (the first ones one longer), each
/// with its number.
fn shards(indices: &[usize], k: usize) -> Vec<(usize, &[usize])> {
    let k = k.clamp(1, indices.len().max(1));
    let (base, extra) = (indices.len() / k, indices.len() % k);
    let mut rest = indices;
    (0..k)
        .map(|i| {
            let (piece, tail) = rest.split_at(base + usize::from(i < extra));
            rest = tail;
            (i, piece)
        })
        .collect()
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
    bertrs_kernels::splitmix::mix64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (batch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

impl Trainer {
    pub fn new(args: TrainingArgs, device: Device, num_labels: usize) -> Result<Self> {
        args.validate()?;
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
        model: M,
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
        let plan = Plan::new(a, train, &self.device)?;
        // One run per output directory: its checkpoints are this run's alone. The lock also
        // proves the directory writable before any work; leftovers of a run killed while
        // writing are cleared under it.
        let _lock = match &a.output_dir {
            Some(dir) if a.save_strategy != SaveStrategy::No || a.load_best_model_at_end => {
                let lock = bertrs_fs::DirLock::acquire(dir)?;
                bertrs_fs::remove_stale_temps(dir)?;
                Some(lock)
            }
            _ => None,
        };
        let (mut st, mut model, mut optim) = self.initial_state(model, train, resume, &plan)?;
        let mut run = Run { started: Instant::now(), runtime_before: st.runtime_s, seen_before: st.examples_seen, last_evaluation: None };
        let mut accumulator = GradientsAccumulator::<M>::new();
        let mut times = StepTimes::default();
        let mut stop = false;
        'epochs: while st.global_step < plan.total && !stop {
            let epoch = st.next_epoch;
            let order = if a.group_by_length { length_grouped(&plan.lengths, plan.batch, a.seed, epoch) } else { shuffled(train.len(), a.seed, epoch) };
            let batches: Vec<&[usize]> = order.chunks(plan.batch).take(plan.n_batches).collect();
            while st.next_batch < plan.n_batches && st.global_step < plan.total {
                // One optimizer step over up to `accum` micro-batches; HF divides each loss by
                // the number of micro-batches in this step (fewer at the end of an epoch).
                let (from, to) = (st.next_batch, (st.next_batch + a.gradient_accumulation_steps).min(plan.n_batches));
                let mut step_loss = 0f64;
                for (j, idx) in batches.iter().enumerate().take(to).skip(from) {
                    let micro = MicroBatch { indices: idx, seed: batch_seed(a.seed, epoch, j), of: to - from, step: st.global_step + 1 };
                    let batch_loss = self.training_step(&model, train, micro, &plan.autodiff, &mut accumulator, &mut times)?;
                    step_loss += batch_loss / (to - from) as f64;
                    st.examples_seen += idx.len();
                }
                let (updated, grad_norm, lr) = self.optimizer_step(model, &mut optim, accumulator.grads(), st.global_step, &plan, &mut times)?;
                model = updated;
                st.global_step += 1;
                st.next_batch = to;
                st.loss_sum += step_loss;
                st.loss_since_log += step_loss;
                st.steps_since_log += 1;
                st.epoch = epoch as f64 + to.div_ceil(a.gradient_accumulation_steps) as f64 / plan.per_epoch as f64;
                if let Some(f) = &self.on_step {
                    let examples = st.examples_seen - run.seen_before;
                    f(&Progress { step: st.global_step, total: plan.total, loss: step_loss, learning_rate: lr, examples });
                }
                stop = self.maybe_log_save_evaluate(&model, &optim, &mut st, Some(grad_norm), eval, &mut run, &plan, &mut on_log)?;
                if stop {
                    break 'epochs;
                }
            }
            // The end of an epoch (or of max_steps within one): evaluate and save by epoch.
            st.next_epoch = epoch + 1;
            st.next_batch = 0;
            stop = self.maybe_log_save_evaluate(&model, &optim, &mut st, None, eval, &mut run, &plan, &mut on_log)?;
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
        let runtime = run.started.elapsed().as_secs_f64();
        Ok(TrainOutput {
            model,
            global_step: st.global_step,
            train_loss: st.loss_sum / st.global_step.max(1) as f64,
            train_runtime_s: runtime,
            train_examples_per_s: (st.examples_seen - run.seen_before) as f64 / runtime.max(1e-9),
            log_history: st.log_history,
            best_metric: st.best_metric,
            best_model_checkpoint: st.best_model_checkpoint,
            early_stopped: stop,
            step_times: times,
            last_evaluation: run.last_evaluation,
        })
    }

    /// A fresh state, or the checkpoint's state, weights and optimizer (HF
    /// `_load_from_checkpoint`), refused when the checkpoint's data order or data differ.
    fn initial_state<M, D>(&self, model: M, train: &D, resume: Option<&Path>, plan: &Plan) -> Result<(TrainerState, M, ModuleOptimizer)>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let a = &self.args;
        let st = TrainerState {
            global_step: 0,
            epoch: 0.0,
            next_epoch: 0,
            next_batch: 0,
            max_steps: plan.total,
            num_examples: train.len(),
            train_batch_size: plan.batch,
            gradient_accumulation_steps: a.gradient_accumulation_steps,
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
        let optim = hf_adamw(a);
        let Some(dir) = resume else { return Ok((st, model, optim)) };
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
        let model = checkpoint::load_model(dir, model)?;
        let optim = checkpoint::load_optimizer(dir, optim)?;
        tracing::info!(checkpoint = %dir.display(), step = saved.global_step, "resuming");
        Ok((saved, model, optim))
    }

    /// One micro-batch (HF `training_step`): forward, loss, backward into `accumulator`, the
    /// loss divided by the step's number of micro-batches first. Returns the unscaled loss.
    ///
    /// On host backends, for a model whose draws follow the dropout stream
    /// (`Classifier::parallel_shards`), the micro-batch runs as shards side by side
    /// (`training_shards`), each with its own copy of the parameters' autodiff leaves (one
    /// graph per shard: burn merges graphs that share a node and runs their backward passes
    /// under one lock) and its own dropout stream. Each shard's loss is its examples' mean, weighted by its share of the
    /// micro-batch, so the summed gradients are those of the micro-batch's mean loss (the mean
    /// over examples, or over examples × labels, as all three problem types take it).
    fn training_step<M, D>(
        &self,
        model: &M,
        train: &D,
        micro: MicroBatch,
        ad: &Device,
        accumulator: &mut GradientsAccumulator<M>,
        times: &mut StepTimes,
    ) -> Result<f64>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        ad.seed(micro.seed);
        let k = if model.parallel_shards() { bertrs_kernels::device::training_shards(ad, micro.indices.len()) } else { 1 };
        let shards = shards(micro.indices, k);
        let n = micro.indices.len() as f64;
        let t = Instant::now();
        let outs = bertrs_kernels::device::map_batches(ad, &shards, |&(k, idx)| -> Result<Shard> {
            bertrs_kernels::with_dropout_stream(bertrs_kernels::splitmix::mix64(micro.seed ^ k as u64), || {
                let t = Instant::now();
                let model = model.clone().fork(ad);
                let batch = train.batch(idx, ad).map_err(Error::Batch)?;
                let data = t.elapsed().as_secs_f64();
                let out = model.step(batch);
                // Reading the loss waits for the forward pass (on asynchronous devices too).
                let loss = out.loss.clone().into_scalar::<f32>();
                let forward = t.elapsed().as_secs_f64() - data;
                if !loss.is_finite() {
                    return Err(Error::NonFinite { what: "training loss", value: loss as f64, step: micro.step });
                }
                let weight = idx.len() as f64 / n / micro.of as f64;
                let scaled = if weight != 1.0 { out.loss.mul_scalar(weight as f32) } else { out.loss };
                let grads = GradientsParams::from_grads(scaled.backward(), &model);
                Ok(Shard { loss: loss as f64 * idx.len() as f64 / n, grads, data, forward })
            })
        })?;
        // Wall time: the slowest shard's data and forward, the rest (backward, summing the
        // shards' gradients) as backward.
        let (data, forward) = outs.iter().fold((0f64, 0f64), |(d, f), s| (d.max(s.data), f.max(s.forward)));
        let mut loss = 0f64;
        for shard in outs {
            loss += shard.loss;
            accumulator.accumulate(model, shard.grads);
        }
        times.add_s(Phase::Data, data);
        times.add_s(Phase::Forward, forward);
        times.add_s(Phase::Backward, (t.elapsed().as_secs_f64() - data - forward).max(0.0));
        Ok(loss)
    }

    /// Clipping by the global norm, the scheduled rate, AdamW's update: the model after step
    /// `step + 1`, the gradient norm and the rate used.
    fn optimizer_step<M: Classifier>(
        &self,
        model: M,
        optim: &mut ModuleOptimizer,
        mut grads: GradientsParams,
        step: usize,
        plan: &Plan,
        times: &mut StepTimes,
    ) -> Result<(M, f32, f64)> {
        let a = &self.args;
        let t = Instant::now();
        let grad_norm = clip_grad_norm(&model, &mut grads, a.max_grad_norm);
        times.add(Phase::Clip, t);
        // A non-finite norm would turn every weight into NaN (torch's clipping propagates
        // it); stop before the update.
        if !grad_norm.is_finite() {
            return Err(Error::NonFinite { what: "gradient norm", value: grad_norm as f64, step: step + 1 });
        }
        let t = Instant::now();
        let lr = a.learning_rate * lr_lambda(a.lr_scheduler_type, step, plan.warmup, plan.total);
        let model = optim.step(lr, model, grads);
        times.add(Phase::Optimizer, t);
        bertrs_fs::fault::point("optimizer step");
        times.steps += 1;
        Ok((model, grad_norm, lr))
    }

    /// HF `_maybe_log_save_evaluate`: after an optimizer step (`grad_norm` given) the log row,
    /// the evaluation and the checkpoint that the step strategies call for; at the end of an
    /// epoch (`None`) those of the epoch strategies. Returns whether early stopping ends the run.
    #[allow(clippy::too_many_arguments)]
    fn maybe_log_save_evaluate<M, D>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        st: &mut TrainerState,
        grad_norm: Option<f32>,
        eval: Option<&D>,
        run: &mut Run,
        plan: &Plan,
        on_log: &mut impl FnMut(&LogEntry),
    ) -> Result<bool>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let a = &self.args;
        let step = st.global_step;
        let (evaluate, save) = match grad_norm {
            Some(grad_norm) => {
                if a.logging_steps > 0 && step % a.logging_steps == 0 {
                    // HF logs the rate the scheduler has moved on to.
                    let lr = a.learning_rate * lr_lambda(a.lr_scheduler_type, step, plan.warmup, plan.total);
                    let entry = LogEntry::training(step, st.epoch, st.loss_since_log / st.steps_since_log as f64, lr, grad_norm as f64);
                    on_log(&entry);
                    st.log_history.push(entry);
                    (st.loss_since_log, st.steps_since_log) = (0.0, 0);
                }
                // HF saves at every save_steps and at the last step (DefaultFlowCallback).
                (
                    a.eval_strategy == EvalStrategy::Steps && step % a.eval_steps == 0,
                    a.save_strategy == SaveStrategy::Steps && (step % a.save_steps == 0 || step == plan.total),
                )
            }
            None => (a.eval_strategy == EvalStrategy::Epoch, a.save_strategy == SaveStrategy::Epoch),
        };
        let (mut new_best, mut stop) = (false, false);
        if let (true, Some(data)) = (evaluate, eval) {
            (new_best, stop) = self.evaluate_into(model, data, st, run, on_log)?;
        }
        if save {
            self.save(model, optim, st, new_best, run)?;
        }
        Ok(stop)
    }

    /// Evaluates, logs, and updates the best metric and the early-stopping counter; returns
    /// (new best, stop now).
    fn evaluate_into<M, D>(&self, model: &M, data: &D, st: &mut TrainerState, run: &mut Run, on_log: &mut impl FnMut(&LogEntry)) -> Result<(bool, bool)>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let a = &self.args;
        let (metrics, loss) = self.evaluate(model, data)?;
        tracing::info!(step = st.global_step, epoch = st.epoch, loss, ?metrics, "eval");
        let entry = LogEntry::evaluation(st.global_step, st.epoch, loss, &metrics);
        on_log(&entry);
        let value = entry.metric(a.metric_for_best_model.as_deref().unwrap_or("loss"));
        st.log_history.push(entry);
        run.last_evaluation = Some(Evaluation { step: st.global_step, metrics, loss });
        let Some(value) = value else { return Ok((false, false)) };
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
        Ok((new_best, stop))
    }

    fn save<M: Classifier>(
        &self,
        model: &M,
        optim: &ModuleOptimizer,
        st: &mut TrainerState,
        new_best: bool,
        run: &Run,
    ) -> Result<()> {
        let Some(dir) = &self.args.output_dir else { return Ok(()) };
        check_finite(model, st.global_step)?;
        if new_best {
            st.best_model_checkpoint = Some(dir.join(format!("checkpoint-{}", st.global_step)));
        }
        st.runtime_s = run.runtime_before + run.started.elapsed().as_secs_f64();
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
    pub fn evaluate<M, D>(&self, model: &M, data: &D) -> Result<(EvalMetrics, f64)>
    where
        M: Classifier,
        D: Dataset<Batch = M::Batch>,
    {
        let model = model.valid();
        let (mut rows, mut loss_sum) = (Vec::with_capacity(data.len()), 0f64);
        let indices: Vec<usize> = (0..data.len()).collect();
        let chunks: Vec<&[usize]> = indices.chunks(self.args.per_device_eval_batch_size).collect();
        // Several batches at once where the backend gains from it (flex); the results come
        // back in order, so the loss is summed in the same order either way.
        let outs = bertrs_kernels::device::map_batches(&self.device, &chunks, |idx| -> Result<(f32, usize, Vec<f32>)> {
            let out = model.step(data.batch(idx, &self.device).map_err(Error::Batch)?);
            let [_, n] = out.logits.dims();
            let logits = out.logits.into_data().try_into_vec_as::<f32>().map_err(|e| Error::ReadBack { what: "logits", msg: format!("{e:?}") })?;
            Ok((out.loss.into_scalar::<f32>(), n, logits))
        })?;
        for (idx, (loss, n, logits)) in chunks.iter().zip(outs) {
            loss_sum += loss as f64 * idx.len() as f64;
            rows.extend(logits.chunks(n.max(1)).map(<[f32]>::to_vec));
        }
        let targets: Vec<Target> = (0..data.len()).map(|i| data.target(i)).collect();
        let loss = loss_sum / data.len().max(1) as f64;
        Ok((EvalMetrics::compute(&targets, &rows, self.num_labels), loss))
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

#[cfg(test)]
mod tests {
    use super::shards;

    #[test]
    fn shards_are_contiguous_near_equal_and_cover_the_batch() {
        let idx: Vec<usize> = (100..117).collect();
        let s = shards(&idx, 2);
        assert_eq!(s, [(0, &idx[..9]), (1, &idx[9..])]);
        let s = shards(&idx, 5);
        assert_eq!(s.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(), [4, 4, 3, 3, 3]);
        assert_eq!(s.iter().flat_map(|(_, p)| p.iter().copied()).collect::<Vec<_>>(), idx);
        // Never an empty shard: more shards than examples gives one per example.
        assert_eq!(shards(&idx[..3], 8).len(), 3);
        assert_eq!(shards(&idx, 0), [(0, &idx[..])]);
    }
}
