//! Softmax and LayerNorm as the model calls them. Under autodiff burn 0.22 decomposes both
//! into primitive ops (BENCHMARKS.md); instead flex runs our fused host kernels with their own
//! backward (`flex_ops`) and libtorch its fused forward with our backward (`tch_ops`).
//! Elsewhere (wgpu; inference on libtorch) burn's ops.

use burn::nn::LayerNorm;
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

use crate::Kernels;

/// Softmax over the last axis (HF: `nn.functional.softmax(scores, dim=-1)`).
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let fused = match Kernels::of(&x) {
        #[cfg(feature = "flex")]
        Kernels::Flex => crate::flex_ops::softmax_last(x),
        #[cfg(feature = "tch")]
        Kernels::Tch => crate::tch_ops::softmax_last(&x).ok_or(x),
        _ => Err(x),
    };
    fused.unwrap_or_else(|x| softmax(x, D - 1))
}

/// `ln.forward(x)`; `eps` must be the module's own (`config.layer_norm_eps`: burn keeps its
/// copy private).
pub fn layer_norm<const D: usize>(ln: &LayerNorm, x: Tensor<D>, eps: f64) -> Tensor<D> {
    if let Some(beta) = &ln.beta {
        let (gamma, beta) = (ln.gamma.val(), beta.val());
        let fused = match Kernels::of(&x) {
            #[cfg(feature = "flex")]
            Kernels::Flex => crate::flex_ops::layer_norm(&x, &gamma, &beta, eps),
            #[cfg(feature = "tch")]
            Kernels::Tch => crate::tch_ops::layer_norm(&x, &gamma, &beta, eps),
            // (Without flex and tch compiled in, only this arm uses them.)
            _ => {
                let _ = (&gamma, &beta, eps);
                None
            }
        };
        if let Some(y) = fused {
            return y;
        }
    }
    ln.forward(x)
}
