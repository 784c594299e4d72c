//! Softmax and LayerNorm with their own backward passes, in any backend's primitive ops:
//! used for libtorch, where burn 0.22's autodiff would otherwise record `softmax` as 5 ops
//! and `layer_norm` as 9, each with its own backward and saved temporaries (BENCHMARKS.md).
//! The forward is the backend's fused kernel (libtorch's `softmax`, `layer_norm`); the
//! backward is PyTorch's formula in a few whole-tensor ops:
//!
//! - softmax: dx = y ⊙ (g − Σ g ⊙ y) over the last axis (`_softmax_backward_data`);
//! - LayerNorm: with x̂ = (x − mean)·rstd recomputed from the saved input,
//!   dx = rstd·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂)), dγ = Σ g·x̂, dβ = Σ g over rows
//!   (`native_layer_norm_backward`, which tch does not bind).
//!
//! flex has faster host kernels for all three (`flex_ops`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::{Shape, Tensor};

use crate::tch_tensor::Tch;

/// Softmax over the last axis, or `None` when `x` is not a libtorch autodiff tensor (at
/// inference libtorch's own softmax, through burn's, is already one kernel).
pub(crate) fn softmax_last<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if let Ok(t) = x.clone().try_into_primitive::<Autodiff<Tch>>() {
        return Some(Tensor::from_primitive::<Autodiff<Tch>>(softmax::<Tch>(t, D - 1)));
    }
    None
}

/// HF `nn.LayerNorm` over the last axis, or `None` when the tensors are not f32 libtorch
/// autodiff tensors.
pub(crate) fn layer_norm<const D: usize>(x: &Tensor<D>, gamma: &Tensor<1>, beta: &Tensor<1>, eps: f64) -> Option<Tensor<D>> {
    if let (Ok(x), Ok(g), Ok(b)) = (
        x.clone().try_into_primitive::<Autodiff<Tch>>(),
        gamma.clone().try_into_primitive::<Autodiff<Tch>>(),
        beta.clone().try_into_primitive::<Autodiff<Tch>>(),
    ) {
        return Some(Tensor::from_primitive::<Autodiff<Tch>>(layer_norm_ad::<Tch>(x, g, b, eps)));
    }
    None
}

#[derive(Debug)]
struct SoftmaxBackward;

impl<B: Backend> Backward<B, 1> for SoftmaxBackward {
    /// The softmax output and the axis.
    type State = (FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (y, dim) = ops.state;
            let dot = B::float_sum_dim(B::float_mul(grad.clone(), y.clone()), dim);
            grads.register::<B>(parent.id, B::float_mul(y, B::float_sub(grad, dot)));
        }
    }
}

fn softmax<B: Backend>(x: FloatTensor<Autodiff<B>>, dim: usize) -> FloatTensor<Autodiff<B>> {
    let y = B::softmax(x.primitive().clone(), dim);
    match SoftmaxBackward.prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((y.clone(), dim), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

#[derive(Debug)]
struct LayerNormBackward;

impl<B: Backend> Backward<B, 3> for LayerNormBackward {
    /// The input, γ and ε.
    type State = (FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [node_x, node_gamma, node_beta] = ops.parents;
        let (x, gamma, eps) = ops.state;
        let shape = x.shape();
        let last = shape.num_dims() - 1;
        let d = shape[last];
        let rows = shape.num_elements() / d.max(1);
        let mut ones = vec![1; shape.num_dims()];
        ones[last] = d;
        let gamma = B::float_reshape(gamma, Shape::from(ones));

        let mean = B::float_mean_dim(x.clone(), last);
        let centered = B::float_sub(x, mean);
        let var = B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), last);
        let rstd = B::float_recip(B::float_sqrt(B::float_add_scalar(var, eps.into())));
        let xhat = B::float_mul(centered, rstd.clone());

        let row_sum = |t: FloatTensor<B>| B::float_reshape(B::float_sum_dim(B::float_reshape(t, Shape::new([rows, d])), 0), Shape::new([d]));
        if let Some(node) = node_gamma {
            grads.register::<B>(node.id, row_sum(B::float_mul(grad.clone(), xhat.clone())));
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, row_sum(grad.clone()));
        }
        if let Some(node) = node_x {
            let gg = B::float_mul(grad, gamma);
            let a = B::float_mean_dim(gg.clone(), last);
            let b = B::float_mean_dim(B::float_mul(gg.clone(), xhat.clone()), last);
            let inner = B::float_sub(B::float_sub(gg, a), B::float_mul(xhat, b));
            grads.register::<B>(node.id, B::float_mul(inner, rstd));
        }
    }
}

fn layer_norm_ad<B: Backend>(
    x: FloatTensor<Autodiff<B>>,
    gamma: FloatTensor<Autodiff<B>>,
    beta: FloatTensor<Autodiff<B>>,
    eps: f64,
) -> FloatTensor<Autodiff<B>> {
    let y = B::layer_norm(x.primitive().clone(), gamma.primitive().clone(), Some(beta.primitive().clone()), eps);
    match LayerNormBackward.prepare::<NoCheckpointing>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), gamma.primitive().clone(), eps), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
