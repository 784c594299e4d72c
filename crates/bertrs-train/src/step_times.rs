//! Where a run's time goes, by phase of the training step (`bertrs-cli train` prints it; the
//! profile in BENCHMARKS.md is read from it).

use std::time::Instant;

use serde::Serialize;

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
pub(crate) enum Phase {
    Data,
    Forward,
    Backward,
    Clip,
    Optimizer,
}

impl StepTimes {
    pub(crate) fn add(&mut self, phase: Phase, since: Instant) {
        self.add_s(phase, since.elapsed().as_secs_f64());
    }

    pub(crate) fn add_s(&mut self, phase: Phase, dt: f64) {
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
