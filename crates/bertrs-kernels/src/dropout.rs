//! HF's `nn.Dropout` in training: each element zeroed with probability `p`, the rest scaled by
//! `1 / (1 - p)`.
//!
//! Why not burn's dropout on flex: burn draws the Bernoulli mask one element at a time through
//! a ChaCha generator behind a per-element distribution sampler, single-threaded: 8% of a
//! MiniLM training step's CPU time in the profile (BENCHMARKS.md), on the critical path. Here
//! flex gets the mask from a counter-based SplitMix64 stream seeded by one draw from the
//! device's generator, so `Device::seed` still decides every mask (exact resumption depends on
//! that), and the scaling is folded into the mask (one multiply instead of two). Inside
//! [`with_dropout_stream`] (each shard of a training batch, `bertrs-train`) the seeds come
//! from that stream instead, and libtorch's CPU device takes the same host masks. Otherwise
//! the other backends keep burn's formulation: libtorch and the GPU backends generate masks
//! with their own vectorised generators, on the device.

use burn::tensor::{Distribution, Tensor};

use crate::Kernels;
#[cfg(feature = "flex")]
use crate::flex_ops::ELEMS_PER_TASK;
#[cfg(feature = "flex")]
use crate::splitmix::{GOLDEN_GAMMA, mix64};

pub use stream::with_dropout_stream;

/// `x` with dropout `prob` applied (the caller decides whether this is training).
pub fn dropout<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    if prob == 0.0 {
        return x;
    }
    let keep = 1.0 - prob;
    match Kernels::of(&x) {
        #[cfg(feature = "flex")]
        Kernels::Flex => host_mask(x, keep),
        // libtorch's CPU device while a stream is set (a training shard, which runs beside
        // others): the same host mask, since libtorch's one generator would be drawn from by
        // the shards in a different order on every run.
        #[cfg(all(feature = "flex", feature = "tch"))]
        Kernels::Tch if stream::is_set() && crate::tch_tensor::is_cpu_f32_any(&x) => host_mask(x, keep),
        _ => {
            let mask = x.random_like(Distribution::Bernoulli(keep));
            (x * mask).mul_scalar(1.0 / keep)
        }
    }
}

/// `x ⊙ mask` with the mask made on the host (flex's memory, or copied to libtorch's CPU
/// tensor), drawn from the seed that this thread's [`with_dropout_stream`] gives, else the
/// device's generator.
#[cfg(feature = "flex")]
fn host_mask<const D: usize>(x: Tensor<D>, keep: f64) -> Tensor<D> {
    let device = x.device();
    let seed = stream::next().unwrap_or_else(|| device_seed(&device));
    let shape = x.shape();
    let mask = keep_mask(seed, shape.num_elements(), keep);
    x * Tensor::<D>::from_data(burn::tensor::TensorData::new(mask, shape), &device)
}

/// 48 bits of seed from the device generator (two f32 uniforms, 24 bits each).
#[cfg(feature = "flex")]
fn device_seed(device: &burn::tensor::Device) -> u64 {
    let draw = match Tensor::<1>::random([2], Distribution::Default, device).into_data().try_into_vec_as::<f32>() {
        Ok(v) => v,
        Err(e) => unreachable!("a flex float tensor is f32 host memory: {e:?}"),
    };
    let bits = |u: f32| (u as f64 * (1u64 << 24) as f64) as u64;
    (bits(draw[0]) << 24) | bits(draw[1])
}

/// A thread's own source of dropout seeds, so that work running side by side (the shards of a
/// training batch, `bertrs-train`) draws the same masks whatever the threads' interleaving:
/// burn's device generator is one per backend and process, and concurrent draws from it
/// would come in a different order on every run.
mod stream {
    use std::cell::Cell;

    use crate::splitmix::{GOLDEN_GAMMA, mix64};

    thread_local! {
        /// The stream's seed and the number of seeds taken from it.
        static STREAM: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
    }

    /// Runs `f` with the dropout masks that this thread draws on flex and libtorch's CPU
    /// device (the counter-based host masks) seeded from `seed`'s own stream instead of the
    /// device's generator: draw k (from 1) takes `mix64(seed + k·γ)`, so `f`'s masks are a
    /// function of `seed` alone. Nested calls (rayon may run another shard on this thread
    /// while one waits) restore the outer stream when they end, also on unwinding. GPU
    /// backends draw on the device as before: their generators are their own.
    pub fn with_dropout_stream<R>(seed: u64, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<(u64, u64)>);
        impl Drop for Restore {
            fn drop(&mut self) {
                STREAM.set(self.0);
            }
        }
        let _restore = Restore(STREAM.replace(Some((seed, 0))));
        f()
    }

    /// Whether this thread has a stream set.
    #[cfg_attr(not(all(feature = "flex", feature = "tch")), allow(dead_code))]
    pub(super) fn is_set() -> bool {
        STREAM.get().is_some()
    }

    /// The next seed of this thread's stream, if one is set.
    #[cfg_attr(not(feature = "flex"), allow(dead_code))]
    pub(super) fn next() -> Option<u64> {
        let (seed, taken) = STREAM.get()?;
        STREAM.set(Some((seed, taken + 1)));
        Some(mix64(seed.wrapping_add((taken + 1).wrapping_mul(GOLDEN_GAMMA))))
    }
}

/// `n` values: `1 / keep` with probability `keep`, else 0. Each 64-bit SplitMix64 output
/// (of a counter, so the stream is a pure function of the seed) decides two elements: output
/// k (from 1) is `mix64(seed + k·γ)`, so every chunk of the mask is computed on its own, in
/// parallel and vectorised, and the mask is the sequential stream's (the test pins it).
#[cfg(feature = "flex")]
fn keep_mask(seed: u64, n: usize, keep: f64) -> Vec<f32> {
    use rayon::prelude::*;
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    let mut out = vec![0f32; n + n % 2];
    out.par_chunks_mut(ELEMS_PER_TASK).enumerate().for_each(|(c, chunk)| {
        let first = (c * ELEMS_PER_TASK / 2) as u64;
        crate::simd::vectorized(MaskPairs { out: chunk, seed, first, threshold, scale });
    });
    out.truncate(n);
    out
}

/// One chunk of [`keep_mask`]: pairs `first..` of the stream seeded by `seed`.
#[cfg(feature = "flex")]
struct MaskPairs<'a> {
    out: &'a mut [f32],
    seed: u64,
    first: u64,
    threshold: u64,
    scale: f32,
}

/// SplitMix64's step and mix per pair of elements.
#[cfg(feature = "flex")]
impl crate::simd::Kernel for MaskPairs<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self { out, seed, first, threshold, scale } = self;
        for (j, pair) in out.chunks_exact_mut(2).enumerate() {
            let z = mix64(seed.wrapping_add((first + j as u64 + 1).wrapping_mul(GOLDEN_GAMMA)));
            pair[0] = if z & 0xFFFF_FFFF < threshold { scale } else { 0.0 };
            pair[1] = if z >> 32 < threshold { scale } else { 0.0 };
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_the_right_share_and_scales() {
        let m = keep_mask(7, 100_001, 0.9);
        assert_eq!(m.len(), 100_001);
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / m.len() as f64;
        // The kept share of n Bernoulli(0.9) draws has standard deviation
        // sqrt(0.9 · 0.1 / n) = 9.5e-4: five of them fail a fair mask about once in 1.7
        // million seeds, and a mask keeping 0.895 or less (or 0.905 or more) always.
        let sigma = (0.9f64 * 0.1 / m.len() as f64).sqrt();
        assert!((kept - 0.9).abs() < 5.0 * sigma, "{kept}");
        assert!(m.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
        assert_eq!(m, keep_mask(7, 100_001, 0.9));
        assert_ne!(m, keep_mask(8, 100_001, 0.9));
        // Pinned: a resumed run redraws these masks.
        let kept: Vec<u8> = keep_mask(12345, 16, 0.5).iter().map(|&v| u8::from(v > 0.0)).collect();
        assert_eq!(kept, [0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
        // Across chunk boundaries, the sequential generator's stream, two elements per draw.
        let n = 3 * ELEMS_PER_TASK + 7;
        let mut rng = crate::splitmix::SplitMix64::new(99);
        let want: Vec<f32> = (0..n.div_ceil(2))
            .flat_map(|_| {
                let z = rng.next_u64();
                [z & 0xFFFF_FFFF, z >> 32].map(|h| if h < (0.9f64 * 4_294_967_296.0) as u64 { (1.0 / 0.9f64) as f32 } else { 0.0 })
            })
            .take(n)
            .collect();
        assert_eq!(keep_mask(99, n, 0.9), want);
    }
}
