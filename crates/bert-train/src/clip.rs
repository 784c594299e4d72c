//! `torch.nn.utils.clip_grad_norm_`: one norm over *all* gradients, and every gradient scaled
//! by `min(1, max_norm / (norm + 1e-6))`. burn's `GradientClipping::Norm` clips each tensor
//! by its own norm, which is a different update.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SumSquares<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let f = self.factor.clone().reshape([1; D]);
            self.grads.register(param.id, g * f);
        }
    }
}

/// Clips `grads` in place to a global L2 norm of `max_norm`; returns the norm before clipping
/// (what HF logs as `grad_norm`). `max_norm <= 0` only measures.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f32 {
    let mut sum = SumSquares { grads, total: None };
    module.visit(&mut sum);
    let Some(total) = sum.total else {
        return 0.0;
    };
    let norm = total.sqrt();
    let norm_value = norm.clone().into_scalar::<f32>();
    if max_norm > 0.0 {
        // Kept on the device: no host round trip decides whether to scale, as torch does.
        let factor = norm.add_scalar(1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
        module.visit(&mut Scale { grads, factor });
    }
    norm_value
}
