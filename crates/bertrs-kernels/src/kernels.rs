//! Telling a tensor's backend from its primitive.

use burn::tensor::{DType, Tensor};

/// The kernels a tensor takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// An f32 burn-flex tensor, plain or under autodiff.
    Flex,
    /// An f32 libtorch tensor (CPU or CUDA), plain or under autodiff.
    Tch,
    /// Anything else (wgpu, other dtypes): burn's generic ops.
    Generic,
}

impl Kernels {
    /// From the tensor's primitive: the conversions only move handles (a clone of a tensor is
    /// a reference count), no data. burn exports no enum of its dispatch devices, and their
    /// `Debug` text is no contract, so it is never read.
    pub fn of<const D: usize>(x: &Tensor<D>) -> Self {
        if x.dtype() != DType::F32 {
            return Kernels::Generic;
        }
        #[cfg(feature = "flex")]
        if crate::flex_tensor::is_flex(x) {
            return Kernels::Flex;
        }
        #[cfg(feature = "tch")]
        if crate::tch_tensor::is_tch(x) {
            return Kernels::Tch;
        }
        Kernels::Generic
    }
}
