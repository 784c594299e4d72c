//! Gradient clipping's two passes over a flex gradient's buffer, on burn-flex's rayon pool.

use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::flex_ops::ELEMS_PER_TASK as CHUNK;
use crate::flex_tensor::{contiguous, tensor};
use crate::simd::{Kernel, vectorized};

/// Σ g², accumulated in f64.
pub(crate) fn sum_squares<const D: usize>(g: Tensor<D>) -> f64 {
    let g = contiguous(g);
    let values: &[f32] = g.storage();
    values.par_chunks(CHUNK).map(|c| vectorized(SumSquares(c))).sum()
}

/// Σ x² of a chunk in f64, as 8 partial sums (one AVX-512 register of f64; see `simd.rs`).
struct SumSquares<'a>(&'a [f32]);

impl Kernel for SumSquares<'_> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let mut acc = [0f64; 8];
        let chunks = self.0.chunks_exact(8);
        let tail: f64 = chunks.remainder().iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        for ch in chunks {
            acc.iter_mut().zip(ch).for_each(|(a, &x)| *a += f64::from(x) * f64::from(x));
        }
        acc.iter().sum::<f64>() + tail
    }
}

/// A chunk times a factor, in place.
struct Scale<'a>(&'a mut [f32], f32);

impl Kernel for Scale<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let factor = self.1;
        self.0.iter_mut().for_each(|x| *x *= factor);
    }
}

/// `g · factor`, in place when no other tensor shares `g`'s buffer.
pub(crate) fn scale<const D: usize>(g: Tensor<D>, factor: f32) -> Tensor<D> {
    let mut g = contiguous(g);
    g.storage_mut::<f32>().par_chunks_mut(CHUNK).for_each(|c| vectorized(Scale(c, factor)));
    tensor(g)
}
