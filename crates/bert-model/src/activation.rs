//! HF's `"gelu"`: the exact, erf-based GELU (`transformers.activations.GELUActivation`).

use burn::tensor::Tensor;
use burn::tensor::activation::gelu;

/// `x * 0.5 * (1 + erf(x / sqrt(2)))`, with its exact derivative on every backend.
///
/// burn's fused `gelu` is exact forward everywhere, but the *default* `gelu_backward` in
/// burn-backend 0.22.1 (`backend/ops/activation.rs`) differentiates the tanh approximation;
/// flex and tch override it with the exact derivative, the cubecl backends (wgpu) do not,
/// and their gradients are then off by up to 6% per element (measured on lavapipe). On those
/// devices the formula is spelled out, so autodiff differentiates `erf` itself. On flex the
/// same values are computed on every core (below); on tch the fused kernel is kept.
pub fn gelu_exact<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    // burn does not export its dispatch device enum; its Debug form names the variant
    // (`Device<Cube(..)>`, `Device<Autodiff(.. Cube(..) ..)>`).
    #[cfg(feature = "wgpu")]
    if format!("{:?}", x.device()).contains("Cube(") {
        let cdf = x.clone().div_scalar(std::f64::consts::SQRT_2).erf().add_scalar(1.0);
        return x.mul(cdf).mul_scalar(0.5);
    }
    if crate::device::is_flex(&x.device()) && x.dtype() == burn::tensor::DType::F32 {
        return if x.device().is_autodiff() { gelu_with_host_derivative(x) } else { gelu_on_all_cores(x) };
    }
    gelu(x)
}

/// Runs `f` on each part on its own thread; `parts` come from `chunks_mut(chunk_len(n))`.
fn on_all_cores<P: Send>(parts: impl Iterator<Item = P>, f: impl Fn(P) + Sync) {
    std::thread::scope(|s| {
        for part in parts {
            let f = &f;
            s.spawn(move || f(part));
        }
    });
}

/// The part length that gives each core one part of `n` elements.
fn chunk_len(n: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    n.div_ceil(threads).max(1)
}

fn to_vec<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    match x.into_data().try_into_vec::<f32>() {
        Ok(v) => v,
        Err(e) => unreachable!("the caller checked the dtype is F32: {e:?}"),
    }
}

/// burn-flex's `gelu` and its `gelu_backward`, computed on every core with one `erf` per
/// element instead of two, and handed to autodiff as `y + (x - stop_grad(x)) · y'`: the value
/// is `y` exactly (the difference is 0), the gradient `g · y'` exactly as burn-flex's backward
/// computes it (`g * (cdf + x * pdf)`, its formula and its `libm::erff`). burn-flex evaluates
/// both passes on one thread; `erf` was 11% of a training step (BENCHMARKS.md).
fn gelu_with_host_derivative<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (shape, device) = (x.shape(), x.device());
    let xs = to_vec(x.clone().detach());
    let (mut y, mut dy) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
    let inv_sqrt_2pi: f32 = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
    let c = chunk_len(xs.len());
    on_all_cores(xs.chunks(c).zip(y.chunks_mut(c)).zip(dy.chunks_mut(c)), |((xs, y), dy)| {
        for ((&x, y), dy) in xs.iter().zip(y).zip(dy) {
            let erf = libm::erff(x / std::f32::consts::SQRT_2);
            *y = 0.5 * x * (1.0 + erf);
            *dy = 0.5 * (1.0 + erf) + x * (inv_sqrt_2pi * (-0.5 * x * x).exp());
        }
    });
    let constant = |v: Vec<f32>| Tensor::<D>::from_data(burn::tensor::TensorData::new(v, shape.clone()), &device);
    let zero = x.clone() - x.detach();
    constant(y) + zero * constant(dy)
}

/// burn-flex's `gelu`, element for element (its formula and its `libm::erff`, so the result
/// is bit-identical), split over every core, at inference. burn-flex evaluates unary ops on
/// one thread, and `erf` was 17% of `predict`'s time (BENCHMARKS.md).
fn gelu_on_all_cores<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (shape, device) = (x.shape(), x.device());
    let mut v = to_vec(x);
    let c = chunk_len(v.len());
    on_all_cores(v.chunks_mut(c), |part| {
        for e in part {
            *e = 0.5 * *e * (1.0 + libm::erff(*e / std::f32::consts::SQRT_2));
        }
    });
    Tensor::from_data(burn::tensor::TensorData::new(v, shape), &device)
}
