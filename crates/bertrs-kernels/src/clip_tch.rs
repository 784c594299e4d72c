//! Gradient clipping's two passes over a libtorch gradient: `torch.linalg.vector_norm` per
//! gradient, then `mul_` in place, as `clip_grad_norm_` does.

#![allow(deprecated)] // burn-tch is deprecated upstream but is our libtorch path

use burn::tensor::Tensor;

use crate::tch_tensor::{is_cpu_f32, primitive, tensor, writable};

/// An f32 libtorch CPU gradient. On CUDA the per-gradient norms read back here would each
/// wait for the device; there `bertrs_train::clip` keeps its device-side path, as torch does.
pub(crate) fn applies<const D: usize>(g: &Tensor<D>) -> bool {
    is_cpu_f32(g)
}

/// Σ g², from the gradient's L2 norm (libtorch's reduction, no squared copy).
pub(crate) fn sum_squares<const D: usize>(g: Tensor<D>) -> f64 {
    let norm = primitive(g).tensor.norm().double_value(&[]);
    norm * norm
}

/// `g · factor`, in place when no other tensor shares `g`'s storage.
pub(crate) fn scale<const D: usize>(g: Tensor<D>, factor: f32) -> Tensor<D> {
    let mut g = writable(g);
    let _ = g.tensor.g_mul_scalar_(f64::from(factor));
    tensor(g)
}
