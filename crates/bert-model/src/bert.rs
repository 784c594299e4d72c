//! HF `BertPooler` and `BertModel`.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Int, Tensor};

use crate::config::BertConfig;
use crate::embeddings::BertEmbeddings;
use crate::input::BertInput;
use crate::layer::BertEncoder;
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

    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<2> {
        let [b, _, h] = hidden.dims();
        let cls = hidden.slice([0..b, 0..1]).reshape([b, h]);
        tanh(self.dense.forward(cls))
    }
}

/// What `BertModel` returns.
#[derive(Debug, Clone)]
pub struct BertModelOutput {
    /// `[batch, seq, hidden]`.
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
        let mask_bias = extended_attention_mask(input.attention_mask);
        let hidden = self.embeddings.forward(input.input_ids, input.token_type_ids);
        let last_hidden_state = self.encoder.forward(hidden, mask_bias);
        let pooler_output = self.pooler.forward(last_hidden_state.clone());
        BertModelOutput {
            last_hidden_state,
            pooler_output,
        }
    }
}

/// HF `get_extended_attention_mask`: `[batch, seq]` of 1/0 → `[batch, 1, 1, seq]` of
/// 0 / `finfo(float32).min`, added to the attention scores.
fn extended_attention_mask(mask: Tensor<2, Int>) -> Tensor<4> {
    let [b, s] = mask.dims();
    let m = mask.float().reshape([b, 1, 1, s]);
    m.neg().add_scalar(1.0).mul_scalar(f32::MIN)
}
