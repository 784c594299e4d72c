//! BERT tokenization on the `tokenizers` crate, with the output of HF's
//! `BertTokenizerFast(text, text_pair, truncation=…, max_length=…, padding=…)`.
//!
//! ```no_run
//! use bertrs_tokenizer::{BertTokenizer, EncodeOptions};
//! let tok = BertTokenizer::from_dir("path/to/hf-model")?;
//! let batch = tok.encode_batch(&["a great film", "a dull one"], &EncodeOptions::default().max_length(128))?;
//! assert_eq!(batch.input_ids[0][0], tok.cls_id());
//! # Ok::<(), bertrs_tokenizer::Error>(())
//! ```

mod encode;
mod error;
mod load;

pub use encode::{BatchEncoding, EncodeOptions, Input, Padding, Prepared};
pub use error::{Error, Result};

/// A BERT WordPiece tokenizer with its special-token ids.
#[derive(Debug, Clone)]
pub struct BertTokenizer {
    inner: tokenizers::Tokenizer,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
    pad_token: String,
    /// `tokenizer_config.json`'s `model_max_length`, when it is a real limit.
    model_max_length: Option<usize>,
}

impl BertTokenizer {
    pub fn cls_id(&self) -> u32 {
        self.cls_id
    }

    pub fn sep_id(&self) -> u32 {
        self.sep_id
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The default truncation length when `EncodeOptions::max_length` is `None`.
    pub fn model_max_length(&self) -> Option<usize> {
        self.model_max_length
    }

    /// Sets the default truncation length (e.g. from the model's `max_position_embeddings`).
    pub fn set_model_max_length(&mut self, n: usize) {
        self.model_max_length = Some(n);
    }

    /// Token strings for ids (`convert_ids_to_tokens`).
    pub fn ids_to_tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|id| self.inner.id_to_token(*id).unwrap_or_else(|| format!("<{id}>")))
            .collect()
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The wrapped `tokenizers::Tokenizer` (padding and truncation cleared).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}
