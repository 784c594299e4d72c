//! Tokenization of `parity_sentences` (and edge cases) against HF `BertTokenizerFast`,
//! from `tokenizer.json` and from the `vocab.txt` pipeline, using the reference written by
//! `../shared/reference/parity_ref.py` (copied to `fixtures/minilm/`).

use bertrs_e2e::{fixtures, minilm_dir};
use bertrs_tokenizer::{BertTokenizer, EncodeOptions, Padding};
use serde_json::Value;

fn reference() -> Value {
    let path = fixtures().join("minilm/parity_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn check_examples(tok: &BertTokenizer, label: &str) {
    let r = reference();
    let opts = EncodeOptions::default().max_length(128).padding(Padding::None);
    let prepared = tok.prepare(&opts).unwrap();
    for ex in r["examples"].as_array().unwrap() {
        let text = ex["text"].as_str().unwrap();
        let enc = match ex["text_pair"].as_str() {
            Some(pair) => tok.encode_batch(&[(text, pair)], &opts),
            None => tok.encode_batch(&[text], &opts),
        }
        .unwrap();
        // One input on the calling thread (what `serve` uses) encodes as the batch call does.
        let one = match ex["text_pair"].as_str() {
            Some(pair) => prepared.encode((text, pair)),
            None => prepared.encode(text),
        }
        .unwrap();
        assert_eq!(one, enc, "{label}: Prepared::encode of {text:?}");
        assert_eq!(enc.input_ids[0], ids(&ex["input_ids"]), "{label}: ids of {text:?}");
        assert_eq!(enc.token_type_ids[0], ids(&ex["token_type_ids"]), "{label}: types of {text:?}");
        assert_eq!(enc.attention_mask[0], ids(&ex["attention_mask"]), "{label}: mask of {text:?}");
        let tokens: Vec<String> = ex["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
        assert_eq!(tok.ids_to_tokens(&enc.input_ids[0]), tokens, "{label}: tokens of {text:?}");
    }
    for ex in r["tokenizer_edge_cases"].as_array().unwrap() {
        let text = ex["text"].as_str().unwrap();
        let enc = tok.encode_batch(&[text], &opts).unwrap();
        assert_eq!(enc.input_ids[0], ids(&ex["input_ids"]), "{label}: edge case {text:?}");
    }
}

#[test]
fn tokenizer_json_matches_hf() {
    let tok = BertTokenizer::from_dir(minilm_dir()).unwrap();
    check_examples(&tok, "tokenizer.json");
}

/// The MiniLM tokenizer built from `vocab.txt` + `tokenizer_config.json` only (the
/// directory must outlive it: returned alongside).
fn vocab_txt_tokenizer() -> (BertTokenizer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(minilm_dir().join(f), dir.path().join(f)).unwrap();
    }
    (BertTokenizer::from_dir(dir.path()).unwrap(), dir)
}

#[test]
fn vocab_txt_pipeline_matches_hf() {
    let (tok, _dir) = vocab_txt_tokenizer();
    check_examples(&tok, "vocab.txt");
}

#[test]
fn padding_and_truncation_options() {
    let tok = BertTokenizer::from_dir(minilm_dir()).unwrap();
    let texts = ["a", "the quick brown fox jumps"];
    // Dynamic padding: to the longest row, mask 0 on padding.
    let b = tok.encode_batch(&texts, &EncodeOptions::default()).unwrap();
    assert_eq!(b.input_ids[0].len(), b.input_ids[1].len());
    assert_eq!(b.attention_mask[0], vec![1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(b.input_ids[0][3..], [tok.pad_id(); 4]);
    // pad_to_multiple_of rounds the padded length up.
    let opts = EncodeOptions { pad_to_multiple_of: Some(8), ..EncodeOptions::default() };
    assert_eq!(tok.encode_batch(&texts, &opts).unwrap().seq_len(), 8);
    // max_length padding.
    let opts = EncodeOptions::default().max_length(16).padding(Padding::MaxLength);
    assert!(tok.encode_batch(&texts, &opts).unwrap().input_ids.iter().all(|r| r.len() == 16));
    // Too small to hold the special tokens.
    let opts = EncodeOptions::default().max_length(2);
    assert!(tok.encode_batch(&texts, &opts).is_err());
}

#[test]
fn baked_in_padding_is_cleared() {
    // The MiniLM tokenizer.json pads to 128: loading must switch that off.
    let tok = BertTokenizer::from_dir(minilm_dir()).unwrap();
    let opts = EncodeOptions::default().padding(Padding::None);
    assert_eq!(tok.encode_batch(&["hi"], &opts).unwrap().input_ids[0].len(), 3);
}

#[test]
fn tokenizer_without_cls_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vocab.txt"), "[PAD]\n[UNK]\n[SEP]\nhello\n").unwrap();
    let e = BertTokenizer::from_dir(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("[CLS]") && msg.contains("vocab.txt"), "{msg}");
}

#[test]
fn corrupt_tokenizer_json_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{ not json").unwrap();
    let msg = BertTokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("tokenizer.json"), "{msg}");
    let empty = tempfile::tempdir().unwrap();
    let msg = BertTokenizer::from_dir(empty.path()).unwrap_err().to_string();
    assert!(msg.contains("no tokenizer.json or vocab.txt"), "{msg}");
}

/// Truncation of texts and pairs at small max lengths against `BertTokenizerFast`
/// (`fixtures/truncation/pairs.json`, `scripts/make_truncation_fixtures.py`): longest_first
/// takes tokens off the longer side, the odd one off the first text when both are equal,
/// keeps both [SEP]s; an empty second text in a batch is still a pair.
#[test]
fn truncation_matches_hf() {
    let path = fixtures().join("truncation/pairs.json");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for tok in [BertTokenizer::from_dir(minilm_dir()).unwrap(), vocab_txt_tokenizer().0] {
        for c in cases {
            let (text, max_length) = (c["text"].as_str().unwrap(), c["max_length"].as_u64().unwrap() as usize);
            let opts = EncodeOptions::default().max_length(max_length).padding(Padding::None);
            let enc = match c["text_pair"].as_str() {
                Some(pair) => tok.encode_batch(&[(text, pair)], &opts),
                None => tok.encode_batch(&[text], &opts),
            }
            .unwrap();
            let what = format!("{text:?} / {:?} at {max_length}", c["text_pair"]);
            assert_eq!(tok.ids_to_tokens(&enc.input_ids[0]), c["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect::<Vec<_>>(), "{what}");
            assert_eq!(enc.input_ids[0], ids(&c["input_ids"]), "{what}");
            assert_eq!(enc.token_type_ids[0], ids(&c["token_type_ids"]), "{what}");
        }
    }
}
