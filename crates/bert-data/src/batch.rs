//! Batches as burn tensors: dynamic padding to the longest row of the batch (HF
//! `DataCollatorWithPadding`), optionally up to a multiple of N, on any device.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Encoded, LabelKind};

/// The model's inputs (`[batch, seq]` each) and, for labelled data, the targets.
#[derive(Debug, Clone)]
pub struct Batch {
    pub input_ids: Tensor<2, Int>,
    pub attention_mask: Tensor<2, Int>,
    pub token_type_ids: Tensor<2, Int>,
    pub targets: Option<BatchTargets>,
}

/// Targets in the form each HF loss takes.
#[derive(Debug, Clone)]
pub enum BatchTargets {
    /// Class ids `[batch]` (cross-entropy).
    Class(Tensor<1, Int>),
    /// `[batch, num_labels]` of 0/1 (BCE with logits).
    MultiHot(Tensor<2>),
    /// `[batch]` (MSE).
    Value(Tensor<1>),
}

impl Encoded {
    /// The rows at `indices`, padded with the tokenizer's pad id to the longest of them
    /// (rounded up to `pad_to_multiple_of`); mask 1 on tokens, 0 on padding.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Batch {
        let b = indices.len();
        let longest = indices.iter().map(|&i| self.length(i)).max().unwrap_or(0);
        let s = match self.pad_to_multiple_of {
            Some(m) => longest.div_ceil(m) * m,
            None => longest,
        };
        let (mut ids, mut mask, mut types) = (vec![self.pad_id as i64; b * s], vec![0i64; b * s], vec![0i64; b * s]);
        for (r, &i) in indices.iter().enumerate() {
            let row = r * s;
            for (c, &id) in self.ids(i).iter().enumerate() {
                ids[row + c] = id as i64;
                mask[row + c] = 1;
            }
            for t in &mut types[row + self.pair_at(i)..row + self.length(i)] {
                *t = 1;
            }
        }
        let grid = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, s]), device);
        let targets = match self.label_kind() {
            None => None,
            Some(LabelKind::SingleLabel) => {
                let y: Vec<i64> = indices.iter().map(|&i| self.class(i).unwrap_or(0) as i64).collect();
                Some(BatchTargets::Class(Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device)))
            }
            Some(LabelKind::MultiLabel) => {
                let n = self.num_labels();
                let mut hot = vec![0f32; b * n];
                for (r, &i) in indices.iter().enumerate() {
                    for &l in self.label_ids(i) {
                        hot[r * n + l as usize] = 1.0;
                    }
                }
                Some(BatchTargets::MultiHot(Tensor::<2>::from_data(TensorData::new(hot, [b, n]), device)))
            }
            Some(LabelKind::Regression) => {
                let y: Vec<f32> = indices.iter().map(|&i| self.value(i).unwrap_or(0.0)).collect();
                Some(BatchTargets::Value(Tensor::<1>::from_data(TensorData::new(y, [b]), device)))
            }
        };
        Batch { input_ids: grid(ids), attention_mask: grid(mask), token_type_ids: grid(types), targets }
    }
}
