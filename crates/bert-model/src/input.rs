//! The model's input: the three id tensors a tokenizer produces, and how to run them.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::packing::Execution;
use crate::{Error, Result};

/// `input_ids`, `attention_mask`, `token_type_ids`, each `[batch, seq]` (padded to the
/// longest row, as HF's collator gives them), and the layout the encoder computes them in
/// (padding-free unless asked otherwise; both give HF's results).
#[derive(Debug, Clone)]
pub struct BertInput {
    pub input_ids: Tensor<2, Int>,
    pub attention_mask: Tensor<2, Int>,
    pub token_type_ids: Tensor<2, Int>,
    pub execution: Execution,
}

impl BertInput {
    /// From the three `[batch, seq]` tensors, run padding-free.
    pub fn new(input_ids: Tensor<2, Int>, attention_mask: Tensor<2, Int>, token_type_ids: Tensor<2, Int>) -> Self {
        Self { input_ids, attention_mask, token_type_ids, execution: Execution::default() }
    }

    /// The same input, run in `execution`'s layout.
    pub fn with_execution(self, execution: Execution) -> Self {
        Self { execution, ..self }
    }

    /// From row-major ids of a padded batch (`batch * seq` each).
    pub fn from_ids(
        batch: usize,
        seq: usize,
        input_ids: Vec<i64>,
        attention_mask: Vec<i64>,
        token_type_ids: Vec<i64>,
        device: &Device,
    ) -> Result<Self> {
        let n = batch * seq;
        for (name, v) in [
            ("input_ids", &input_ids),
            ("attention_mask", &attention_mask),
            ("token_type_ids", &token_type_ids),
        ] {
            if v.len() != n {
                return Err(Error::Input(format!(
                    "{name} has {} values, expected batch {batch} x seq {seq} = {n}",
                    v.len()
                )));
            }
        }
        let t = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [batch, seq]), device);
        Ok(Self::new(t(input_ids), t(attention_mask), t(token_type_ids)))
    }

    pub fn dims(&self) -> [usize; 2] {
        self.input_ids.dims()
    }
}
