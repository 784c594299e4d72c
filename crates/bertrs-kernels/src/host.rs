//! The host loops of flex's GELU, softmax and LayerNorm (`flex_ops.rs` wires them into burn's
//! autodiff), each a [`Kernel`] that `simd::vectorized` compiles for the CPU's SIMD level and
//! `flex_ops` runs on rayon chunks. Rows are `n` (or γ's length) contiguous f32.

use crate::gelu::{gelu_and_derivative, gelu_in_place};
use crate::simd::{self, Kernel, exp_nonpositive};

/// `out = a ⊙ b`.
pub(crate) struct Mul<'a> {
    pub out: &'a mut [f32],
    pub a: &'a [f32],
    pub b: &'a [f32],
}

impl Kernel for Mul<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.out.iter_mut().zip(self.a.iter().zip(self.b)).for_each(|(o, (a, b))| *o = a * b);
    }
}

/// GELU in place.
pub(crate) struct GeluInPlace<'a>(pub &'a mut [f32]);

impl Kernel for GeluInPlace<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        gelu_in_place(self.0);
    }
}

/// GELU of `x` into `y`, its derivative into `dy`.
pub(crate) struct GeluAndDerivative<'a> {
    pub x: &'a [f32],
    pub y: &'a mut [f32],
    pub dy: &'a mut [f32],
}

impl Kernel for GeluAndDerivative<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        gelu_and_derivative(self.x, self.y, self.dy);
    }
}

/// Softmax of each row in place: `e^(x − max) / Σ`, the max subtracted as PyTorch's
/// `_softmax` does (a masked score, HF's dtype minimum, underflows to exactly 0).
pub(crate) struct SoftmaxRows<'a> {
    pub x: &'a mut [f32],
    pub n: usize,
}

impl Kernel for SoftmaxRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for row in self.x.chunks_mut(self.n) {
            let max = simd::max(row);
            // A row of −∞ (or NaN) gives NaN, as in PyTorch.
            let max = if max == f32::NEG_INFINITY { f32::NAN } else { max };
            for v in row.iter_mut() {
                *v = exp_nonpositive(*v - max);
            }
            let inv = 1.0 / simd::sum(row);
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

/// Softmax's backward per row, from its output `y` and upstream gradient `g`:
/// `dx = y ⊙ (g − Σ g ⊙ y)` (PyTorch's `_softmax_backward_data`).
pub(crate) struct SoftmaxBackwardRows<'a> {
    pub dx: &'a mut [f32],
    pub g: &'a [f32],
    pub y: &'a [f32],
    pub n: usize,
}

impl Kernel for SoftmaxBackwardRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let n = self.n;
        for ((dx, g), y) in self.dx.chunks_mut(n).zip(self.g.chunks(n)).zip(self.y.chunks(n)) {
            let dot = simd::dot(g, y);
            dx.iter_mut().zip(g.iter().zip(y)).for_each(|(dx, (g, y))| *dx = y * (g - dot));
        }
    }
}

/// LayerNorm of each row of `x` (biased variance, as PyTorch): `y`, and for the backward
/// pass x̂ = (x − mean)·rstd and rstd = 1/σ per row.
pub(crate) struct LayerNormRows<'a> {
    pub x: &'a [f32],
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub eps: f32,
    pub y: &'a mut [f32],
    pub xhat: &'a mut [f32],
    pub rstd: &'a mut [f32],
}

impl Kernel for LayerNormRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self { x, gamma, beta, eps, y, xhat, rstd } = self;
        let d = gamma.len();
        for (((y, xhat), r), x) in y.chunks_mut(d).zip(xhat.chunks_mut(d)).zip(rstd).zip(x.chunks(d)) {
            let mean = simd::sum(x) / d as f32;
            let var = simd::sum_sq_dev(x, mean) / d as f32;
            let rs = 1.0 / (var + eps).sqrt();
            *r = rs;
            for (((y, xh), &x), (&g, &b)) in y.iter_mut().zip(xhat.iter_mut()).zip(x).zip(gamma.iter().zip(beta)) {
                *xh = (x - mean) * rs;
                *y = *xh * g + b;
            }
        }
    }
}

/// LayerNorm's backward per row (PyTorch's `native_layer_norm_backward`): from the upstream
/// gradient `g`, x̂, rstd and γ, dx = rstd·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂)), and this
/// task's partial sums dγ += g·x̂, dβ += g.
pub(crate) struct LayerNormBackwardRows<'a> {
    pub g: &'a [f32],
    pub xhat: &'a [f32],
    pub rstd: &'a [f32],
    pub gamma: &'a [f32],
    pub dx: &'a mut [f32],
    pub dgamma: &'a mut [f32],
    pub dbeta: &'a mut [f32],
}

impl Kernel for LayerNormBackwardRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self { g, xhat, rstd, gamma, dx, dgamma, dbeta } = self;
        let d = gamma.len();
        for (((dx, g), xh), &r) in dx.chunks_mut(d).zip(g.chunks(d)).zip(xhat.chunks(d)).zip(rstd) {
            let a = simd::dot(g, gamma) / d as f32;
            let b = simd::dot3(g, gamma, xh) / d as f32;
            let sums = dgamma.iter_mut().zip(dbeta.iter_mut());
            for ((((dx, &g), &xh), &gm), (dg, db)) in dx.iter_mut().zip(g).zip(xh).zip(gamma).zip(sums) {
                *dg += g * xh;
                *db += g;
                *dx = r * (g * gm - a - xh * b);
            }
        }
    }
}
