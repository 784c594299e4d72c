//! HF's `nn.Dropout` in training: each element zeroed with probability `p`, the rest scaled by
//! `1 / (1 - p)`.
//!
//! Why not burn's dropout on flex: burn draws the Bernoulli mask one element at a time through
//! a ChaCha generator behind a per-element distribution sampler, single-threaded: 8% of a
//! MiniLM training step's CPU time in the profile (BENCHMARKS.md), on the critical path. Here
//! flex gets the mask from a counter-based SplitMix64 stream seeded by one draw from the
//! device's generator, so `Device::seed` still decides every mask (exact resumption depends on
//! that), and the scaling is folded into the mask (one multiply instead of two). Other
//! backends keep burn's formulation: libtorch and the GPU backends generate masks with their
//! own vectorised generators, on the device.

use burn::tensor::{Distribution, Tensor, TensorData};

use crate::Kernels;
use crate::splitmix::SplitMix64;

/// `x` with dropout `prob` applied (the caller decides whether this is training).
pub fn dropout<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    if prob == 0.0 {
        return x;
    }
    let keep = 1.0 - prob;
    let device = x.device();
    if Kernels::of(&x) != Kernels::Flex {
        let mask = x.random_like(Distribution::Bernoulli(keep));
        return (x * mask).mul_scalar(1.0 / keep);
    }
    // 48 bits of seed from the device generator (two f32 uniforms, 24 bits each).
    let draw = match Tensor::<1>::random([2], Distribution::Default, &device).into_data().try_into_vec_as::<f32>() {
        Ok(v) => v,
        Err(e) => unreachable!("a flex float tensor is f32 host memory: {e:?}"),
    };
    let bits = |u: f32| (u as f64 * (1u64 << 24) as f64) as u64;
    let seed = (bits(draw[0]) << 24) | bits(draw[1]);
    let shape = x.shape();
    let mask = keep_mask(seed, shape.num_elements(), keep);
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// `n` values: `1 / keep` with probability `keep`, else 0. Each 64-bit SplitMix64 output
/// (of a counter, so the stream is a pure function of the seed) decides two elements.
fn keep_mask(seed: u64, n: usize, keep: f64) -> Vec<f32> {
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    let mut out = Vec::with_capacity(n + 1);
    let mut rng = SplitMix64::new(seed);
    while out.len() < n {
        let z = rng.next_u64();
        for half in [z & 0xFFFF_FFFF, z >> 32] {
            out.push(if half < threshold { scale } else { 0.0 });
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
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
    }
}
