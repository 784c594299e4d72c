//! The model's own thread and its queue: dynamic batching, as TEI's queue does. Inputs
//! queue in arrival order; the model takes the oldest into forward passes of up to
//! `--max-batch-requests` inputs and `--max-batch-tokens` real tokens. A pass that is not
//! full waits for inputs still arriving, but only while they keep coming (a gap of `GAP` ends
//! the wait, `MAX_WAIT` caps it): when a pass's answers go out, its clients' next requests
//! arrive over the next millisecond or two, and without the wait the first of them would run
//! nearly alone. A lone client pays at most `GAP`.
//!
//! Passes stay small (32 inputs by default, `predict`'s batch) and of similar lengths:
//! attention pads a pass to its longest input, so on a CPU a pass of 32 inputs drawn at random
//! is 15% slower per input than one of 32 sorted by length (measured with `predict
//! --window-rows 32`). Under load, the oldest two passes' worth of inputs are sorted by
//! length together and run as two passes, so an input waits at most one pass longer than
//! first-in-first-out would make it. Each pass runs in the server's execution (padding-free
//! by default), so batching changes no input's logits (padding-free = padded within 1e-5,
//! tested in bertrs-model).
//!
//! The async side only sends to the queue and awaits a reply: it never blocks on the model.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bertrs_model::{BertConfig, BertForSequenceClassification, BertInput, Execution};
use burn::tensor::Device;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use tokio::sync::oneshot;

use super::metrics::{Hist, Metrics};

/// One tokenized input waiting for the model.
#[derive(Debug)]
pub struct Job {
    pub ids: Vec<u32>,
    /// Token type ids (1 on the second text of a pair).
    pub types: Vec<u32>,
    pub queued: Instant,
    pub reply: oneshot::Sender<Result<Done, String>>,
}

/// An input's logits and where its time went.
#[derive(Debug)]
pub struct Done {
    pub logits: Vec<f32>,
    pub queue: Duration,
    pub inference: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_tokens: usize,
    pub max_batch_requests: usize,
}

/// What the model thread needs: the weights load there, once.
pub struct Model {
    pub dir: PathBuf,
    pub config: BertConfig,
    pub device: Device,
    pub execution: Execution,
    pub pad_id: u32,
}

/// The gap between arrivals that ends a batch's wait for more inputs.
const GAP: Duration = Duration::from_millis(1);
/// The longest a batch waits for inputs still arriving.
const MAX_WAIT: Duration = Duration::from_millis(5);
/// Passes' worth of queued inputs sorted by length together (see the module's comment).
const WINDOW_PASSES: usize = 2;

/// The queue's sending side, shared by the handlers.
pub struct Queue {
    tx: Sender<Job>,
    alive: Arc<AtomicBool>,
}

impl Queue {
    /// Queues a job; gives it back if the model thread has stopped.
    pub fn send(&self, job: Job) -> Result<(), Job> {
        self.tx.send(job).map_err(|e| e.0)
    }

    /// Whether the model thread still serves.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

/// Clears the model thread's `alive` flag when dropped.
struct Alive(Arc<AtomicBool>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Starts the model thread; returns once the weights are loaded (or failed to).
pub fn spawn(model: Model, limits: Limits, metrics: Arc<Metrics>) -> Result<(Queue, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let alive = Arc::new(AtomicBool::new(true));
    let alive_thread = alive.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
    let handle = std::thread::Builder::new()
        .name("bertrs-model".into())
        .spawn(move || {
            let weights = match crate::model_dir::weights(&model.dir, &model.config, &model.device) {
                Ok(w) => {
                    let _ = ready_tx.send(Ok(()));
                    w
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            // Cleared however the thread ends (a panic outside a pass included), so /health
            // turns 503.
            let _alive = Alive(alive_thread);
            run(&weights, &model, limits, rx, &metrics);
        })
        .context("cannot start the model thread")?;
    ready_rx.recv().context("the model thread stopped while loading the weights")??;
    Ok((Queue { tx, alive }, handle))
}

/// Serves windows of passes until every sender is gone (the server has shut down).
fn run(weights: &BertForSequenceClassification, model: &Model, limits: Limits, rx: Receiver<Job>, metrics: &Metrics) {
    let pass = limits.max_batch_requests;
    while let Ok(first) = rx.recv() {
        let opened = Instant::now();
        let mut window = vec![first];
        // The first pass's worth: what is queued, and what is still arriving.
        while window.len() < pass {
            match rx.try_recv() {
                Ok(job) => window.push(job),
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => match rx.recv_timeout(GAP.min(MAX_WAIT.saturating_sub(opened.elapsed()))) {
                    Ok(job) => window.push(job),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                },
            }
        }
        // Under load, a second pass's worth already queued joins the window (no waiting).
        while window.len() < WINDOW_PASSES * pass {
            match rx.try_recv() {
                Ok(job) => window.push(job),
                Err(_) => break,
            }
        }
        metrics.queue(-(window.len() as i64));
        window.sort_by_key(|j| j.ids.len());
        // Passes of similar lengths, shortest first, each within both limits; one input over
        // the token budget runs alone.
        let mut jobs = window.into_iter().peekable();
        while let Some(job) = jobs.next() {
            let mut tokens = job.ids.len();
            let mut batch = vec![job];
            while let Some(next) = jobs.next_if(|j| batch.len() < pass && tokens + j.ids.len() <= limits.max_batch_tokens) {
                tokens += next.ids.len();
                batch.push(next);
            }
            metrics.observe(Hist::BatchSize, batch.len() as f64);
            metrics.observe(Hist::BatchTokens, tokens as f64);
            forward(weights, model, batch, metrics);
        }
    }
}

/// The batch's forward pass; every job gets its logits or the pass's error.
fn forward(weights: &BertForSequenceClassification, model: &Model, batch: Vec<Job>, metrics: &Metrics) {
    let n = model.config.num_labels();
    let start = Instant::now();
    // A panic inside the backend answers this batch with an error instead of taking the
    // server down.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| logits(weights, model, &batch)))
        .unwrap_or_else(|p| Err(format!("the model panicked: {}", panic_message(&p))));
    let inference = start.elapsed();
    metrics.observe_time(Hist::BatchInferenceDuration, inference);
    for (i, job) in batch.into_iter().enumerate() {
        let queue = start.saturating_duration_since(job.queued);
        metrics.observe_time(Hist::QueueDuration, queue);
        metrics.observe_time(Hist::InferenceDuration, inference);
        let reply = match &result {
            Ok(all) => {
                let logits = all[i * n..(i + 1) * n].to_vec();
                // Broken weights give NaN; a label argmax'd from them would look real.
                match logits.iter().find(|v| !v.is_finite()) {
                    Some(bad) => Err(format!("the model gave a non-finite logit ({bad}); its weights are broken")),
                    None => Ok(Done { logits, queue, inference }),
                }
            }
            Err(e) => Err(e.clone()),
        };
        // The client may have gone (a closed connection drops the receiver): nothing to do.
        let _ = job.reply.send(reply);
    }
}

/// The batch as a padded `[rows, longest]` input (sorted, so little padding even when the
/// server runs `--padded`), through the model, as row-major logits.
fn logits(weights: &BertForSequenceClassification, model: &Model, batch: &[Job]) -> Result<Vec<f32>, String> {
    let rows = batch.len();
    let longest = batch.iter().map(|j| j.ids.len()).max().unwrap_or(0);
    let mut ids = vec![model.pad_id as i64; rows * longest];
    let mut mask = vec![0i64; rows * longest];
    let mut types = vec![0i64; rows * longest];
    for (r, job) in batch.iter().enumerate() {
        let at = r * longest;
        for (c, (&id, &t)) in job.ids.iter().zip(&job.types).enumerate() {
            ids[at + c] = id as i64;
            mask[at + c] = 1;
            types[at + c] = t as i64;
        }
    }
    let input = BertInput::from_ids(rows, longest, ids, mask, types, &model.device).map_err(|e| e.to_string())?.with_execution(model.execution);
    weights.forward(input).into_data().try_into_vec_as::<f32>().map_err(|e| format!("reading logits: {e:?}"))
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}
