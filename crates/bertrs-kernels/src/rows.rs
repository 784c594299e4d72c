//! Row gathers and scatters: the pack and unpack of padding-free execution
//! (`bertrs_model::packing`). burn's `select` and `select_assign` on every backend: on flex they
//! are bulk row copies, on libtorch `index_select` / `index_add_`, and their backward passes are
//! each other. Moving tokens costs a few copies of `[tokens, hidden]` a layer, next to the
//! `[tokens, hidden] × [hidden, 4·hidden]` products that padding-free execution shortens.

use burn::tensor::{IndexingUpdateOp, Int, Tensor};

/// `x[index]`: rows of `x` (`[n, f]`) in `index`'s order → `[index.len(), f]`.
pub fn gather(x: Tensor<2>, index: Tensor<1, Int>) -> Tensor<2> {
    x.select(0, index)
}

/// The rows of `x` (`[index.len(), f]`) placed at `index` in `rows` zero rows → `[rows, f]`
/// (the inverse of [`gather`] for distinct indices).
pub fn scatter(x: Tensor<2>, index: Tensor<1, Int>, rows: usize) -> Tensor<2> {
    let [_, f] = x.dims();
    Tensor::<2>::zeros([rows, f], &x.device()).select_assign(0, index, x, IndexingUpdateOp::Add)
}
