//! HF's `BertSelfOutput` and `BertOutput`: the same module in `modeling_bert.py` (dense →
//! dropout → LayerNorm(x + residual)), differing only in the dense layer's input width
//! (`hidden_size` after attention, `intermediate_size` after the feed-forward block). One
//! struct here, named twice, so the two cannot drift apart.

use burn::module::Module;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;

use bertrs_kernels::layer_norm;

use crate::Result;
use crate::config::BertConfig;
use crate::dropout::Dropout;
use crate::vars::Vars;

/// dense (`in_features` → `hidden_size`) → dropout → LayerNorm(x + residual).
#[derive(Module, Debug)]
pub struct ResidualOutput {
    pub dense: Linear,
    pub LayerNorm: LayerNorm,
    pub dropout: Dropout,
    #[module(skip)]
    layer_norm_eps: f64,
}

/// HF `BertSelfOutput`: after attention.
pub type BertSelfOutput = ResidualOutput;
/// HF `BertOutput`: after the feed-forward block.
pub type BertOutput = ResidualOutput;

impl ResidualOutput {
    pub(crate) fn new(vars: &Vars, c: &BertConfig, in_features: usize) -> Result<Self> {
        Ok(Self {
            dense: vars.linear("dense", in_features, c.hidden_size)?,
            LayerNorm: vars.layer_norm("LayerNorm", c.hidden_size, c.layer_norm_eps)?,
            dropout: Dropout::new(c.hidden_dropout_prob),
            layer_norm_eps: c.layer_norm_eps,
        })
    }

    /// `[tokens, in_features]`, `[tokens, hidden]` → `[tokens, hidden]`.
    pub fn forward(&self, x: Tensor<2>, residual: Tensor<2>) -> Tensor<2> {
        let x = self.dropout.forward(self.dense.forward(x));
        layer_norm(&self.LayerNorm, x + residual, self.layer_norm_eps)
    }
}
