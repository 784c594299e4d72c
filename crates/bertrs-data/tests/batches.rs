//! Tokenize-once storage and batches, on the real Rotten Tomatoes file with the real
//! all-MiniLM-L6-v2 tokenizer, checked against the tokenizer's own padded encoding; and the
//! three label kinds read from files, with their errors.

use std::path::Path;

use bertrs_data::{BatchTargets, Columns, Encoder, LabelMap, LabelOptions, ProblemType, Target, open_rows};
use bertrs_tokenizer::{BertTokenizer, EncodeOptions};
use burn::tensor::{Device, Int, Tensor};

fn tokenizer() -> BertTokenizer {
    let dir = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    BertTokenizer::from_dir(dir).unwrap()
}

fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data().try_into_vec_as::<i64>().unwrap()
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

#[test]
fn real_rotten_tomatoes_batches_equal_the_tokenizers_padding() {
    let tok = tokenizer();
    let rt = bertrs_data::rotten_tomatoes::load().unwrap();
    let map = bertrs_data::rotten_tomatoes::label_map();
    let set = Encoder::new(&tok, 128)
        .unwrap()
        .labelled(Path::new("rotten-tomatoes/train"), bertrs_data::rotten_tomatoes::rows(&rt.train), &map, &LabelOptions::default())
        .unwrap();
    assert_eq!(set.len(), 10_451);
    assert_eq!(set.classes().unwrap().iter().filter(|&&c| c == 1).count(), rt.train.iter().filter(|s| s.label == 1).count());
    assert_eq!(set.groups().unwrap()[7], rt.train[7].movie);
    let device = Device::flex();
    // Batches from the start, the middle and the end, in a shuffled order.
    for indices in [vec![0, 1, 2, 3], vec![5000, 17, 10_450, 999, 4242, 3], (100..132).rev().collect()] {
        let batch = set.batch(&indices, &device).unwrap();
        let texts: Vec<&str> = indices.iter().map(|&i| rt.train[i].text.as_str()).collect();
        let want = tok.encode_batch(&texts, &EncodeOptions::default().max_length(128)).unwrap();
        let (b, s, [ids, mask, types]) = want.to_padded_i64(tok.pad_id());
        assert_eq!(batch.input.input_ids.dims(), [b, s]);
        assert_eq!(ints(batch.input.input_ids), ids);
        assert_eq!(ints(batch.input.attention_mask), mask);
        assert_eq!(ints(batch.input.token_type_ids), types);
        let Some(BatchTargets::Class(y)) = batch.targets else { panic!("single-label targets") };
        assert_eq!(ints(y), indices.iter().map(|&i| rt.train[i].label as i64).collect::<Vec<_>>());
    }
    // Padded to a multiple of 8: the extra columns are padding.
    let set8 = set.clone().with_pad_to_multiple_of(Some(8));
    let longest = [1, 2, 3].iter().map(|&i| set.length(i)).max().unwrap();
    let batch = set8.batch(&[1, 2, 3], &device).unwrap();
    assert_eq!(batch.input.input_ids.dims(), [3, longest.div_ceil(8) * 8]);
    assert_eq!(ints(batch.input.attention_mask).iter().sum::<i64>() as usize, (1..4).map(|i| set.length(i)).sum::<usize>());
    // A selection keeps ids, targets and groups of the rows it picks.
    let sub = set.select(&[10, 3]);
    assert_eq!((sub.ids(0), sub.target(1)), (set.ids(10), set.target(3)));
    assert_eq!(sub.groups().unwrap(), [rt.train[10].movie.as_str(), rt.train[3].movie.as_str()]);
    let stats = set.describe("train", Some(&map), 128);
    assert!(stats.starts_with("train: 10451 examples (rotten "), "{stats}");
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn encode_training(tok: &BertTokenizer, path: &Path, opts: &LabelOptions) -> bertrs_data::Result<(bertrs_data::Encoded, LabelMap)> {
    let rows = open_rows(path, &Columns { require_label: true, ..Columns::default() })?;
    Encoder::new(tok, 32).unwrap().training(path, rows, opts)
}

#[test]
fn pairs_multi_label_and_regression_from_files() {
    let tok = tokenizer();
    let d = tempfile::tempdir().unwrap();
    let device = Device::flex();
    // Pairs: token type 1 from the second segment on.
    let p = write(d.path(), "pairs.tsv", "sentence1\tsentence2\tlabel\nA man sleeps.\tSomeone rests.\tyes\nIt rains.\tThe sun shines.\tno\n");
    let (set, map) = encode_training(&tok, &p, &LabelOptions::default()).unwrap();
    assert_eq!((map.problem_type, map.names.clone()), (ProblemType::SingleLabelClassification, vec!["no".to_string(), "yes".into()]));
    let want = tok.encode_batch(&[("A man sleeps.", "Someone rests."), ("It rains.", "The sun shines.")].map(|(a, b)| bertrs_tokenizer::Input { text: a, pair: Some(b) }), &EncodeOptions::default().max_length(32)).unwrap();
    let batch = set.batch(&[0, 1], &device).unwrap();
    assert_eq!(ints(batch.input.token_type_ids), want.to_padded_i64(tok.pad_id()).2[2]);

    // Multi-label from JSON lists: multi-hot targets over the sorted union.
    let p = write(d.path(), "tags.jsonl", "{\"text\": \"funny and sad\", \"label\": [\"sad\", \"funny\"]}\n{\"text\": \"nothing\", \"label\": []}\n{\"text\": \"scary\", \"label\": [\"scary\"]}\n");
    let (set, map) = encode_training(&tok, &p, &LabelOptions::default()).unwrap();
    assert_eq!((map.problem_type, map.names.clone()), (ProblemType::MultiLabelClassification, vec!["funny".to_string(), "sad".into(), "scary".into()]));
    let Some(BatchTargets::MultiHot(y)) = set.batch(&[0, 1, 2], &device).unwrap().targets else { panic!("multi-hot") };
    assert_eq!(floats(y), [1., 1., 0., 0., 0., 0., 0., 0., 1.]);
    // … and from a delimited CSV cell.
    let p = write(d.path(), "tags.csv", "text,label\nfunny and sad,\"sad|funny\"\nscary,scary\n");
    let opts = LabelOptions { delimiter: Some("|".into()), ..LabelOptions::default() };
    let (set, _) = encode_training(&tok, &p, &opts).unwrap();
    assert_eq!(set.target(0), Some(Target::Labels(vec![0, 1])));

    // Regression: a float among the labels.
    let p = write(d.path(), "scores.csv", "text,label\ngreat,4.5\nbad,1\nfine,3\n");
    let (set, map) = encode_training(&tok, &p, &LabelOptions::default()).unwrap();
    assert_eq!((map.problem_type, map.num_labels()), (ProblemType::Regression, 1));
    let Some(BatchTargets::Value(y)) = set.batch(&[2, 0], &device).unwrap().targets else { panic!("values") };
    assert_eq!(floats(y), [3.0, 4.5]);
}

#[test]
fn label_errors_name_the_row() {
    let tok = tokenizer();
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("a.csv", "text,label\ngood,pos\n,neg\n", LabelOptions::default(), "a.csv:3: empty text"),
        ("b.csv", "text,label\ngood,pos\nmeh,neg\nbad,\n", LabelOptions::default(), "b.csv:4: empty label"),
        ("c.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n", LabelOptions::default(), "c.jsonl:2: no label"),
        ("d.csv", "text,label\ngood,4.5\nbad,low\n", LabelOptions { problem_type: Some(ProblemType::Regression), ..LabelOptions::default() }, "d.csv:3: label `low` is not a number"),
        ("e.csv", "text,label\ngood,pos\nbad,pos\n", LabelOptions::default(), "e.csv: labels: 1 distinct label"),
        ("f.jsonl", "{\"text\": \"a\", \"label\": [\"x\"]}\n", LabelOptions { problem_type: Some(ProblemType::SingleLabelClassification), ..LabelOptions::default() }, "is a list"),
    ];
    for (name, body, opts, want) in cases {
        let p = write(d.path(), name, body);
        let e = encode_training(&tok, &p, &opts).unwrap_err().to_string();
        assert!(e.contains(want), "{name}: {e}");
    }
    // A validation label the training split never had names its first row.
    let map = LabelMap::new(ProblemType::SingleLabelClassification, vec!["neg".into(), "pos".into()]);
    let p = write(d.path(), "dev.csv", "text,label\nok,pos\nmeh,neutral\nugh,neutral\n");
    let rows = open_rows(&p, &Columns::default()).unwrap();
    let e = Encoder::new(&tok, 32).unwrap().labelled(&p, rows, &map, &LabelOptions::default()).unwrap_err().to_string();
    assert!(e.contains("dev.csv:3: label `neutral` is not among the labels"), "{e}");
}
