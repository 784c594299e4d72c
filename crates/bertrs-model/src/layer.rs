//! One transformer block: HF `BertIntermediate`, `BertLayer` (its `BertOutput` is `residual.rs`), and the
//! `BertEncoder` stack. Hidden states are `[tokens, hidden]` (see [`crate::packing`]): every
//! linear is one 2-D product, whose weight gradient is one GEMM as in PyTorch (burn's `linear`
//! on a 3-D input whose length is a multiple of 32 keeps a batched product, 2.4x slower for the
//! whole linear on flex: `examples/op_bench.rs`).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu_approximate, relu, silu, tanh};

use bertrs_kernels::gelu;

use crate::attention::BertAttention;
use crate::config::{BertConfig, HiddenAct};
use crate::packing::TokenLayout;
use crate::residual::BertOutput;
use crate::vars::Vars;
use crate::Result;

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

    /// `[tokens, hidden]` → `[tokens, intermediate]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.dense.forward(x);
        match self.act {
            HiddenAct::Gelu => gelu(x),
            HiddenAct::GeluTanh => gelu_approximate(x),
            HiddenAct::Relu => relu(x),
            HiddenAct::Silu => silu(x),
            HiddenAct::Tanh => tanh(x),
        }
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
            output: BertOutput::new(&vars.pp("output"), c, c.intermediate_size)?,
        })
    }

    /// `[tokens, hidden]` → `[tokens, hidden]`.
    pub fn forward(&self, hidden: Tensor<2>, layout: &TokenLayout) -> Tensor<2> {
        let attn = self.attention.forward(hidden, layout);
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

    /// `[tokens, hidden]` in `layout` → the same shape.
    pub fn forward(&self, mut hidden: Tensor<2>, layout: &TokenLayout) -> Tensor<2> {
        for layer in &self.layer {
            hidden = layer.forward(hidden, layout);
        }
        hidden
    }
}
