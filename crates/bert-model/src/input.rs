//! The model's input: the three id tensors a tokenizer produces.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Error, Result};

/// `input_ids`, `attention_mask`, `token_type_ids`, each `[batch, seq]`.
#[derive(Debug, Clone)]
pub struct BertInput {
    pub input_ids: Tensor<2, Int>,
    pub attention_mask: Tensor<2, Int>,
    pub token_type_ids: Tensor<2, Int>,
}

impl BertInput {
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
        Ok(Self {
            input_ids: t(input_ids),
            attention_mask: t(attention_mask),
            token_type_ids: t(token_type_ids),
        })
    }

    pub fn dims(&self) -> [usize; 2] {
        self.input_ids.dims()
    }
}
