//! `torch.optim.AdamW` (the single-tensor path HF's `Trainer` runs on CPU), as a burn
//! [`Optimizer`] whose state is burn's own `AdamWState` (checkpoints keep burn's record
//! format). Per parameter, in PyTorch's order of operations:
//!
//! ```text
//! p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← v·β2 + (1−β2)·g·g
//! p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
//! ```
//!
//! burn's `AdamW` computes the same update in ~16 whole-tensor ops, each allocating its
//! output (120 ms a step for MiniLM on flex, 132 ms on libtorch, against PyTorch's 85 ms:
//! BENCHMARKS.md). Where `bertrs_kernels::adamw` has an in-place path (flex, libtorch) the step
//! runs there; other backends (wgpu) take burn's `AdamW`.

use bertrs_kernels::adamw::{self as kernel, Scratch, Step};
use burn::optim::{AdamW, AdamWConfig, AdamWState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// AdamW with PyTorch's semantics; see the module docs.
#[derive(Clone)]
pub struct HfAdamW {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    weight_decay: f64,
    /// burn's, for backends without an in-place path.
    fallback: AdamW,
    scratch: Scratch,
}

impl HfAdamW {
    /// The hyper-parameters as `TrainingArguments` holds them (Python floats: f64).
    pub fn new(beta_1: f64, beta_2: f64, epsilon: f64, weight_decay: f64) -> Self {
        let fallback = AdamWConfig::new()
            .with_beta_1(beta_1 as f32)
            .with_beta_2(beta_2 as f32)
            .with_epsilon(epsilon as f32)
            .with_weight_decay(weight_decay as f32)
            .build();
        Self { beta_1, beta_2, epsilon, weight_decay, fallback, scratch: Scratch::default() }
    }

    /// The step's scalars, computed in f64 as `torch.optim.adamw._single_tensor_adamw`
    /// computes them in Python (`step` counts from 1).
    fn scalars(&self, lr: LearningRate, step: usize) -> Step {
        Step::torch(lr, self.weight_decay, self.beta_1, self.beta_2, self.epsilon, step as i32)
    }
}

impl Optimizer for HfAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // No AMSGrad state (never set by HfAdamW); moments start at zero, as PyTorch's.
        let moments = state.as_ref().map(|s| (&s.momentum.moment_1, &s.momentum.moment_2));
        let no_max = state.as_ref().is_none_or(|s| s.momentum.max_moment_2.is_none());
        if no_max && kernel::applies(&tensor, &grad, moments) {
            let (time, moments) = match state {
                Some(s) => (s.momentum.time + 1, Some((s.momentum.moment_1, s.momentum.moment_2))),
                None => (1, None),
            };
            // Owned, not cloned: a second handle on a buffer would force a copy before the
            // in-place update.
            let Some((p, moment_1, moment_2)) = kernel::step(&self.scalars(lr, time), &self.scratch, tensor, grad, moments) else {
                unreachable!("bertrs_kernels::adamw::applies promised an in-place path");
            };
            let momentum = burn::optim::AdaptiveMomentumState { time, moment_1, moment_2, max_moment_2: None };
            return (p, Some(AdamWState { momentum }));
        }
        self.fallback.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::{AdamWConfig, Optimizer};
    use burn::tensor::{Device, Distribution, Tensor};

    use super::HfAdamW;

    /// On flex the in-place path runs and agrees with burn's AdamW, the same update in another
    /// order of operations, over steps with and without weight decay; the state is burn's.
    /// (bertrs-kernels' parity tests check the kernel itself on every backend.)
    #[test]
    fn in_place_steps_match_burns_adamw() {
        let device = Device::flex();
        device.seed(3);
        for wd in [0.0, 0.01] {
            let ours = HfAdamW::new(0.9, 0.999, 1e-8, wd);
            let burns = AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(wd as f32).build();
            let mut a = Tensor::<2>::random([64, 33], Distribution::Normal(0.0, 1.0), &device);
            let mut b = a.clone();
            let (mut sa, mut sb) = (None, None);
            for step in 0..4 {
                let g = Tensor::<2>::random([64, 33], Distribution::Normal(0.0, 0.1), &device);
                let moments = sa.as_ref().map(|s: &burn::optim::AdamWState<2>| (&s.momentum.moment_1, &s.momentum.moment_2));
                assert!(bertrs_kernels::adamw::applies(&a, &g, moments), "step {step}");
                (a, sa) = ours.step(1e-3, a, g.clone(), sa);
                (b, sb) = burns.step(1e-3, b, g, sb);
            }
            let diff = (a.clone() - b).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-6, "wd {wd}: max |in place - burn| = {diff}");
            assert_eq!(sa.map(|s| s.momentum.time), Some(4));
            assert!(a.abs().max().into_scalar::<f32>() > 0.0);
        }
    }
}
