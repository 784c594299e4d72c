//! One transformer block: HF `BertIntermediate`, `BertOutput`, `BertLayer`.

use burn::module::Module;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu_approximate, relu, silu, tanh};

use crate::activation::gelu_exact;

use crate::attention::BertAttention;
use crate::config::{BertConfig, HiddenAct};
use crate::dropout::Dropout;
use crate::fused::layer_norm;
use crate::vars::Vars;
use crate::Result;

/// `linear.forward(x)` on `[batch, seq, in]`, computed as one `[batch·seq, in]` product.
///
/// burn's `linear` on a 3-D input keeps the batched form when `seq` is a multiple of 32
/// (burn-std's `MatmulTransformPolicy`); under autodiff the weight gradient is then a batched
/// product `[batch, in, out]` summed over the batch, 2.4x slower for the whole linear on flex
/// (`examples/op_bench.rs`). Flattened, the weight gradient is one GEMM, as in PyTorch.
pub fn dense(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [b, s, i] = x.dims();
    let y = linear.forward(x.reshape([b * s, i]));
    let [_, o] = y.dims();
    y.reshape([b, s, o])
}

/// HF `BertIntermediate`: dense → activation (`ACT2FN[hidden_act]`).
#[derive(Module, Debug)]
pub struct BertIntermediate {
    pub dense: Linear,
    #[module(skip)]
    act: HiddenAct,
}

impl BertIntermediate {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            dense: vars.linear("dense", c.hidden_size, c.intermediate_size)?,
            act: c.hidden_act,
        })
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = dense(&self.dense, x);
        match self.act {
            HiddenAct::Gelu => gelu_exact(x),
            HiddenAct::GeluTanh => gelu_approximate(x),
            HiddenAct::Relu => relu(x),
            HiddenAct::Silu => silu(x),
            HiddenAct::Tanh => tanh(x),
        }
    }
}

/// HF `BertOutput`: dense → dropout → LayerNorm(x + residual).
#[derive(Module, Debug)]
pub struct BertOutput {
    pub dense: Linear,
    pub LayerNorm: LayerNorm,
    pub dropout: Dropout,
    #[module(skip)]
    layer_norm_eps: f64,
}

impl BertOutput {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            dense: vars.linear("dense", c.intermediate_size, c.hidden_size)?,
            LayerNorm: vars.layer_norm("LayerNorm", c.hidden_size, c.layer_norm_eps)?,
            dropout: Dropout::new(c.hidden_dropout_prob),
            layer_norm_eps: c.layer_norm_eps,
        })
    }

    pub fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        let x = self.dropout.forward(dense(&self.dense, x));
        layer_norm(&self.LayerNorm, x + residual, self.layer_norm_eps)
    }
}

/// HF `BertLayer`.
#[derive(Module, Debug)]
pub struct BertLayer {
    pub attention: BertAttention,
    pub intermediate: BertIntermediate,
    pub output: BertOutput,
}

impl BertLayer {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            attention: BertAttention::new(&vars.pp("attention"), c)?,
            intermediate: BertIntermediate::new(&vars.pp("intermediate"), c)?,
            output: BertOutput::new(&vars.pp("output"), c)?,
        })
    }

    pub fn forward(&self, hidden: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        let attn = self.attention.forward(hidden, mask_bias);
        let inter = self.intermediate.forward(attn.clone());
        self.output.forward(inter, attn)
    }
}

/// HF `BertEncoder`: the stack of layers.
#[derive(Module, Debug)]
pub struct BertEncoder {
    pub layer: Vec<BertLayer>,
}

impl BertEncoder {
    pub(crate) fn new(vars: &Vars, c: &BertConfig) -> Result<Self> {
        let layer = (0..c.num_hidden_layers)
            .map(|i| BertLayer::new(&vars.pp(&format!("layer.{i}")), c))
            .collect::<Result<_>>()?;
        Ok(Self { layer })
    }

    pub fn forward(&self, mut hidden: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        for layer in &self.layer {
            hidden = layer.forward(hidden, mask_bias.clone());
        }
        hidden
    }
}
