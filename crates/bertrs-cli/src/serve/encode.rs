//! Tokenizing requests: HF's `[CLS] a [SEP] (b [SEP])` with the model's tokenizer. An input
//! over the max input length is refused (TEI's rule) unless the request asks to truncate,
//! then it is cut `longest_first` as `predict` and HF's tokenizer call cut it.

use bertrs_tokenizer::{BertTokenizer, EncodeOptions, Input, Padding, Prepared};

use super::api::{ApiError, Sequence, SimpleToken};

/// An input's token ids and token type ids.
#[derive(Debug)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub types: Vec<u32>,
}

pub struct Encoder {
    whole: Prepared,
    truncating: Prepared,
    tokenizer: BertTokenizer,
    pub max_length: usize,
    /// The model's `type_vocab_size`: a pair's second text has token type 1, which a model
    /// with one token type would index past its embedding with.
    type_vocab_size: usize,
}

impl Encoder {
    pub fn new(tokenizer: &BertTokenizer, max_length: usize, type_vocab_size: usize) -> anyhow::Result<Self> {
        let whole = EncodeOptions { truncation: false, max_length: None, padding: Padding::None, pad_to_multiple_of: None };
        let truncating = EncodeOptions::default().max_length(max_length).padding(Padding::None);
        Ok(Self { whole: tokenizer.prepare(&whole)?, truncating: tokenizer.prepare(&truncating)?, tokenizer: tokenizer.clone(), max_length, type_vocab_size })
    }

    /// The ids of one input; `index` names it in errors (a batch's position).
    pub fn encode(&self, seq: &Sequence, truncate: bool, index: Option<usize>) -> Result<Tokens, ApiError> {
        let at = || index.map(|i| format!("`inputs`[{i}]")).unwrap_or_else(|| "`inputs`".into());
        let input = match seq {
            Sequence::Text(a) => Input { text: a, pair: None },
            Sequence::Pair(_, _) if self.type_vocab_size < 2 => {
                return Err(ApiError::unprocessable(format!(
                    "{} is a text pair, but the model's config.json has type_vocab_size {} (pairs need 2)",
                    at(),
                    self.type_vocab_size
                )));
            }
            Sequence::Pair(a, b) => Input { text: a, pair: Some(b) },
        };
        let tokenizer_error = |e: bertrs_tokenizer::Error| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, super::api::ErrorType::Tokenizer, e.to_string());
        let mut enc = self.whole.encode(input).map_err(tokenizer_error)?;
        let n = enc.input_ids[0].len();
        if n > self.max_length {
            if !truncate {
                return Err(ApiError::too_large(format!(
                    "{} must have less than {} tokens. Given: {n}; send `truncate: true` to cut it",
                    at(),
                    self.max_length + 1
                )));
            }
            enc = self.truncating.encode(input).map_err(tokenizer_error)?;
        }
        let ids = enc.input_ids.swap_remove(0);
        let types = enc.token_type_ids.swap_remove(0);
        Ok(Tokens { ids, types })
    }

    /// `POST /tokenize`'s tokens of one text (no truncation: it shows what the model would
    /// be given before the length rule).
    pub fn tokens(&self, text: &str, add_special_tokens: bool) -> Result<Vec<SimpleToken>, ApiError> {
        let enc = self
            .tokenizer
            .inner()
            .encode(text, add_special_tokens)
            .map_err(|e| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, super::api::ErrorType::Tokenizer, e.to_string()))?;
        let special = enc.get_special_tokens_mask();
        Ok(enc
            .get_ids()
            .iter()
            .zip(enc.get_tokens())
            .zip(enc.get_offsets())
            .zip(special)
            .map(|(((&id, token), &(start, stop)), &s)| {
                if s == 1 {
                    SimpleToken { id, text: token.clone(), special: true, start: None, stop: None }
                } else {
                    let text = text.get(start..stop).unwrap_or(token).to_string();
                    SimpleToken { id, text, special: false, start: Some(start), stop: Some(stop) }
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder(max_length: usize, type_vocab_size: usize) -> Encoder {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tiny/single_label_classification");
        Encoder::new(&BertTokenizer::from_dir(dir).unwrap(), max_length, type_vocab_size).unwrap()
    }

    #[test]
    fn too_long_is_refused_unless_truncated_and_pairs_need_two_token_types() {
        let e = encoder(8, 2);
        let long = Sequence::Text("the film was great and the ending was slow".into());
        let err = e.encode(&long, false, Some(3)).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.body.error.starts_with("`inputs`[3] must have less than 9 tokens. Given: 11"), "{}", err.body.error);
        let cut = e.encode(&long, true, None).unwrap();
        assert_eq!(cut.ids.len(), 8);
        let pair = Sequence::Pair("the film".into(), "was slow".into());
        let t = e.encode(&pair, false, None).unwrap();
        assert_eq!(t.types, [0, 0, 0, 0, 1, 1, 1]);
        let err = encoder(8, 1).encode(&pair, false, None).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.body.error.contains("type_vocab_size 1"), "{}", err.body.error);
    }
}
