//! Encoding a batch: truncation and padding with HF `__call__` semantics.

use tokenizers::{
    EncodeInput, PaddingDirection, PaddingParams, PaddingStrategy, TruncationDirection,
    TruncationParams, TruncationStrategy,
};

use crate::{BertTokenizer, Error, Result};

/// HF's `padding=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding: rows keep their own lengths (`padding=False`).
    None,
    /// Pad to the longest row of the batch (`padding=True` / `"longest"`): dynamic padding.
    #[default]
    Longest,
    /// Pad every row to `max_length` (`padding="max_length"`).
    MaxLength,
}

/// HF's `truncation=`, `max_length=`, `padding=`, `pad_to_multiple_of=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Truncate with the `longest_first` strategy (pairs lose tokens from the longer side).
    pub truncation: bool,
    /// The length limit, special tokens included; `None` = the model's maximum.
    pub max_length: Option<usize>,
    pub padding: Padding,
    pub pad_to_multiple_of: Option<usize>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            truncation: true,
            max_length: None,
            padding: Padding::Longest,
            pad_to_multiple_of: None,
        }
    }
}

impl EncodeOptions {
    pub fn max_length(mut self, n: usize) -> Self {
        self.max_length = Some(n);
        self
    }

    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }
}

/// One row of input: a text, or a pair of texts (`text`, `text_pair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    pub text: &'a str,
    pub pair: Option<&'a str>,
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(text: &'a str) -> Self {
        Self { text, pair: None }
    }
}

impl<'a> From<(&'a str, &'a str)> for Input<'a> {
    fn from((text, pair): (&'a str, &'a str)) -> Self {
        Self {
            text,
            pair: Some(pair),
        }
    }
}

/// The encoded rows, HF `BatchEncoding`'s three lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchEncoding {
    pub input_ids: Vec<Vec<u32>>,
    pub attention_mask: Vec<Vec<u32>>,
    pub token_type_ids: Vec<Vec<u32>>,
}

impl BatchEncoding {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// The longest row.
    pub fn seq_len(&self) -> usize {
        self.input_ids.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Row-major `[batch, seq_len]` arrays (ids, mask, type ids) for a model, right-padded
    /// with `pad_id` where rows differ in length (mask 0 there).
    pub fn to_padded_i64(&self, pad_id: u32) -> (usize, usize, [Vec<i64>; 3]) {
        let (b, s) = (self.len(), self.seq_len());
        let mut out = [vec![pad_id as i64; b * s], vec![0; b * s], vec![0; b * s]];
        for (r, ((ids, mask), types)) in self
            .input_ids
            .iter()
            .zip(&self.attention_mask)
            .zip(&self.token_type_ids)
            .enumerate()
        {
            for (c, ((i, m), t)) in ids.iter().zip(mask).zip(types).enumerate() {
                out[0][r * s + c] = *i as i64;
                out[1][r * s + c] = *m as i64;
                out[2][r * s + c] = *t as i64;
            }
        }
        (b, s, out)
    }
}

/// A tokenizer with its truncation and padding set once, for encoding many batches with the
/// same options (setting them means a copy of the vocabulary).
#[derive(Debug, Clone)]
pub struct Prepared {
    inner: tokenizers::Tokenizer,
}

impl Prepared {
    /// Encodes a batch with `[CLS] a [SEP] (b [SEP])`, HF-identical to `BertTokenizerFast`.
    pub fn encode_batch<'a, I>(&self, inputs: &[I]) -> Result<BatchEncoding>
    where
        I: Into<Input<'a>> + Copy,
    {
        let inputs: Vec<EncodeInput> = inputs.iter().map(|i| encode_input((*i).into())).collect();
        let encodings = self
            .inner
            .encode_batch(inputs, true)
            .map_err(|e| Error::Encode(e.to_string()))?;
        let mut out = BatchEncoding::default();
        for e in encodings {
            push(&mut out, &e);
        }
        Ok(out)
    }

    /// Encodes one input on the calling thread (`encode_batch` hands its rows to the rayon
    /// pool, which a server's model may be using for its GEMMs).
    pub fn encode<'a>(&self, input: impl Into<Input<'a>>) -> Result<BatchEncoding> {
        let e = self
            .inner
            .encode(encode_input(input.into()), true)
            .map_err(|e| Error::Encode(e.to_string()))?;
        let mut out = BatchEncoding::default();
        push(&mut out, &e);
        Ok(out)
    }
}

fn encode_input(i: Input<'_>) -> EncodeInput<'_> {
    match i.pair {
        None => EncodeInput::Single(i.text.into()),
        Some(p) => EncodeInput::Dual(i.text.into(), p.into()),
    }
}

fn push(out: &mut BatchEncoding, e: &tokenizers::Encoding) {
    out.input_ids.push(e.get_ids().to_vec());
    out.attention_mask.push(e.get_attention_mask().to_vec());
    out.token_type_ids.push(e.get_type_ids().to_vec());
}

impl BertTokenizer {
    /// Encodes a batch with `[CLS] a [SEP] (b [SEP])`, HF-identical to `BertTokenizerFast`.
    pub fn encode_batch<'a, I>(&self, inputs: &[I], options: &EncodeOptions) -> Result<BatchEncoding>
    where
        I: Into<Input<'a>> + Copy,
    {
        self.prepare(options)?.encode_batch(inputs)
    }

    /// This tokenizer with `options` applied, to encode many batches with them.
    pub fn prepare(&self, options: &EncodeOptions) -> Result<Prepared> {
        let max_length = options
            .max_length
            .or(self.model_max_length)
            .unwrap_or(512);
        if options.truncation && max_length < 3 {
            return Err(Error::Options(format!(
                "max_length {max_length} leaves no room for text between [CLS] and [SEP]"
            )));
        }
        if options.pad_to_multiple_of == Some(0) {
            return Err(Error::Options("pad_to_multiple_of must be at least 1".into()));
        }
        let mut tok = self.inner.clone();
        let trunc = options.truncation.then(|| TruncationParams {
            direction: TruncationDirection::Right,
            max_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        });
        tok.with_truncation(trunc)
            .map_err(|e| Error::Options(e.to_string()))?;
        let strategy = match options.padding {
            Padding::None => None,
            Padding::Longest => Some(PaddingStrategy::BatchLongest),
            Padding::MaxLength => Some(PaddingStrategy::Fixed(max_length)),
        };
        tok.with_padding(strategy.map(|strategy| PaddingParams {
            strategy,
            direction: PaddingDirection::Right,
            pad_to_multiple_of: options.pad_to_multiple_of,
            pad_id: self.pad_id,
            pad_type_id: 0,
            pad_token: self.pad_token.clone(),
        }));
        Ok(Prepared { inner: tok })
    }

    /// Encodes one input without padding.
    pub fn encode<'a>(&self, input: impl Into<Input<'a>> + Copy, max_length: Option<usize>) -> Result<BatchEncoding> {
        let options = EncodeOptions {
            max_length,
            padding: Padding::None,
            ..EncodeOptions::default()
        };
        self.encode_batch(&[input], &options)
    }
}
