//! Self-attention with the padding mask: HF `BertSelfAttention` (eager path),
//! and `BertAttention` (its `BertSelfOutput` is `residual.rs`). The projections run on `[tokens, hidden]`; only the
//! scores are computed per sequence on the padded grid (`TokenLayout::to_grid`), with padded
//! keys masked out as HF does.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;

use crate::config::BertConfig;
use crate::dropout::Dropout;
use bertrs_kernels::softmax_last;
use crate::packing::TokenLayout;
use crate::residual::BertSelfOutput;
use crate::vars::Vars;
use crate::Result;

#[derive(Module, Debug)]
pub struct BertSelfAttention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub dropout: Dropout,
    #[module(skip)]
    num_heads: usize,
    #[module(skip)]
    head_dim: usize,
}

impl BertSelfAttention {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        Ok(Self {
            query: vars.linear("query", h, h)?,
            key: vars.linear("key", h, h)?,
            value: vars.linear("value", h, h)?,
            dropout: Dropout::new(c.attention_probs_dropout_prob),
            num_heads: c.num_attention_heads,
            head_dim: c.head_dim(),
        })
    }

    /// `[tokens, hidden]` → `[batch, heads, seq, head_dim]` on the padded grid.
    fn split_heads(&self, x: Tensor<2>, layout: &TokenLayout) -> Tensor<4> {
        let (b, s) = (layout.batch(), layout.seq());
        layout.to_grid(x).reshape([b, s, self.num_heads, self.head_dim]).swap_dims(1, 2)
    }

    /// `[tokens, hidden]` → `[tokens, hidden]`; the scores get `layout`'s mask bias (0 where
    /// attended, the dtype's minimum on padding: HF `get_extended_attention_mask`).
    pub fn forward(&self, hidden: Tensor<2>, layout: &TokenLayout) -> Tensor<2> {
        let [_, h] = hidden.dims();
        let (b, s) = (layout.batch(), layout.seq());
        let q = self.split_heads(self.query.forward(hidden.clone()), layout);
        let k = self.split_heads(self.key.forward(hidden.clone()), layout);
        let v = self.split_heads(self.value.forward(hidden), layout);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + layout.mask_bias();
        let probs = self.dropout.forward(softmax_last(scores));
        layout.from_grid(probs.matmul(v).swap_dims(1, 2).reshape([b, s, h]))
    }
}

/// HF `BertAttention`: `self` is a Rust keyword, so the field is `self_attn` and the
/// loader maps it to HF's `attention.self.*`.
#[derive(Module, Debug)]
pub struct BertAttention {
    pub self_attn: BertSelfAttention,
    pub output: BertSelfOutput,
}

impl BertAttention {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            self_attn: BertSelfAttention::new(&vars.pp("self"), c)?,
            output: BertSelfOutput::new(&vars.pp("output"), c, c.hidden_size)?,
        })
    }

    pub fn forward(&self, hidden: Tensor<2>, layout: &TokenLayout) -> Tensor<2> {
        let ctx = self.self_attn.forward(hidden.clone(), layout);
        self.output.forward(ctx, hidden)
    }
}
