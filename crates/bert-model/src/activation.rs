//! HF's `"gelu"`: the exact, erf-based GELU (`transformers.activations.GELUActivation`).

use burn::tensor::Tensor;
use burn::tensor::activation::gelu;

/// `x * 0.5 * (1 + erf(x / sqrt(2)))`, with its exact derivative on every backend.
///
/// burn's fused `gelu` is exact forward everywhere, but the *default* `gelu_backward` in
/// burn-backend 0.22.1 (`backend/ops/activation.rs`) differentiates the tanh approximation;
/// flex and tch override it with the exact derivative, the cubecl backends (wgpu) do not,
/// and their gradients are then off by up to 6% per element (measured on lavapipe). On those
/// devices the formula is spelled out, so autodiff differentiates `erf` itself; elsewhere
/// the fused kernel is kept, as it is faster.
pub fn gelu_exact<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    // burn does not export its dispatch device enum; its Debug form names the variant
    // (`Device<Cube(..)>`, `Device<Autodiff(.. Cube(..) ..)>`).
    #[cfg(feature = "wgpu")]
    if format!("{:?}", x.device()).contains("Cube(") {
        let cdf = x.clone().div_scalar(std::f64::consts::SQRT_2).erf().add_scalar(1.0);
        return x.mul(cdf).mul_scalar(0.5);
    }
    gelu(x)
}
