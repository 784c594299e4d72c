//! Host loops compiled for the CPU they run on, and the building blocks they vectorise with.
//!
//! A release build targets baseline x86-64, so the loops of our flex kernels (GELU, softmax,
//! LayerNorm, AdamW, dropout masks) vectorised only to SSE2's 4 lanes, without FMA: on an
//! Intel Xeon, `gelu (bertrs_kernels)` took 10.7 ms against PyTorch's 0.9 ms
//! (`examples/op_bench.rs`; ATen compiles its kernels per ISA and picks one at run time).
//! [`vectorized`] does the same for a kernel: `pulp::Arch` (the dispatcher the `gemm` crate
//! itself uses, already in the build) detects AVX-512 or AVX2+FMA and runs the kernel inlined
//! into a function compiled for that level, so LLVM vectorises its loops 16 or 8 lanes wide;
//! elsewhere it runs as compiled. A kernel is a [`Kernel`]: a struct of its arguments whose
//! `run` is `#[inline(always)]` and reaches its loops through `#[inline(always)]` functions
//! only, since whatever is not inlined runs at the baseline level. Not a closure, nor a
//! function item called through `FnOnce`: the closure's body (or the `call_once` shim) is a
//! function of its own, which LLVM kept out of line (pulp calls it from three arms) and so at
//! the baseline level — seen in profiles of softmax.
//!
//! Results do not depend on the level: the kernels spell out every multiply and add (no
//! `mul_add`, which only FMA hardware fuses), IEEE operations round alike in every lane
//! width, and sums, which LLVM may not reorder, are written as [`LANES`] explicit partial sums
//! ([`sum`], [`dot`], …): one order at every level, and vector adds instead of a scalar chain.

/// A host loop and its arguments; `run` must be `#[inline(always)]` (see the module docs).
pub(crate) trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// `kernel.run()` compiled for the widest SIMD level of this CPU.
#[inline(always)]
pub(crate) fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(Dispatch(kernel))
}

/// A kernel as pulp's dispatcher takes it: `with_simd` is inlined into each level's function,
/// and `run` with it.
struct Dispatch<K>(K);

impl<K: Kernel> pulp::WithSimd for Dispatch<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> K::Output {
        self.0.run()
    }
}

/// Partial sums of a reduction: one AVX-512 register of f32.
pub(crate) const LANES: usize = 16;

/// The partial sums added up, then the tail's terms in order.
#[inline(always)]
fn total(acc: [f32; LANES], tail: impl Iterator<Item = f32>) -> f32 {
    let mut t = 0f32;
    for a in acc {
        t += a;
    }
    tail.fold(t, |t, v| t + v)
}

/// Σ x.
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        acc.iter_mut().zip(c).for_each(|(a, v)| *a += v);
    }
    total(acc, tail.iter().copied())
}

/// Σ (x − c)².
#[inline(always)]
pub(crate) fn sum_sq_dev(x: &[f32], c: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for ch in chunks {
        acc.iter_mut().zip(ch).for_each(|(a, v)| *a += (v - c) * (v - c));
    }
    total(acc, tail.iter().map(|v| (v - c) * (v - c)))
}

/// Σ a·b over the shorter length.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES));
    let tail = a.remainder().iter().zip(b.remainder()).map(|(x, y)| x * y);
    let mut acc = [0f32; LANES];
    for (a, b) in a.zip(b) {
        acc.iter_mut().zip(a.iter().zip(b)).for_each(|(s, (x, y))| *s += x * y);
    }
    total(acc, tail)
}

/// Σ a·b·c over the shortest length.
#[inline(always)]
pub(crate) fn dot3(a: &[f32], b: &[f32], c: &[f32]) -> f32 {
    let n = a.len().min(b.len()).min(c.len());
    let (a, b, c) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES), c[..n].chunks_exact(LANES));
    let tail = a.remainder().iter().zip(b.remainder()).zip(c.remainder()).map(|((x, y), z)| x * y * z);
    let mut acc = [0f32; LANES];
    for ((a, b), c) in a.zip(b).zip(c) {
        acc.iter_mut().zip(a.iter().zip(b).zip(c)).for_each(|(s, ((x, y), z))| *s += x * y * z);
    }
    total(acc, tail)
}

/// max x (−∞ for an empty slice; NaNs are skipped, as `f32::max` does).
#[inline(always)]
pub(crate) fn max(x: &[f32]) -> f32 {
    let full = x.len() - x.len() % LANES;
    let mut acc = [f32::NEG_INFINITY; LANES];
    for chunk in x[..full].chunks_exact(LANES) {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = a.max(v);
        }
    }
    acc.into_iter().chain(x[full..].iter().copied()).fold(f32::NEG_INFINITY, f32::max)
}

/// e^y for y ≤ 0, branch-free so that loops over it vectorise: e^y = 2^n e^r with
/// n = round(y / ln 2) and |r| ≤ ln2 / 2, e^r by its degree-6 Taylor polynomial (truncation
/// ≤ 1.3e-7, with f32 rounding ≤ 3e-7 relative), 2^n built in the exponent bits. Below −87
/// (under the smallest normal f32) it is 0, as libm's `expf` underflows; NaN stays NaN.
///
/// n is rounded by adding 1.5 · 2^23 (the sum's low mantissa bits are then n itself), not
/// by a float → int cast: Rust's saturating `as i32` compiled to one scalar `cvttss2si`
/// with NaN and range fix-ups per lane, 16 of them per AVX-512 vector, and made GELU 6× slower
/// than its arithmetic (seen in `perf annotate`).
#[inline(always)]
pub(crate) fn exp_nonpositive(y: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0;
    let underflow = y < -87.0;
    let y = if underflow { -87.0 } else { y };
    // |y / ln2| ≤ 126 < 2^22: the sum rounds it to the nearest integer, exactly representable.
    let t = y * std::f32::consts::LOG2_E + ROUND;
    let nf = t - ROUND;
    let n = t.to_bits().wrapping_sub(ROUND.to_bits());
    let r = y - nf * LN2_HI - nf * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let e = p * f32::from_bits(n.wrapping_add(127) << 23);
    if underflow { 0.0 } else { e }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_3e7_relative_and_underflows_to_zero() {
        for i in 0..=87 * 256 {
            let y = -(i as f32) / 256.0;
            let want = (y as f64).exp();
            let got = exp_nonpositive(y) as f64;
            assert!((got - want).abs() / want < 3e-7, "e^{y}: {got} vs {want}");
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-88.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(f32::MIN), 0.0);
        assert!(exp_nonpositive(f32::NAN).is_nan());
    }

    #[test]
    fn reductions_match_sequential_sums_and_skip_nothing() {
        // 37 = two full blocks of 16 and a tail of 5: every element counted once.
        let x: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
        let close = |a: f32, b: f64| assert!((a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        close(sum(&x), x.iter().map(|&v| v as f64).sum());
        close(dot(&x, &y), x.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum());
        close(dot3(&x, &y, &x), x.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64 * a as f64).sum());
        close(sum_sq_dev(&x, 0.25), x.iter().map(|&v| (v as f64 - 0.25).powi(2)).sum());
        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(max(&x), m);
        assert_eq!(max(&x[33..]), x[33..].iter().copied().fold(f32::NEG_INFINITY, f32::max));
        assert_eq!(max(&[]), f32::NEG_INFINITY);
        // The same result inside and outside `vectorized`: one summation order.
        struct Dot<'a>(&'a [f32], &'a [f32]);
        impl Kernel for Dot<'_> {
            type Output = f32;
            #[inline(always)]
            fn run(self) -> f32 {
                dot(self.0, self.1)
            }
        }
        assert_eq!(vectorized(Dot(&x, &y)).to_bits(), dot(&x, &y).to_bits());
    }
}
