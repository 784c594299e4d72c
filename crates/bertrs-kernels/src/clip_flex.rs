//! Gradient clipping's two passes over a flex gradient's buffer, on burn-flex's rayon pool.

use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::flex_ops::ELEMS_PER_TASK as CHUNK;
use crate::flex_tensor::{contiguous, tensor};

/// Σ g², accumulated in f64.
pub(crate) fn sum_squares<const D: usize>(g: Tensor<D>) -> f64 {
    let g = contiguous(g);
    let values: &[f32] = g.storage();
    values.par_chunks(CHUNK).map(|c| c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>()).sum()
}

/// `g · factor`, in place when no other tensor shares `g`'s buffer.
pub(crate) fn scale<const D: usize>(g: Tensor<D>, factor: f32) -> Tensor<D> {
    let mut g = contiguous(g);
    g.storage_mut::<f32>().par_chunks_mut(CHUNK).for_each(|c| c.iter_mut().for_each(|x| *x *= factor));
    tensor(g)
}
