//! HF `BertPooler` and `BertModel`.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Tensor};

use crate::config::BertConfig;
use crate::embeddings::BertEmbeddings;
use bertrs_core::BertInput;
use crate::layer::BertEncoder;
use crate::packing::TokenLayout;
use crate::vars::Vars;
use crate::Result;

/// HF `BertPooler`: `tanh(dense(hidden[:, 0]))`.
#[derive(Module, Debug)]
pub struct BertPooler {
    pub dense: Linear,
}

impl BertPooler {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            dense: vars.linear("dense", c.hidden_size, c.hidden_size)?,
        })
    }

    /// `[tokens, hidden]` → `[batch, hidden]`, from each row's first token.
    pub fn forward(&self, hidden: Tensor<2>, layout: &TokenLayout) -> Tensor<2> {
        tanh(self.dense.forward(layout.first_tokens(hidden)))
    }
}

/// What `BertModel` returns.
#[derive(Debug, Clone)]
pub struct BertModelOutput {
    /// `[batch, seq, hidden]`. Run padding-free, padded positions hold zeros (HF's hold
    /// values computed from the padding, which nothing that honours the mask reads).
    pub last_hidden_state: Tensor<3>,
    /// `[batch, hidden]`.
    pub pooler_output: Tensor<2>,
}

/// HF `BertModel` with its pooling layer.
#[derive(Module, Debug)]
pub struct BertModel {
    pub embeddings: BertEmbeddings,
    pub encoder: BertEncoder,
    pub pooler: BertPooler,
}

impl BertModel {
    /// Builds the encoder from `vars` (already at the base-model prefix). A checkpoint without
    /// a pooler gets a fresh one with a warning, as `from_pretrained` does.
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        let pooler_vars = if vars.from_checkpoint() && !vars.contains("pooler.dense.weight") {
            tracing::warn!(
                "pooler.dense.{{weight,bias}} are not in the checkpoint and are newly initialized"
            );
            vars.fresh()
        } else {
            vars.clone()
        };
        Ok(Self {
            embeddings: BertEmbeddings::new(&vars.pp("embeddings"), c)?,
            encoder: BertEncoder::new(&vars.pp("encoder"), c)?,
            pooler: BertPooler::new(&pooler_vars.pp("pooler"), c)?,
        })
    }

    /// A randomly initialised model (HF `BertModel(config)`), seeded through the device.
    pub fn init(config: &BertConfig, device: &Device) -> Self {
        let vars = Vars::new(None, device, config.initializer_range);
        // A fresh source never reads a file, so it cannot fail.
        Self::new(&vars, config).unwrap_or_else(|e| unreachable!("fresh init failed: {e}"))
    }

    pub fn forward(&self, input: BertInput) -> BertModelOutput {
        let (hidden, layout) = self.encode(input);
        let pooler_output = self.pooler.forward(hidden.clone(), &layout);
        BertModelOutput {
            last_hidden_state: layout.to_grid(hidden),
            pooler_output,
        }
    }

    /// The pooled output alone, `[batch, hidden]`: what a classification head reads.
    pub fn pooled(&self, input: BertInput) -> Tensor<2> {
        let (hidden, layout) = self.encode(input);
        self.pooler.forward(hidden, &layout)
    }

    /// The encoder's last hidden states, `[tokens, hidden]`, in the input's layout.
    pub fn encode(&self, input: BertInput) -> (Tensor<2>, TokenLayout) {
        let layout = TokenLayout::new(&input.attention_mask, input.execution);
        let hidden = self.embeddings.forward(
            layout.pack_ids(input.input_ids),
            layout.pack_ids(input.token_type_ids),
            layout.positions(),
        );
        (self.encoder.forward(hidden, &layout), layout)
    }
}
