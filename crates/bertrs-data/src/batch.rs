//! Batches as burn tensors: dynamic padding to the longest row of the batch (HF
//! `DataCollatorWithPadding`), optionally up to a multiple of N, on any device.

use bertrs_core::{Batch, BatchTargets, BertInput, Target};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Encoded, Result};

impl Encoded {
    /// The rows at `indices`, padded with the tokenizer's pad id to the longest of them
    /// (rounded up to `pad_to_multiple_of`); mask 1 on tokens, 0 on padding. Fails only for
    /// an index beyond the set.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Result<Batch> {
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(crate::Error::Index { index: i, len: self.len() });
        }
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
        let targets = match self.problem_type() {
            None => None,
            Some(problem) => {
                let rows: Vec<Target> = indices.iter().filter_map(|&i| self.target(i)).collect();
                Some(BatchTargets::new(problem, &rows, self.num_labels(), device)?)
            }
        };
        Ok(Batch { input: BertInput::new(grid(ids), grid(mask), grid(types)), targets })
    }
}
