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
    if crate::device::is_flex(&x.device()) && !x.device().is_autodiff() && x.dtype() == burn::tensor::DType::F32 {
        return gelu_on_all_cores(x);
    }
    gelu(x)
}

/// burn-flex's `gelu`, element for element (its formula and its `libm::erff`, so the result
/// is bit-identical), split over every core. burn-flex evaluates unary ops on one thread,
/// and `erf` was 17% of `predict`'s time (BENCHMARKS.md). Inference only: under autodiff the
/// fused op keeps its backward.
fn gelu_on_all_cores<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (shape, device) = (x.shape(), x.device());
    let mut v = match x.into_data().try_into_vec::<f32>() {
        Ok(v) => v,
        Err(e) => unreachable!("the caller checked the dtype is F32: {e:?}"),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = v.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for part in v.chunks_mut(chunk) {
            s.spawn(move || {
                for e in part {
                    *e = 0.5 * *e * (1.0 + libm::erff(*e / std::f32::consts::SQRT_2));
                }
            });
        }
    });
    Tensor::from_data(burn::tensor::TensorData::new(v, shape), &device)
}
