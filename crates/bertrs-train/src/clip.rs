//! `torch.nn.utils.clip_grad_norm_`: one norm over *all* gradients, and every gradient scaled
//! by `min(1, max_norm / (norm + 1e-6))`. burn's `GradientClipping::Norm` clips each tensor
//! by its own norm, which is a different update.
//!
//! Like torch, flex and libtorch CPU gradients are reduced without a squared copy and scaled
//! in place (`bertrs_kernels::clip`: 22 → 4 ms a step on libtorch, PyTorch's 8); other devices
//! (wgpu, CUDA) keep the sum and the factor on the device, so no host round trip decides
//! whether to scale.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The sum of squares of all gradients: from flex and libtorch on the host, from other
/// backends as a device scalar.
struct SumSquares<'a> {
    grads: &'a GradientsParams,
    host: f64,
    device: Option<Tensor<1>>,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(g) = self.grads.get::<D>(param.id) else { return };
        if let Some(s) = bertrs_kernels::clip::host_sum_squares(&g) {
            self.host += s;
            return;
        }
        let s = g.square().sum();
        self.device = Some(match self.device.take() {
            Some(t) => t + s,
            None => s,
        });
    }
}

/// The factor `min(1, max_norm / (norm + 1e-6))`, known on the host or only on the device.
#[allow(clippy::large_enum_variant)] // one per step
enum Factor {
    Host(f32),
    Device(Tensor<1>),
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Factor,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(g) = self.grads.remove::<D>(param.id) else { return };
        let g = match &self.factor {
            // torch multiplies by 1.0 too; the result is the same.
            Factor::Host(f) if *f == 1.0 => g,
            Factor::Host(f) => bertrs_kernels::clip::scale(g, *f),
            Factor::Device(f) => g * f.clone().reshape([1; D]),
        };
        self.grads.register(param.id, g);
    }
}

/// Clips `grads` in place to a global L2 norm of `max_norm`; returns the norm before clipping
/// (what HF logs as `grad_norm`). `max_norm <= 0` only measures.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f32 {
    let mut sum = SumSquares { grads, host: 0.0, device: None };
    module.visit(&mut sum);
    let (host, device) = (sum.host, sum.device);
    let (norm_value, factor) = match device {
        None => {
            // torch computes the norm and the factor in f32; `clamp(max=1)` keeps a NaN
            // (f32::min would not), so non-finite gradients propagate as in torch.
            let norm = host.sqrt() as f32;
            let f = max_norm as f32 / (norm + 1e-6);
            (norm, Factor::Host(if f > 1.0 { 1.0 } else { f }))
        }
        Some(total) => {
            let norm = total.add_scalar(host).sqrt();
            let factor = norm.clone().add_scalar(1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
            (norm.into_scalar::<f32>(), Factor::Device(factor))
        }
    };
    if max_norm > 0.0 {
        module.visit(&mut Scale { grads, factor });
    }
    norm_value
}
