//! Fused CPU kernels for burn-flex, with their own backward passes: GELU, softmax over the
//! last axis and LayerNorm, the ops PyTorch runs as fused kernels (`gelu`, `_softmax`,
//! `native_layer_norm` and their `*_backward`).
//!
//! Why here: under autodiff burn 0.22 records `layer_norm` as its 9 primitive ops and
//! `softmax` as 5, each with its own backward pass and its own full-size temporaries, and
//! burn-flex evaluates `gelu`/`gelu_backward` with scalar `erff` on one thread. burn's
//! backend-extension API (`Tensor::try_into_primitive`, `burn_autodiff::ops::Backward`) lets
//! a model register an op with its own backward, so each of these is one pass forward and
//! one pass backward over the rows, on every core (rayon, burn-flex's own pool), reading
//! flex's buffers in place; burn-flex's own softmax forward calls libm's scalar `expf`. The
//! loops themselves are `host.rs`'s, compiled for the CPU's SIMD level (`simd.rs`). Measured
//! per op against PyTorch in BENCHMARKS.md (`examples/op_bench.rs`).
//!
//! Each entry hands its input back (`Err`, or `None` for LayerNorm) when the tensor is not an
//! f32 flex tensor (or uses a gradient checkpointing strategy other than the default): the
//! caller then takes burn's own op. They are reached through `gelu.rs` and `fused.rs`.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, Tensor};
use rayon::prelude::*;

use crate::flex_tensor::{Ad, Flexed, contiguous, contiguous_primitive, flexed, from_ad, primitive as tensor, values};
use crate::host::{GeluAndDerivative, GeluInPlace, LayerNormBackwardRows, LayerNormRows, Mul, SoftmaxBackwardRows, SoftmaxRows};
use crate::simd::vectorized;

/// Rows per rayon task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 64;
/// Elements per rayon task for elementwise kernels.
pub(crate) const ELEMS_PER_TASK: usize = 1 << 15;

fn from_flex<const D: usize>(t: FlexTensor) -> Tensor<D> {
    crate::flex_tensor::tensor(t)
}

/// `a ⊙ b` elementwise, on every core.
fn mul(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (va, vb) = (values(a), values(b));
    let mut out = vec![0f32; va.len()];
    out.par_chunks_mut(ELEMS_PER_TASK)
        .zip(va.par_chunks(ELEMS_PER_TASK).zip(vb.par_chunks(ELEMS_PER_TASK)))
        .for_each(|(out, (a, b))| vectorized(Mul { out, a, b }));
    tensor(out, a.layout().shape().clone())
}

// ---------------------------------------------------------------------------------------------
// GELU
// ---------------------------------------------------------------------------------------------

/// HF's exact GELU; under autodiff its derivative is computed with the value and kept for the
/// backward pass (one multiply there).
/// `Err(x)` when `x` is not an f32 flex tensor.
#[allow(clippy::result_large_err)] // the input handed back, once per layer
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    #[derive(Debug)]
    struct GeluBackward;
    impl Backward<Flex, 1> for GeluBackward {
        /// y'(x).
        type State = FlexTensor;
        fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<Flex>(&ops.node);
            if let [Some(parent)] = ops.parents {
                grads.register::<Flex>(parent.id, mul(&grad, &ops.state));
            }
        }
    }

    let Some(flexed) = flexed(&x) else { return Err(x) };
    Ok(match flexed {
        // At inference the input (the intermediate dense layer's output) is usually the only
        // handle on its buffer: GELU in place, copying only when it is shared or strided.
        Flexed::Plain(t) => {
            drop(t);
            let mut t = contiguous(x);
            t.storage_mut::<f32>().par_chunks_mut(ELEMS_PER_TASK).for_each(|xs| vectorized(GeluInPlace(xs)));
            from_flex(t)
        }
        Flexed::Tracked(t) => {
            let shape = t.primitive().layout().shape().clone();
            let xs = values(t.primitive());
            let (mut y, mut dy) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
            y.par_chunks_mut(ELEMS_PER_TASK)
                .zip(dy.par_chunks_mut(ELEMS_PER_TASK))
                .zip(xs.par_chunks(ELEMS_PER_TASK))
                .for_each(|((y, dy), x)| vectorized(GeluAndDerivative { x, y, dy }));
            let (y, dy) = (tensor(y, shape.clone()), tensor(dy, shape));
            let out = match GeluBackward.prepare::<NoCheckpointing>([t.node()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(dy, y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            from_ad(out)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Softmax over the last axis
// ---------------------------------------------------------------------------------------------

/// Softmax over the last axis, one vectorised pass per row (burn-flex's own calls libm's scalar
/// `expf`: 6x PyTorch's time, `examples/op_bench.rs`); backward is `y ⊙ (g − Σ g ⊙ y)` per row
/// (PyTorch's `_softmax_backward_data`), from the saved output. At inference it works in place
/// when the scores are the only handle on their buffer (they are: a fresh `q·kᵀ + mask`).
/// `Err(x)` when `x` is not an f32 flex tensor.
#[allow(clippy::result_large_err)] // the input handed back, once per layer
pub(crate) fn softmax_last<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    #[derive(Debug)]
    struct SoftmaxBackward;
    impl Backward<Flex, 1> for SoftmaxBackward {
        /// The softmax output.
        type State = FlexTensor;
        fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<Flex>(&ops.node);
            let [Some(parent)] = ops.parents else { return };
            let y = ops.state;
            let shape = y.layout().shape().clone();
            let n = shape[shape.num_dims() - 1];
            let (g, yv) = (values(&grad), values(&y));
            let mut dx = vec![0f32; yv.len()];
            dx.par_chunks_mut(ROWS_PER_TASK * n)
                .zip(g.par_chunks(ROWS_PER_TASK * n).zip(yv.par_chunks(ROWS_PER_TASK * n)))
                .for_each(|(dx, (g, y))| vectorized(SoftmaxBackwardRows { dx, g, y, n }));
            grads.register::<Flex>(parent.id, tensor(dx, shape));
        }
    }

    let n = x.dims()[D - 1];
    let Some(flexed) = flexed(&x).filter(|_| n > 0) else { return Err(x) };
    // In place: the scores (`q·kᵀ + mask`) are the only handle on their buffer once the
    // clone `flexed` made is dropped, so `storage_mut` copies nothing.
    let in_place = |t: FlexTensor| {
        let mut t = contiguous_primitive(t);
        t.storage_mut::<f32>().par_chunks_mut(ROWS_PER_TASK * n).for_each(|x| vectorized(SoftmaxRows { x, n }));
        t
    };
    Ok(match flexed {
        Flexed::Plain(t) => {
            drop(t);
            from_flex(in_place(contiguous(x)))
        }
        Flexed::Tracked(t) => {
            drop(t);
            let t = match x.try_into_primitive::<Ad>() {
                Ok(t) => t,
                Err(e) => unreachable!("`flexed` found an autodiff flex tensor: {e:?}"),
            };
            let node = t.node();
            let y = in_place(t.into_primitive());
            let out = match SoftmaxBackward.prepare::<NoCheckpointing>([node]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            from_ad(out)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// LayerNorm
// ---------------------------------------------------------------------------------------------

/// What LayerNorm's backward needs: x̂ = (x − mean)·rstd, rstd per row, and γ.
#[derive(Debug, Clone)]
struct LayerNormState {
    xhat: FlexTensor,
    rstd: FlexTensor,
    gamma: FlexTensor,
}

/// HF `nn.LayerNorm` over the last axis (biased variance, as PyTorch). Under autodiff the
/// forward keeps x̂ and 1/σ per row; the backward is PyTorch's `native_layer_norm_backward`:
/// dx = rstd·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂)), dγ = Σ g·x̂, dβ = Σ g over rows.
pub(crate) fn layer_norm<const D: usize>(x: &Tensor<D>, gamma: &Tensor<1>, beta: &Tensor<1>, eps: f64) -> Option<Tensor<D>> {
    #[derive(Debug)]
    struct LayerNormBackward;
    impl Backward<Flex, 3> for LayerNormBackward {
        type State = LayerNormState;
        fn backward(self, ops: Ops<LayerNormState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<Flex>(&ops.node);
            let [node_x, node_gamma, node_beta] = ops.parents;
            let LayerNormState { xhat, rstd, gamma } = ops.state;
            let shape = xhat.layout().shape().clone();
            let d = shape[shape.num_dims() - 1];
            let (g, xh, rs, gm) = (values(&grad), values(&xhat), values(&rstd), values(&gamma));
            let mut dx = vec![0f32; xh.len()];
            // Per task: (dγ, dβ) partial sums over its rows; summed below.
            let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
                .par_chunks_mut(ROWS_PER_TASK * d)
                .zip(g.par_chunks(ROWS_PER_TASK * d).zip(xh.par_chunks(ROWS_PER_TASK * d)))
                .zip(rs.par_chunks(ROWS_PER_TASK))
                .map(|((dx, (g, xh)), rs)| {
                    let (mut dgamma, mut dbeta) = (vec![0f32; d], vec![0f32; d]);
                    vectorized(LayerNormBackwardRows { g, xhat: xh, rstd: rs, gamma: &gm, dx, dgamma: &mut dgamma, dbeta: &mut dbeta });
                    (dgamma, dbeta)
                })
                .collect();
            let (mut dgamma, mut dbeta) = (vec![0f32; d], vec![0f32; d]);
            for (pg, pb) in &partials {
                dgamma.iter_mut().zip(pg).for_each(|(s, v)| *s += v);
                dbeta.iter_mut().zip(pb).for_each(|(s, v)| *s += v);
            }
            if let Some(node) = node_x {
                grads.register::<Flex>(node.id, tensor(dx, shape));
            }
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, tensor(dgamma, Shape::new([d])));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, tensor(dbeta, Shape::new([d])));
            }
        }
    }

    let Some(Flexed::Tracked(x)) = flexed(x) else { return None };
    let (Some(Flexed::Tracked(gamma)), Some(Flexed::Tracked(beta))) = (flexed(gamma), flexed(beta)) else { return None };
    let shape = x.primitive().layout().shape().clone();
    let d = shape[shape.num_dims() - 1];
    let (xs, gm, bt) = (values(x.primitive()), values(gamma.primitive()), values(beta.primitive()));
    let rows = xs.len() / d.max(1);
    let (mut y, mut xhat, mut rstd) = (vec![0f32; xs.len()], vec![0f32; xs.len()], vec![0f32; rows]);
    y.par_chunks_mut(ROWS_PER_TASK * d)
        .zip(xhat.par_chunks_mut(ROWS_PER_TASK * d))
        .zip(rstd.par_chunks_mut(ROWS_PER_TASK).zip(xs.par_chunks(ROWS_PER_TASK * d)))
        .for_each(|((y, xhat), (rstd, x))| vectorized(LayerNormRows { x, gamma: &gm, beta: &bt, eps: eps as f32, y, xhat, rstd }));
    let y = tensor(y, shape.clone());
    let prep = LayerNormBackward.prepare::<NoCheckpointing>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
    let out = match prep {
        OpsKind::Tracked(prep) => {
            let state = LayerNormState { xhat: tensor(xhat, shape), rstd: tensor(rstd, Shape::new([rows])), gamma: gamma.primitive().clone() };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(from_ad(out))
}
