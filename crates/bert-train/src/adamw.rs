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
//! output: 120 ms a step for MiniLM's 22.7 M parameters on flex and 132 ms on libtorch,
//! against 85 ms for PyTorch's in-place ops (BENCHMARKS.md). So the parameter and both
//! moments are updated in place: on flex in one fused pass on every core (`adamw/flex.rs`),
//! on libtorch in PyTorch's own in-place kernels (`adamw/tch.rs`); other backends (wgpu)
//! take burn's `AdamW`.

use burn::optim::{AdamW, AdamWConfig, AdamWState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "tch")]
mod tch;

/// AdamW with PyTorch's semantics; see the module docs.
#[derive(Clone)]
pub struct HfAdamW {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    weight_decay: f64,
    /// burn's, for backends without an in-place path.
    fallback: AdamW,
    #[cfg(feature = "tch")]
    scratch: tch::Scratch,
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
        Self {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            fallback,
            #[cfg(feature = "tch")]
            scratch: tch::Scratch::default(),
        }
    }

    /// The step's scalars, computed in f64 as `torch.optim.adamw._single_tensor_adamw`
    /// computes them in Python (`step` counts from 1).
    fn scalars(&self, lr: LearningRate, step: usize) -> Scalars {
        let (b1, b2) = (self.beta_1, self.beta_2);
        Scalars {
            decay: 1.0 - lr * self.weight_decay,
            one_minus_beta_1: 1.0 - b1,
            beta_2: b2,
            one_minus_beta_2: 1.0 - b2,
            step_size: lr / (1.0 - b1.powi(step as i32)),
            bias_correction_2_sqrt: (1.0 - b2.powi(step as i32)).sqrt(),
            epsilon: self.epsilon,
        }
    }
}

/// One step's scalars (see [`HfAdamW::scalars`]); PyTorch's CPU kernels take them as f32 for
/// f32 tensors, and so does the flex pass.
#[cfg_attr(not(any(feature = "flex", feature = "tch")), allow(dead_code))]
struct Scalars {
    decay: f64,
    one_minus_beta_1: f64,
    beta_2: f64,
    one_minus_beta_2: f64,
    step_size: f64,
    bias_correction_2_sqrt: f64,
    epsilon: f64,
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
        #[cfg(feature = "flex")]
        if flex::applies(&tensor, &grad, state.as_ref()) {
            return flex::step(self, lr, tensor, grad, state);
        }
        #[cfg(feature = "tch")]
        if tch::applies(&tensor, &grad, state.as_ref()) {
            return tch::step(self, lr, tensor, grad, state);
        }
        self.fallback.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

/// `p`, `g` and the moments all pass `is_f32` (one backend's plain f32 tensors), and there is
/// no AMSGrad state (never set by [`HfAdamW`]).
#[cfg_attr(not(any(feature = "flex", feature = "tch")), allow(dead_code))]
fn applies<const D: usize>(is_f32: fn(&Tensor<D>) -> bool, p: &Tensor<D>, g: &Tensor<D>, state: Option<&AdamWState<D>>) -> bool {
    is_f32(p)
        && is_f32(g)
        && state.is_none_or(|s| s.momentum.max_moment_2.is_none() && is_f32(&s.momentum.moment_1) && is_f32(&s.momentum.moment_2))
}

/// The state's step count and moments, or `None` for a first step (PyTorch starts both
/// moments at zero).
#[cfg_attr(not(any(feature = "flex", feature = "tch")), allow(dead_code))]
fn moments<const D: usize>(state: Option<AdamWState<D>>) -> (usize, Option<(Tensor<D>, Tensor<D>)>) {
    match state {
        Some(s) => (s.momentum.time + 1, Some((s.momentum.moment_1, s.momentum.moment_2))),
        None => (1, None),
    }
}

/// burn's record of the new state.
#[cfg_attr(not(any(feature = "flex", feature = "tch")), allow(dead_code))]
fn state<const D: usize>(time: usize, moment_1: Tensor<D>, moment_2: Tensor<D>) -> AdamWState<D> {
    AdamWState { momentum: burn::optim::AdaptiveMomentumState { time, moment_1, moment_2, max_moment_2: None } }
}

#[cfg(test)]
mod tests {
    use burn::optim::{AdamWConfig, AdamWState, Optimizer};
    use burn::tensor::{Device, Distribution, Tensor};

    use super::HfAdamW;

    type Applies = fn(&Tensor<2>, &Tensor<2>, Option<&AdamWState<2>>) -> bool;

    /// The in-place path runs (`applies`) and agrees with burn's AdamW, the same update in
    /// another order of operations, over steps with and without weight decay.
    #[allow(dead_code)] // used only with flex or tch compiled in
    fn matches_burns_adamw(device: Device, applies: Applies) {
        device.seed(3);
        for wd in [0.0, 0.01] {
            let ours = HfAdamW::new(0.9, 0.999, 1e-8, wd);
            let burns = AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(wd as f32).build();
            let mut a = Tensor::<2>::random([64, 33], Distribution::Normal(0.0, 1.0), &device);
            let mut b = a.clone();
            let (mut sa, mut sb) = (None, None);
            for step in 0..4 {
                let g = Tensor::<2>::random([64, 33], Distribution::Normal(0.0, 0.1), &device);
                assert!(applies(&a, &g, sa.as_ref()), "step {step}");
                (a, sa) = ours.step(1e-3, a, g.clone(), sa);
                (b, sb) = burns.step(1e-3, b, g, sb);
            }
            let diff = (a.clone() - b).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-6, "wd {wd}: max |in place - burn| = {diff}");
            assert_eq!(sa.map(|s| s.momentum.time), Some(4));
            assert!(a.abs().max().into_scalar::<f32>() > 0.0);
        }
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_step_matches_burns_adamw() {
        matches_burns_adamw(Device::flex(), super::flex::applies);
    }

    #[cfg(feature = "tch")]
    #[test]
    #[allow(deprecated)] // burn-tch is deprecated upstream but is our libtorch path
    fn tch_step_matches_burns_adamw() {
        matches_burns_adamw(Device::libtorch(), super::tch::applies);
    }

    /// A parameter whose buffer another tensor shares is copied, not updated under it.
    #[cfg(feature = "tch")]
    #[test]
    #[allow(deprecated)]
    fn tch_step_leaves_shared_buffers_alone() {
        let device = Device::libtorch();
        let p = Tensor::<1>::from_floats([1.0, -2.0, 3.0], &device);
        let kept = p.clone();
        let (_, _) = HfAdamW::new(0.9, 0.999, 1e-8, 0.1).step(0.1, p, Tensor::ones([3], &device), None);
        assert_eq!(kept.into_data().to_vec::<f32>().ok(), Some(vec![1.0, -2.0, 3.0]));
    }
}
