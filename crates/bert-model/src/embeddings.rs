//! `BertEmbeddings` (HF `modeling_bert.BertEmbeddings`): word + absolute position +
//! token type, then LayerNorm and dropout.

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm};
use burn::tensor::{Int, Tensor};

use crate::config::BertConfig;
use crate::dropout::Dropout;
use crate::fused::layer_norm;
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

    /// `input_ids`, `token_type_ids`: `[batch, seq]` → `[batch, seq, hidden]`.
    /// Positions are `0..seq` for every row, as HF's default `position_ids` buffer.
    pub fn forward(&self, input_ids: Tensor<2, Int>, token_type_ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, seq] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &device).unsqueeze::<2>();
        let x = self.word_embeddings.forward(input_ids)
            + self.token_type_embeddings.forward(token_type_ids)
            + self.position_embeddings.forward(positions);
        self.dropout.forward(layer_norm(&self.LayerNorm, x, self.layer_norm_eps))
    }
}
