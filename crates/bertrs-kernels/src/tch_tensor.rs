//! f32 libtorch tensors as `tch::Tensor`s, for the in-place optimizer and clipping passes
//! (`adamw_tch.rs`, `clip_tch.rs`): burn's tensor ops always allocate their output, where
//! PyTorch's optimizer and `clip_grad_norm_` update in place.

#![allow(deprecated)] // burn-tch is deprecated upstream but is our libtorch path

use burn::backend::LibTorch;
use burn::backend::autodiff::Autodiff;
use burn::backend::libtorch::TchTensor;
use burn::tensor::{DType, Tensor};

/// burn's libtorch backend.
pub(crate) type Tch = LibTorch;

/// Whether `x` is a libtorch tensor, plain or under autodiff.
pub(crate) fn is_tch<const D: usize>(x: &Tensor<D>) -> bool {
    x.clone().try_into_primitive::<LibTorch>().is_ok() || x.clone().try_into_primitive::<Autodiff<LibTorch>>().is_ok()
}

/// Whether `t` is a plain f32 libtorch tensor on the CPU (a primitive our in-place passes can
/// take).
pub(crate) fn is_cpu_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && t.clone().try_into_primitive::<LibTorch>().is_ok_and(|t| t.tensor.device() == tch::Device::Cpu)
}

/// Whether `t` is an f32 libtorch tensor on the CPU, plain or under autodiff (burn's device
/// equality ignores autodiff).
pub(crate) fn is_cpu_f32_any<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && t.device() == burn::tensor::Device::libtorch()
}

/// The primitive of a plain libtorch tensor ([`crate::Kernels::Tch`], not under autodiff).
pub(crate) fn primitive<const D: usize>(t: Tensor<D>) -> TchTensor {
    match t.try_into_primitive::<LibTorch>() {
        Ok(t) => t,
        Err(e) => unreachable!("callers check the tensor's kernels first: {e:?}"),
    }
}

/// The primitive of a plain libtorch tensor that may be updated in place: its own storage when
/// no other burn tensor shares it, else a copy.
pub(crate) fn writable<const D: usize>(t: Tensor<D>) -> TchTensor {
    let t = primitive(t);
    if t.can_mut() { t } else { TchTensor::new(t.tensor.copy()) }
}

pub(crate) fn tensor<const D: usize>(t: TchTensor) -> Tensor<D> {
    Tensor::from_primitive::<LibTorch>(t)
}
