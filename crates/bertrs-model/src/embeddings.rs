//! `BertEmbeddings` (HF `modeling_bert.BertEmbeddings`): word + absolute position +
//! token type, then LayerNorm and dropout.

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm};
use burn::tensor::{Int, Tensor};

use crate::config::BertConfig;
use crate::dropout::Dropout;
use bertrs_kernels::layer_norm;
use crate::vars::Vars;
use crate::Result;

#[derive(Module, Debug)]
pub struct BertEmbeddings {
    pub word_embeddings: Embedding,
    pub position_embeddings: Embedding,
    pub token_type_embeddings: Embedding,
    pub LayerNorm: LayerNorm,
    pub dropout: Dropout,
    #[module(skip)]
    layer_norm_eps: f64,
}

impl BertEmbeddings {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            word_embeddings: vars.embedding("word_embeddings", c.vocab_size, c.hidden_size)?,
            position_embeddings: vars.embedding(
                "position_embeddings",
                c.max_position_embeddings,
                c.hidden_size,
            )?,
            token_type_embeddings: vars.embedding(
                "token_type_embeddings",
                c.type_vocab_size,
                c.hidden_size,
            )?,
            LayerNorm: vars.layer_norm("LayerNorm", c.hidden_size, c.layer_norm_eps)?,
            dropout: Dropout::new(c.hidden_dropout_prob),
            layer_norm_eps: c.layer_norm_eps,
        })
    }

    /// `input_ids`, `token_type_ids`, `position_ids`: `[tokens]` → `[tokens, hidden]`, for
    /// tokens in any layout (see [`crate::packing`]); HF's default `position_ids` are each
    /// token's column, `TokenLayout::positions`.
    pub fn forward(&self, input_ids: Tensor<1, Int>, token_type_ids: Tensor<1, Int>, position_ids: Tensor<1, Int>) -> Tensor<2> {
        let lookup = |table: &Embedding, ids: Tensor<1, Int>| {
            let [n] = ids.dims();
            let [_, h] = table.weight.dims();
            table.forward(ids.reshape([1, n])).reshape([n, h])
        };
        let x = lookup(&self.word_embeddings, input_ids)
            + lookup(&self.token_type_embeddings, token_type_ids)
            + lookup(&self.position_embeddings, position_ids);
        self.dropout.forward(layer_norm(&self.LayerNorm, x, self.layer_norm_eps))
    }
}
