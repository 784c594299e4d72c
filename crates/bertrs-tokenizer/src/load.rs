//! Building the tokenizer from an HF directory: `tokenizer.json` when present (what
//! `AutoTokenizer` gives, `BertTokenizerFast`), else the BERT WordPiece pipeline that
//! transformers' `BertConverter` builds from `vocab.txt` + `tokenizer_config.json`.

use std::path::Path;

use serde::Deserialize;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::{BertTokenizer, Error, Result};

/// The keys of `tokenizer_config.json` that change BERT tokenization, with HF defaults.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct TokenizerConfig {
    do_lower_case: bool,
    strip_accents: Option<bool>,
    tokenize_chinese_chars: bool,
    unk_token: String,
    sep_token: String,
    cls_token: String,
    pad_token: String,
    mask_token: String,
    model_max_length: Option<f64>,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            do_lower_case: true,
            strip_accents: None,
            tokenize_chinese_chars: true,
            unk_token: "[UNK]".into(),
            sep_token: "[SEP]".into(),
            cls_token: "[CLS]".into(),
            pad_token: "[PAD]".into(),
            mask_token: "[MASK]".into(),
            model_max_length: None,
        }
    }
}

fn read_config(dir: &Path) -> Result<TokenizerConfig> {
    let path = dir.join("tokenizer_config.json");
    if !path.is_file() {
        return Ok(TokenizerConfig::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Invalid {
        path,
        message: e.to_string(),
    })
}

/// `Tokenizer::from_file`, hardened: the `tokenizers` crate panics on some malformed files
/// (a truncated `decoder` hits an `expect("Helper")`; found by the `tokenizer_dir` fuzz
/// target), so the JSON is checked first, and a panic left in its parser becomes an error.
fn parse_tokenizer_json(path: &Path) -> Result<Tokenizer> {
    let invalid = |message: String| Error::Invalid { path: path.to_path_buf(), message };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| invalid(e.to_string()))?;
    match std::panic::catch_unwind(|| text.parse::<Tokenizer>()) {
        Ok(parsed) => parsed.map_err(|e| invalid(e.to_string())),
        Err(_) => Err(invalid("the tokenizers crate cannot read this tokenizer (it panicked)".into())),
    }
}

/// HF writes `model_max_length = 1e30` (VERY_LARGE_INTEGER) when a model has no limit.
fn sane_max_length(v: Option<f64>) -> Option<usize> {
    v.filter(|v| *v >= 1.0 && *v < 1e9).map(|v| v as usize)
}

impl BertTokenizer {
    /// Loads from an HF model directory: `tokenizer.json` if it exists, else `vocab.txt`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = read_config(dir)?;
        let json = dir.join("tokenizer.json");
        let vocab = dir.join("vocab.txt");
        let mut tok = if json.is_file() {
            Self::from_tokenizer_json_with(&json, &config)?
        } else if vocab.is_file() {
            Self::from_vocab_with(&vocab, &config)?
        } else {
            return Err(Error::NotFound {
                dir: dir.to_path_buf(),
            });
        };
        tok.model_max_length = sane_max_length(config.model_max_length);
        Ok(tok)
    }

    /// Loads a `tokenizer.json`. Padding and truncation baked into the file are cleared:
    /// only the options given to `encode` apply (HF applies per-call settings the same way).
    pub fn from_tokenizer_json(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_tokenizer_json_with(path.as_ref(), &TokenizerConfig::default())
    }

    fn from_tokenizer_json_with(path: &Path, config: &TokenizerConfig) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let mut inner = parse_tokenizer_json(path)?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| Error::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::wrap(inner, path, config)
    }

    /// Builds the BERT pipeline from a WordPiece `vocab.txt` with default options
    /// (lowercase, accents stripped with lowercase, Chinese characters split).
    pub fn from_vocab(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_vocab_with(path.as_ref(), &TokenizerConfig::default())
    }

    fn from_vocab_with(path: &Path, c: &TokenizerConfig) -> Result<Self> {
        let invalid = |message: String| Error::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let path_str = path.to_str().ok_or_else(|| invalid("path is not UTF-8".into()))?;
        if let Err(source) = std::fs::metadata(path) {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
        let model = WordPiece::from_file(path_str)
            .unk_token(c.unk_token.clone())
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let id = |token: &str| {
            tokenizers::Model::token_to_id(&model, token).ok_or_else(|| Error::MissingSpecialToken {
                path: path.to_path_buf(),
                token: token.to_string(),
            })
        };
        let sep = (c.sep_token.clone(), id(&c.sep_token)?);
        let cls = (c.cls_token.clone(), id(&c.cls_token)?);
        let mut inner = Tokenizer::new(model);
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                c.tokenize_chinese_chars,
                c.strip_accents,
                c.do_lower_case,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_post_processor(Some(BertProcessing::new(sep, cls)))
            .with_decoder(Some(WordPieceDecoder::default()));
        // As `PreTrainedTokenizerFast` does: special tokens written in the text are matched
        // whole (`"[CLS]"` → 101), never split into `[`, `cl`, `##s`, `]`.
        let specials: Vec<AddedToken> = [&c.unk_token, &c.sep_token, &c.pad_token, &c.cls_token, &c.mask_token]
            .into_iter()
            .filter(|t| inner.token_to_id(t).is_some())
            .map(|t| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(&specials);
        Self::wrap(inner, path, c)
    }

    fn wrap(inner: Tokenizer, path: &Path, c: &TokenizerConfig) -> Result<Self> {
        let id = |token: &str| {
            inner.token_to_id(token).ok_or_else(|| Error::MissingSpecialToken {
                path: path.to_path_buf(),
                token: token.to_string(),
            })
        };
        Ok(Self {
            cls_id: id(&c.cls_token)?,
            sep_id: id(&c.sep_token)?,
            pad_id: id(&c.pad_token)?,
            pad_token: c.pad_token.clone(),
            model_max_length: None,
            inner,
        })
    }
}
