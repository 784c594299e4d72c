//! Every backend-specific op of the workspace, in one place: fused or in-place kernels for
//! burn-flex and libtorch, and burn's generic ops as the fallback for any other backend.
//!
//! | op | flex | libtorch | any other backend |
//! |---|---|---|---|
//! | [`gelu`] (exact, erf) | host kernel, derivative kept from the forward | libtorch's fused GELU | erf spelled out (burn's default `gelu_backward` differentiates the tanh form) |
//! | [`softmax_last`] | host row kernel + PyTorch's backward | libtorch's softmax + PyTorch's backward | burn's `softmax` |
//! | [`layer_norm`] | host row kernel + PyTorch's backward | libtorch's `layer_norm` + PyTorch's backward | burn's `LayerNorm` |
//! | [`dropout`] | counter-based mask on the host | burn's (libtorch's generator) | burn's |
//! | [`adamw`] | one fused in-place pass | PyTorch's in-place optimizer kernels | none: the caller takes burn's `AdamW` |
//! | [`clip`] | host norm, in-place scaling | libtorch's norm, `mul_` (CPU) | on the device |
//! | [`rows`] (padding-free pack/unpack) | burn's `select` / `select_assign` | same | same |
//!
//! Which kernels a tensor takes is told once, from its primitive ([`Kernels::of`]): a tensor
//! that converts to a burn-flex primitive (plain or under autodiff) is flex's, likewise for
//! libtorch, anything else takes the generic ops. `bertrs-model` and `bertrs-train` call these
//! and hold no backend checks of their own. Each op has a parity test against burn's plain ops
//! (`tests/parity.rs`), run on every backend by `cargo xtask test`.
//!
//! flex's host loops run compiled for the CPU's SIMD level, chosen at run time (`simd.rs`).
//!
//! The backend cargo features (`flex`, `tch`, `wgpu`) compile a backend in; [`device`] picks
//! one at run time by name.

// Our fused kernels reach burn's primitives through the extension API, all safe code.

pub mod adamw;
pub mod clip;
pub mod device;
mod dropout;
mod fused;
mod gelu;
mod kernels;
pub mod rows;
pub mod splitmix;

#[cfg(feature = "flex")]
mod adamw_flex;
#[cfg(feature = "tch")]
mod adamw_tch;
#[cfg(feature = "flex")]
mod clip_flex;
#[cfg(feature = "tch")]
mod clip_tch;
#[cfg(feature = "flex")]
mod flex_ops;
#[cfg(feature = "flex")]
mod flex_tensor;
#[cfg(feature = "flex")]
mod host;
#[cfg(feature = "flex")]
mod simd;
#[cfg(feature = "tch")]
mod tch_ops;
#[cfg(feature = "tch")]
mod tch_tensor;

pub use dropout::{dropout, with_dropout_stream};
pub use fused::{layer_norm, softmax_last};
pub use gelu::gelu;
pub use kernels::Kernels;

/// Errors of this crate: a backend that is not compiled in, or a bad backend name.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Backend(String),
}
