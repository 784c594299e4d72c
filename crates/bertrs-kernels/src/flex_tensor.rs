//! f32 burn-flex tensors as host buffers: plain ones (parameters, gradients, inference) and
//! autodiff ones (training), for the kernels in `flex_ops.rs`, `adamw_flex.rs` and
//! `clip_flex.rs`.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, Shape, Tensor, TensorData};

/// flex under autodiff with burn's default (no) gradient checkpointing: the only autodiff
/// flavour our kernels register backward steps for.
pub(crate) type Ad = Autodiff<Flex, NoCheckpointing>;

/// Whether `x` is a burn-flex tensor, plain or under autodiff.
pub(crate) fn is_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.clone().try_into_primitive::<Flex>().is_ok() || x.clone().try_into_primitive::<Ad>().is_ok()
}

/// Whether `t` is a plain f32 burn-flex tensor (parameters, gradients and optimizer state
/// are plain tensors).
pub(crate) fn is_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && t.clone().try_into_primitive::<Flex>().is_ok()
}

/// The buffer of an [`is_f32`] tensor, contiguous from offset 0 (copied only when it is not,
/// so `storage`/`storage_mut` see exactly its elements in order; `storage_mut` copies a
/// shared buffer on write).
pub(crate) fn contiguous<const D: usize>(t: Tensor<D>) -> FlexTensor {
    let t = match t.try_into_primitive::<Flex>() {
        Ok(t) => t,
        Err(e) => unreachable!("callers check `is_f32` first: {e:?}"),
    };
    contiguous_primitive(t)
}

/// [`contiguous`] on a primitive.
pub(crate) fn contiguous_primitive(t: FlexTensor) -> FlexTensor {
    let n = t.layout().shape().num_elements();
    if t.layout().contiguous_offsets() == Some((0, n)) && t.bytes().len() == n * 4 { t } else { t.to_contiguous() }
}

pub(crate) fn tensor<const D: usize>(t: FlexTensor) -> Tensor<D> {
    Tensor::from_primitive::<Flex>(t)
}

/// The tensor's f32 elements in logical order, borrowed when the buffer is contiguous.
pub(crate) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_contiguous().as_slice::<f32>().map(<[f32]>::to_vec).unwrap_or_default()),
    }
}

/// A primitive from f32 values.
pub(crate) fn primitive(v: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// An f32 flex tensor, under autodiff or plain.
pub(crate) enum Flexed {
    Tracked(FloatTensor<Ad>),
    Plain(FlexTensor),
}

/// `None` for anything but an f32 flex tensor.
pub(crate) fn flexed<const D: usize>(x: &Tensor<D>) -> Option<Flexed> {
    if x.dtype() != DType::F32 {
        return None;
    }
    if let Ok(t) = x.clone().try_into_primitive::<Ad>() {
        return Some(Flexed::Tracked(t));
    }
    x.clone().try_into_primitive::<Flex>().ok().map(Flexed::Plain)
}

pub(crate) fn from_ad<const D: usize>(t: FloatTensor<Ad>) -> Tensor<D> {
    Tensor::from_primitive::<Ad>(t)
}
