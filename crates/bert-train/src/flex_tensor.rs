//! Plain f32 burn-flex tensors as host buffers, for the in-place optimizer and clipping
//! passes (`adamw/flex.rs`, `clip.rs`). Autodiff tensors never match: these passes run on
//! parameters and gradients, which are plain tensors.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor};

/// Whether `t` is an f32 burn-flex tensor.
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
    let n = t.layout().shape().num_elements();
    if t.layout().contiguous_offsets() == Some((0, n)) && t.bytes().len() == n * 4 { t } else { t.to_contiguous() }
}

pub(crate) fn tensor<const D: usize>(t: FlexTensor) -> Tensor<D> {
    Tensor::from_primitive::<Flex>(t)
}
