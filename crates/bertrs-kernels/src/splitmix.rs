//! SplitMix64 (Steele, Lea and Flood, 2014): the workspace's one seeded generator, tiny, fast
//! and identical on every platform. Dropout masks on flex (`dropout.rs`), the training
//! sampler's shuffles and each micro-batch's dropout seed (`bertrs-train`) draw from it. Their
//! streams are pinned by tests: a change here changes every seeded run.

/// The generator: a counter advanced by the golden-ratio increment, each value mixed by
/// [`mix64`], so the stream is a pure function of the seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift on the high 32 bits; the bias is below
    /// 2^-32 · n, nothing for our sizes).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32) * n as u64 >> 32) as usize
    }
}

/// SplitMix64's increment (2^64 / φ, odd): output k of a generator seeded with `s` is
/// `mix64(s + k·GOLDEN_GAMMA)`.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijection of u64 whose outputs look independent for
/// neighbouring inputs (used alone to hash a position into a seed).
#[inline(always)] // inside vectorised loops (dropout masks)
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference values of Vigna's `splitmix64.c` seeded with 0, and ours for 42.
    #[test]
    fn the_stream_is_splitmix64s() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix64(42), 12_058_926_934_050_108_962);
        assert_eq!(mix64(0), 0);
    }
}
