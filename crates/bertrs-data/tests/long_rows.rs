//! Very long rows are cut before tokenizing (issue 14): the ids are exactly those of
//! truncating the whole text, for any mix of scripts, accents, punctuation, CJK, controls and
//! whitespace, single texts and pairs alike (checked against the tokenizer on the whole text).

use bertrs_data::{Encoder, Row};
use bertrs_tokenizer::{BertTokenizer, EncodeOptions, Input, Padding};
use proptest::prelude::*;

fn tokenizer() -> BertTokenizer {
    let dir = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    BertTokenizer::from_dir(dir).unwrap()
}

/// Pieces that stress the cut: what the normaliser removes or splits, long runs, scripts.
const PIECES: &[&str] = &[
    "a", "word", " ", "  ", "\t", "\n", ".", ",", "!", "é", "e\u{301}", "\u{345}", "\u{301}", "中", "文", "。", "—",
    "€", "\u{200b}", "\u{0}", "\u{7}", "🙂", "ß", "İ", "Ünïcödé", "Привет", "ｆｕｌｌ", "안녕", "ひら", "x1y2",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|p| p.concat())
}

fn whole(tok: &BertTokenizer, max_length: usize, text: &str, pair: Option<&str>) -> Vec<u32> {
    let p = tok.prepare(&EncodeOptions::default().max_length(max_length).padding(Padding::None)).unwrap();
    let input = Input { text, pair };
    p.encode_batch(&[input]).unwrap().input_ids[0].clone()
}

fn encoded(tok: &BertTokenizer, max_length: usize, text: &str, pair: Option<&str>) -> Vec<u32> {
    let row = Row { line: 1, text: text.to_string(), text_pair: pair.map(String::from), label: None, group: None, kept: Vec::new() };
    let set = Encoder::new(tok, max_length).unwrap().unlabelled(std::path::Path::new("rows"), [Ok(row)]).unwrap();
    set.ids(0).to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn a_cut_row_tokenizes_as_the_whole_row(a in text(), b in text(), max_length in 3usize..24, pair in any::<bool>()) {
        let tok = tokenizer();
        let pair = pair.then_some(b.as_str());
        prop_assert_eq!(encoded(&tok, max_length, &a, pair), whole(&tok, max_length, &a, pair));
    }
}

#[test]
fn a_huge_row_gives_the_ids_of_its_start() {
    let tok = tokenizer();
    let huge = "The film's pacing, oddly, works. ".repeat(200_000); // 6.6 MB
    let start = "The film's pacing, oddly, works. ".repeat(40);
    assert_eq!(encoded(&tok, 128, &huge, None), whole(&tok, 128, &start, None));
}
