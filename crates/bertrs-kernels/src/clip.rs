//! The two passes of `torch.nn.utils.clip_grad_norm_` over one gradient, where the host can do
//! them without allocating (the global norm and its factor are `bertrs_train::clip`'s):
//! flex buffers and libtorch CPU tensors are reduced without a squared copy and scaled in
//! place (`clip_flex.rs`, `clip_tch.rs`: 22 → 4 ms a step on libtorch, PyTorch's 8). Other
//! gradients (wgpu, CUDA) keep the sum and the factor on the device, so no host round trip per
//! gradient decides whether to scale.

use burn::tensor::Tensor;

use crate::Kernels;

/// Σ g² read on the host (in f64), or `None` for a gradient whose sum stays on its device.
pub fn host_sum_squares<const D: usize>(g: &Tensor<D>) -> Option<f64> {
    match Kernels::of(g) {
        #[cfg(feature = "flex")]
        Kernels::Flex if crate::flex_tensor::is_f32(g) => Some(crate::clip_flex::sum_squares(g.clone())),
        #[cfg(feature = "tch")]
        Kernels::Tch if crate::clip_tch::applies(g) => Some(crate::clip_tch::sum_squares(g.clone())),
        _ => None,
    }
}

/// `g · factor`, in place on flex and libtorch CPU when no other tensor shares `g`'s buffer.
pub fn scale<const D: usize>(g: Tensor<D>, factor: f32) -> Tensor<D> {
    match Kernels::of(&g) {
        #[cfg(feature = "flex")]
        Kernels::Flex if crate::flex_tensor::is_f32(&g) => crate::clip_flex::scale(g, factor),
        #[cfg(feature = "tch")]
        Kernels::Tch if crate::clip_tch::applies(&g) => crate::clip_tch::scale(g, factor),
        _ => g.mul_scalar(factor),
    }
}
