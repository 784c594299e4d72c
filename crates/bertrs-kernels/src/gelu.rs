//! HF's `"gelu"`: the exact, erf-based GELU (`transformers.activations.GELUActivation`).

use burn::tensor::Tensor;
use burn::tensor::activation::gelu as burn_gelu;

use crate::Kernels;

/// `x * 0.5 * (1 + erf(x / sqrt(2)))`, with its exact derivative on every backend.
///
/// - flex: our kernel (`flex_ops::gelu`: vectorised, every core, the derivative computed with
///   the value and kept for the backward pass);
/// - libtorch: burn's `gelu`, libtorch's fused kernel, whose backward is exact;
/// - any other backend: the formula spelled out, so autodiff differentiates `erf` itself.
///   burn's fused `gelu` is exact forward everywhere, but the *default* `gelu_backward` in
///   burn-backend 0.22.1 (`backend/ops/activation.rs`) differentiates the tanh approximation;
///   the cubecl backends (wgpu) use it, and their gradients are then off by up to 6% per
///   element (measured on lavapipe).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match Kernels::of(&x) {
        #[cfg(feature = "flex")]
        Kernels::Flex => match crate::flex_ops::gelu(x) {
            Ok(y) => y,
            Err(x) => burn_gelu(x),
        },
        Kernels::Tch => burn_gelu(x),
        _ => {
            let cdf = x.clone().div_scalar(std::f64::consts::SQRT_2).erf().add_scalar(1.0);
            x.mul(cdf).mul_scalar(0.5)
        }
    }
}

/// erf(x/√2) and e^(-x²/2), branch-free so that the loops over slices below vectorise.
///
/// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7): for u ≥ 0,
/// erf(u) = 1 - t(a1 + t(a2 + t(a3 + t(a4 + t a5)))) e^(-u²) with t = 1/(1 + p u), odd in u.
/// With u = x/√2, e^(-u²) is also the Gaussian factor of GELU's derivative, so one `exp`
/// serves both. libm's `erff` is a branchy scalar call that does not vectorise (it was 11% of
/// a training step and 17% of `predict`, BENCHMARKS.md); this vectorises, and GELU and its
/// derivative stay within 3e-7 of exact (unit test below), well inside the parity tolerances.
#[inline(always)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
fn erf_and_gauss(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    #[allow(clippy::excessive_precision)] // the published digits, rounded to f32 by the compiler
    const A: [f32; 5] = [0.254_829_592, -0.284_496_736, 1.421_413_741, -1.453_152_027, 1.061_405_429];
    let u = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let gauss = exp_neg(0.5 * x * x);
    let t = 1.0 / (1.0 + P * u);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    ((1.0 - poly * gauss).copysign(x), gauss)
}

/// e^(-z) for z ≥ 0 (or NaN), branch-free: e^(-z) = 2^n e^r with n = round(-z / ln 2) and
/// |r| ≤ ln2 / 2, e^r by its degree-6 Taylor polynomial (truncation ≤ 1.3e-7, with f32 rounding ≤ 3e-7 relative), 2^n built in
/// the exponent bits. Clamped at e^-87, just above the smallest normal f32.
#[inline(always)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
fn exp_neg(z: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let y = (-z).max(-87.0);
    // y ≤ 0, so truncating y/ln2 - 0.5 rounds to the nearest integer.
    let n = (y * std::f32::consts::LOG2_E - 0.5) as i32;
    let nf = n as f32;
    let r = y - nf * LN2_HI - nf * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// GELU and its derivative y' = Φ(x) + x φ(x), element by element.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) fn gelu_and_derivative(xs: &[f32], y: &mut [f32], dy: &mut [f32]) {
    let inv_sqrt_2pi: f32 = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
    for ((&x, y), dy) in xs.iter().zip(y).zip(dy) {
        let (erf, gauss) = erf_and_gauss(x);
        let cdf = 0.5 * (1.0 + erf);
        *y = x * cdf;
        *dy = cdf + x * inv_sqrt_2pi * gauss;
    }
}

/// GELU in place.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) fn gelu_in_place(xs: &mut [f32]) {
    for x in xs {
        *x *= 0.5 * (1.0 + erf_and_gauss(*x).0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Max |error| against f64 over [-12, 12] in steps of 1/1024, and at the extremes.
    #[test]
    fn gelu_and_its_derivative_are_within_3e7_of_exact() {
        let xs: Vec<f32> = (-12 * 1024..=12 * 1024).map(|i| i as f32 / 1024.0).chain([-1e30, -100.0, 100.0, 1e30]).collect();
        let (mut y, mut dy) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        gelu_and_derivative(&xs, &mut y, &mut dy);
        let mut inplace = xs.clone();
        gelu_in_place(&mut inplace);
        assert_eq!(inplace, y);
        let (mut worst_y, mut worst_dy) = (0f64, 0f64);
        for ((&x, &y), &dy) in xs.iter().zip(&y).zip(&dy) {
            let x = x as f64;
            let cdf = 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let (want_y, want_dy) = (x * cdf, cdf + x * pdf);
            // Relative above 1: the f32 rounding of large values themselves.
            worst_y = worst_y.max((y as f64 - want_y).abs() / want_y.abs().max(1.0));
            worst_dy = worst_dy.max((dy as f64 - want_dy).abs() / want_dy.abs().max(1.0));
        }
        assert!(worst_y < 3e-7 && worst_dy < 3e-7, "gelu {worst_y:e}, gelu' {worst_dy:e}");
    }

    #[test]
    fn exp_neg_is_within_3e7_relative() {
        for i in 0..=87 * 256 {
            let z = i as f32 / 256.0;
            let want = (-(z as f64)).exp();
            let got = exp_neg(z) as f64;
            assert!((got - want).abs() / want < 3e-7, "e^-{z}: {got} vs {want}");
        }
        assert_eq!(exp_neg(0.0), 1.0);
    }
}
