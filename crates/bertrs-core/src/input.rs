//! The model's input: the three id tensors a tokenizer produces, and the layout the encoder
//! computes them in.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Error, Result};

/// How the encoder lays out a batch's tokens. Both give HF's results (tested to 1e-5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Execution {
    /// Only the real tokens go through the dense layers (`[tokens, hidden]`); padding exists
    /// only inside the attention scores.
    #[default]
    PaddingFree,
    /// HF's layout: every position of `[batch, seq]` is computed, padding included.
    Padded,
}

/// `input_ids`, `attention_mask`, `token_type_ids`, each `[batch, seq]` (padded to the
/// longest row, as HF's `DataCollatorWithPadding` gives them), and the layout to run them in
/// (padding-free unless asked otherwise).
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
        for (name, v) in [("input_ids", &input_ids), ("attention_mask", &attention_mask), ("token_type_ids", &token_type_ids)] {
            if v.len() != batch * seq {
                return Err(Error::InputShape { name, got: v.len(), batch, seq });
            }
        }
        let t = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [batch, seq]), device);
        Ok(Self::new(t(input_ids), t(attention_mask), t(token_type_ids)))
    }

    /// `[batch, seq]`.
    pub fn dims(&self) -> [usize; 2] {
        self.input_ids.dims()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_fill_the_grid() {
        let d = Device::flex();
        let ok = BertInput::from_ids(2, 2, vec![1, 2, 3, 4], vec![1; 4], vec![0; 4], &d).unwrap();
        assert_eq!((ok.dims(), ok.execution), ([2, 2], Execution::PaddingFree));
        assert_eq!(ok.with_execution(Execution::Padded).execution, Execution::Padded);
        let e = BertInput::from_ids(2, 2, vec![1, 2, 3, 4], vec![1; 3], vec![0; 4], &d).unwrap_err();
        assert_eq!(e.to_string(), "attention_mask has 3 values, expected batch 2 x seq 2 = 4");
    }
}
