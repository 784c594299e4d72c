//! Padding-free execution: the encoder carries only a batch's real tokens, `[tokens, hidden]`,
//! through the embeddings, every linear, GELU, LayerNorm, dropout and residual; only attention
//! sees the padded grid `[batch, seq]`, where the padding is masked out of the scores exactly as
//! in HF's eager attention.
//!
//! Why it equals HF's padded model: with the extended attention mask a padded position is
//! never a key (its score gets `finfo.min`, its softmax weight is exactly 0), so a real token's
//! output does not depend on what the padded positions hold; and the pooler reads position 0
//! of each row. Computing the padded positions is wasted work: about 47% of the tokens of
//! shuffled batches of 32 Rotten Tomatoes sentences (issue 13). This is the idea of HF's
//! `DataCollatorWithFlattening`, without changing the batches the sampler gives.
//!
//! The packed layout needs right padding (each row: real tokens, then padding), which is what
//! every tokenizer here produces; any other mask (left padding, holes, an empty row) runs the
//! padded layout, so every input still gets HF's result.

use bertrs_core::Execution;
use bertrs_kernels::rows;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Where a batch's tokens are: the map between the padded grid (`[batch·seq]`, row-major) and
/// the rows of the `[tokens, features]` tensors the encoder carries.
#[derive(Debug, Clone)]
pub struct TokenLayout {
    batch: usize,
    seq: usize,
    /// `None`: every grid position is a token (the padded layout, or a batch without padding).
    packed: Option<Packed>,
    /// The position id of each token (HF's default `position_ids`: the column).
    positions: Tensor<1, Int>,
    /// HF `get_extended_attention_mask`: `[batch, 1, 1, seq]`, 0 on tokens and
    /// `finfo(float32).min` on padding, added to the attention scores.
    mask_bias: Tensor<4>,
}

#[derive(Debug, Clone)]
struct Packed {
    tokens: usize,
    /// For each token, its grid position.
    grid: Tensor<1, Int>,
    /// For each row, its first token (`[CLS]`).
    first: Tensor<1, Int>,
}

impl TokenLayout {
    /// The layout of a batch with this `attention_mask` (`[batch, seq]` of 1/0). The mask is
    /// read back to the host once per batch (a few hundred integers).
    pub fn new(attention_mask: &Tensor<2, Int>, execution: Execution) -> Self {
        let [batch, seq] = attention_mask.dims();
        let device = attention_mask.device();
        let mask_bias = mask_bias(attention_mask.clone());
        let lengths = match execution {
            Execution::PaddingFree => right_padded_lengths(attention_mask, seq),
            Execution::Padded => None,
        };
        let packed = lengths.filter(|l| l.iter().sum::<usize>() < batch * seq).map(|l| Packed::new(&l, seq, &device));
        let positions = match &packed {
            Some(p) => p.grid.clone().remainder_scalar(seq as i64),
            None => Tensor::<1, Int>::arange(0..seq as i64, &device).unsqueeze::<2>().repeat_dim(0, batch).reshape([batch * seq]),
        };
        Self { batch, seq, packed, positions, mask_bias }
    }

    /// Whether padding is left out (false: every grid position is computed).
    pub fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// The number of rows the encoder carries.
    pub fn tokens(&self) -> usize {
        self.packed.as_ref().map_or(self.batch * self.seq, |p| p.tokens)
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    pub fn seq(&self) -> usize {
        self.seq
    }

    /// `[tokens]` position ids.
    pub fn positions(&self) -> Tensor<1, Int> {
        self.positions.clone()
    }

    pub fn mask_bias(&self) -> Tensor<4> {
        self.mask_bias.clone()
    }

    /// `[batch, seq]` ids → `[tokens]`, in token order.
    pub fn pack_ids(&self, ids: Tensor<2, Int>) -> Tensor<1, Int> {
        let flat = ids.reshape([self.batch * self.seq]);
        match &self.packed {
            Some(p) => flat.select(0, p.grid.clone()),
            None => flat,
        }
    }

    /// `[tokens, f]` → `[batch, seq, f]`, zeros at the padding.
    pub fn to_grid(&self, x: Tensor<2>) -> Tensor<3> {
        let [_, f] = x.dims();
        let grid = match &self.packed {
            Some(p) => rows::scatter(x, p.grid.clone(), self.batch * self.seq),
            None => x,
        };
        grid.reshape([self.batch, self.seq, f])
    }

    /// `[batch, seq, f]` → `[tokens, f]`: the inverse of [`Self::to_grid`].
    pub fn from_grid(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, s, f] = x.dims();
        let flat = x.reshape([b * s, f]);
        match &self.packed {
            Some(p) => rows::gather(flat, p.grid.clone()),
            None => flat,
        }
    }

    /// Each row's first token (`hidden[:, 0]`, what HF's pooler reads): `[tokens, f]` →
    /// `[batch, f]`.
    pub fn first_tokens(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.packed {
            Some(p) => rows::gather(x, p.first.clone()),
            None => {
                let [_, f] = x.dims();
                x.reshape([self.batch, self.seq, f]).slice([0..self.batch, 0..1]).reshape([self.batch, f])
            }
        }
    }
}

impl Packed {
    fn new(lengths: &[usize], seq: usize, device: &Device) -> Self {
        let tokens: usize = lengths.iter().sum();
        let mut grid = Vec::with_capacity(tokens);
        let mut first = Vec::with_capacity(lengths.len());
        for (row, &len) in lengths.iter().enumerate() {
            first.push(grid.len() as i64);
            grid.extend((0..len).map(|c| (row * seq + c) as i64));
        }
        let index = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        Self { tokens, grid: index(grid), first: index(first) }
    }
}

/// Each row's length when the mask is right padding (1s, then 0s, at least one 1); `None`
/// otherwise, or when the mask cannot be read.
fn right_padded_lengths(mask: &Tensor<2, Int>, seq: usize) -> Option<Vec<usize>> {
    let values = mask.clone().into_data().try_into_vec_as::<i64>().ok()?;
    values
        .chunks(seq.max(1))
        .map(|row| {
            let len = row.iter().take_while(|&&m| m == 1).count();
            (len > 0 && row[len..].iter().all(|&m| m == 0)).then_some(len)
        })
        .collect()
}

/// HF `get_extended_attention_mask`: `[batch, seq]` of 1/0 → `[batch, 1, 1, seq]` of
/// 0 / `finfo(float32).min`.
fn mask_bias(mask: Tensor<2, Int>) -> Tensor<4> {
    let [b, s] = mask.dims();
    let m = mask.float().reshape([b, 1, 1, s]);
    m.neg().add_scalar(1.0).mul_scalar(f32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: Tensor<1, Int>) -> Vec<i64> {
        v.into_data().try_into_vec_as::<i64>().unwrap_or_default()
    }

    fn mask(rows: &[&[i64]], device: &Device) -> Tensor<2, Int> {
        let s = rows[0].len();
        let v: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(v, [rows.len(), s]), device)
    }

    #[test]
    fn right_padding_is_packed_and_anything_else_is_not() {
        let device = Device::default();
        let l = TokenLayout::new(&mask(&[&[1, 1, 1, 0], &[1, 0, 0, 0], &[1, 1, 1, 1]], &device), Execution::PaddingFree);
        assert!(l.is_packed());
        assert_eq!(l.tokens(), 8);
        assert_eq!(ints(l.positions()), vec![0, 1, 2, 0, 0, 1, 2, 3]);
        let ids = Tensor::<1, Int>::arange(0..12, &device).reshape([3, 4]);
        assert_eq!(ints(l.pack_ids(ids)), vec![0, 1, 2, 4, 8, 9, 10, 11]);

        // Asked for the padded layout, left padding, a hole, an empty row, no padding at all.
        for (rows, execution) in [
            (&[&[1i64, 1, 0][..], &[1, 0, 0]][..], Execution::Padded),
            (&[&[0, 1, 1][..], &[1, 1, 1]][..], Execution::PaddingFree),
            (&[&[1, 0, 1][..], &[1, 1, 1]][..], Execution::PaddingFree),
            (&[&[0, 0, 0][..], &[1, 1, 1]][..], Execution::PaddingFree),
            (&[&[1, 1, 1][..], &[1, 1, 1]][..], Execution::PaddingFree),
        ] {
            let l = TokenLayout::new(&mask(rows, &device), execution);
            assert!(!l.is_packed(), "{rows:?}");
            assert_eq!(l.tokens(), 6);
            assert_eq!(ints(l.positions()), vec![0, 1, 2, 0, 1, 2]);
        }
    }

    #[test]
    fn grid_round_trip_and_first_tokens() {
        let device = Device::default();
        let l = TokenLayout::new(&mask(&[&[1, 1, 0], &[1, 1, 1]], &device), Execution::PaddingFree);
        let x = Tensor::<1, Int>::arange(0..10, &device).float().reshape([5, 2]);
        let grid = l.to_grid(x.clone());
        assert_eq!(grid.dims(), [2, 3, 2]);
        let g = grid.clone().into_data().try_into_vec_as::<f32>().unwrap_or_default();
        assert_eq!(g, vec![0., 1., 2., 3., 0., 0., 4., 5., 6., 7., 8., 9.]);
        let back = l.from_grid(grid).into_data().try_into_vec_as::<f32>().unwrap_or_default();
        assert_eq!(back, (0..10).map(|v| v as f32).collect::<Vec<_>>());
        let first = l.first_tokens(x).into_data().try_into_vec_as::<f32>().unwrap_or_default();
        assert_eq!(first, vec![0., 1., 4., 5.]);
    }
}
