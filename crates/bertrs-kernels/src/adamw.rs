//! `torch.optim.AdamW`'s update for one parameter, in place, where a backend allows it (the
//! optimizer around it, with burn's state records, is `bertrs_train::HfAdamW`):
//!
//! ```text
//! p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← v·β2 + (1−β2)·g·g
//! p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
//! ```
//!
//! burn's `AdamW` computes the same update in ~16 whole-tensor ops, each allocating its
//! output: 120 ms a step for MiniLM's 22.7 M parameters on flex and 132 ms on libtorch,
//! against 85 ms for PyTorch's in-place ops (BENCHMARKS.md). Here the parameter and both
//! moments are updated in place: on flex in one fused pass on every core (`adamw_flex.rs`), on
//! libtorch in PyTorch's own in-place kernels (`adamw_tch.rs`). Other backends have no
//! in-place path: [`applies`] is false and the caller takes burn's `AdamW`.

use burn::tensor::Tensor;

use crate::Kernels;

/// One step's scalars, computed in f64 as `torch.optim.adamw._single_tensor_adamw` computes
/// them in Python; PyTorch's CPU kernels take them as f32 for f32 tensors, and so does the
/// flex pass.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// `1 − lr·weight_decay`.
    pub decay: f64,
    pub one_minus_beta_1: f64,
    pub beta_2: f64,
    pub one_minus_beta_2: f64,
    /// `lr / (1 − β1^t)`.
    pub step_size: f64,
    /// `√(1 − β2^t)`.
    pub bias_correction_2_sqrt: f64,
    pub epsilon: f64,
}

impl Step {
    /// Step `t` (counting from 1) of `torch.optim.AdamW` with these hyperparameters, the
    /// scalars computed in f64 as `_single_tensor_adamw` computes them in Python.
    pub fn torch(lr: f64, weight_decay: f64, beta_1: f64, beta_2: f64, epsilon: f64, t: i32) -> Self {
        Step {
            decay: 1.0 - lr * weight_decay,
            one_minus_beta_1: 1.0 - beta_1,
            beta_2,
            one_minus_beta_2: 1.0 - beta_2,
            step_size: lr / (1.0 - beta_1.powi(t)),
            bias_correction_2_sqrt: (1.0 - beta_2.powi(t)).sqrt(),
            epsilon,
        }
    }
}

/// Memory kept between steps by the libtorch path: a buffer as large as the largest parameter
/// (see `adamw_tch.rs`). Empty on other backends.
#[derive(Clone, Default)]
pub struct Scratch {
    #[cfg(feature = "tch")]
    pub(crate) tch: crate::adamw_tch::Scratch,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

/// Whether the parameter, its gradient and the moments (none before the first step) are
/// plain f32 tensors of one backend that has an in-place path.
pub fn applies<const D: usize>(p: &Tensor<D>, g: &Tensor<D>, moments: Option<(&Tensor<D>, &Tensor<D>)>) -> bool {
    let kernels = Kernels::of(p);
    let plain = |t: &Tensor<D>| !t.device().is_autodiff() && Kernels::of(t) == kernels;
    kernels != Kernels::Generic && plain(p) && plain(g) && moments.is_none_or(|(m, v)| plain(m) && plain(v))
}

/// The updated parameter and moments `(p, m, v)`; moments `None` start at zero, as
/// PyTorch's. Callers check [`applies`] first; a backend without an in-place path gets `None`
/// back.
#[allow(clippy::type_complexity)]
pub fn step<const D: usize>(
    s: &Step,
    scratch: &Scratch,
    p: Tensor<D>,
    g: Tensor<D>,
    moments: Option<(Tensor<D>, Tensor<D>)>,
) -> Option<(Tensor<D>, Tensor<D>, Tensor<D>)> {
    let _ = scratch;
    match Kernels::of(&p) {
        #[cfg(feature = "flex")]
        Kernels::Flex => Some(crate::adamw_flex::step(s, p, g, moments)),
        #[cfg(feature = "tch")]
        Kernels::Tch => Some(crate::adamw_tch::step(s, &scratch.tch, p, g, moments)),
        _ => {
            let _ = (s, g, moments);
            None
        }
    }
}
