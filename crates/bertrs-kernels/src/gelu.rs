//! HF's `"gelu"`: the exact, erf-based GELU (`transformers.activations.GELUActivation`).

use burn::tensor::Tensor;
use burn::tensor::activation::gelu as burn_gelu;

use crate::Kernels;
#[cfg(feature = "flex")]
use crate::simd::exp_nonpositive;

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
#[cfg(feature = "flex")]
#[inline(always)]
fn erf_and_gauss(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    #[allow(clippy::excessive_precision)] // the published digits, rounded to f32 by the compiler
    const A: [f32; 5] = [0.254_829_592, -0.284_496_736, 1.421_413_741, -1.453_152_027, 1.061_405_429];
    let u = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let gauss = exp_nonpositive(-0.5 * x * x);
    let t = 1.0 / (1.0 + P * u);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    ((1.0 - poly * gauss).copysign(x), gauss)
}

/// GELU and its derivative y' = Φ(x) + x φ(x) of `xs` into `y` and `dy`, element by element
/// (inlined into a [`crate::simd::Kernel`]).
#[cfg(feature = "flex")]
#[inline(always)]
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
#[cfg(feature = "flex")]
#[inline(always)]
pub(crate) fn gelu_in_place(xs: &mut [f32]) {
    for x in xs {
        *x *= 0.5 * (1.0 + erf_and_gauss(*x).0);
    }
}

#[cfg(all(test, feature = "flex"))]
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
        // Compiled for this CPU's SIMD level, the same bits.
        let (mut vy, mut vdy) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        crate::simd::vectorized(crate::host::GeluAndDerivative { x: &xs, y: &mut vy, dy: &mut vdy });
        assert!(vy.iter().zip(&y).chain(vdy.iter().zip(&dy)).all(|(a, b)| a.to_bits() == b.to_bits()));
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
}
