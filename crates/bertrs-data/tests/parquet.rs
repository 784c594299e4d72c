//! Parquet files read with the same column rules as the other formats: text columns of every
//! string layout, labels of every kind, `datasets`' ClassLabel names, several row groups, and
//! errors that name the file, the row group and the column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field};
use bertrs_data::{Columns, LabelOptions, ProblemType, RawLabel, open_rows, read_rows};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

fn write(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>, rows_per_group: usize, hf_features: Option<&str>) -> PathBuf {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .set_key_value_metadata(hf_features.map(|f| vec![KeyValue::new("huggingface".into(), format!("{{\"info\": {{\"features\": {f}}}}}"))]))
        .build();
    let path = dir.join(name);
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn one(s: &str) -> Option<RawLabel> {
    Some(RawLabel::One(s.into()))
}

#[test]
fn string_layouts_and_class_label_names_across_row_groups() {
    let d = tempfile::tempdir().unwrap();
    let texts = ["a fine film", "dull", "moving", "too long", "a gem"];
    let dict: DictionaryArray<Int32Type> = texts.iter().copied().collect();
    // ClassLabel names in an order that sorting would change.
    let features = r#"{"label": {"names": ["pos", "neg"], "_type": "ClassLabel"}, "text": {"dtype": "string", "_type": "Value"}}"#;
    let label: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 0, 1, 0]));
    for (name, text) in [
        ("utf8.parquet", strings(&texts)),
        ("large.parquet", Arc::new(LargeStringArray::from(texts.to_vec())) as ArrayRef),
        ("dict.parquet", Arc::new(dict) as ArrayRef),
    ] {
        // Two rows a row group: three groups.
        let p = write(d.path(), name, vec![("text", text), ("label", label.clone())], 2, Some(features));
        let reader = open_rows(&p, &Columns { require_label: true, ..Columns::default() }).unwrap();
        assert_eq!(reader.class_names(), Some(&["pos".to_string(), "neg".to_string()][..]), "{name}");
        assert_eq!(reader.num_rows(), Some(5));
        let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(), texts, "{name}");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "{name}");
        assert_eq!(rows[1].label, one("neg"), "{name}");
    }
    // The declared names are the map, in their order.
    let opts = LabelOptions { class_names: Some(vec!["pos".into(), "neg".into()]), ..LabelOptions::default() };
    let map = opts.label_map(&[RawLabel::One("neg".into()), RawLabel::One("pos".into())]).unwrap();
    assert_eq!(map.names, ["pos", "neg"]);
}

#[test]
fn label_kinds_read_as_the_json_rules_read_them() {
    let d = tempfile::tempdir().unwrap();
    let mut lists = ListBuilder::new(StringBuilder::new());
    for set in [&["comedy", "drama"][..], &[], &["drama"]] {
        for s in set {
            lists.values().append_value(s);
        }
        lists.append(true);
    }
    let p = write(
        d.path(),
        "kinds.parquet",
        vec![
            ("sentence1", strings(&["a", "b", "c"])),
            ("sentence2", strings(&["x", "y", "z"])),
            ("genres", Arc::new(lists.finish()) as ArrayRef),
            ("score", Arc::new(Float32Array::from(vec![0.1, 1.0, 4.5])) as ArrayRef),
            ("id", Arc::new(Int64Array::from(vec![7, 8, 9])) as ArrayRef),
        ],
        10,
        None,
    );
    let cols = |label: &str| Columns { label: label.into(), require_label: true, keep: vec!["id".into()], ..Columns::default() };
    let rows = read_rows(&p, &cols("genres")).unwrap();
    assert_eq!((rows[0].text.as_str(), rows[0].text_pair.as_deref()), ("a", Some("x")));
    assert_eq!(rows[0].label, Some(RawLabel::Many(vec!["comedy".into(), "drama".into()])));
    assert_eq!(rows[1].label, Some(RawLabel::Many(vec![])));
    assert_eq!(rows[2].kept, [serde_json::json!(9)]);
    // f32 labels keep their decimal spelling, and a float column is regression.
    let rows = read_rows(&p, &cols("score")).unwrap();
    assert_eq!(rows.iter().map(|r| r.label.clone()).collect::<Vec<_>>(), [one("0.1"), one("1.0"), one("4.5")]);
    let labels: Vec<RawLabel> = rows.into_iter().filter_map(|r| r.label).collect();
    assert_eq!(LabelOptions::default().label_map(&labels).unwrap().problem_type, ProblemType::Regression);
    let labels: Vec<RawLabel> = read_rows(&p, &cols("genres")).unwrap().into_iter().filter_map(|r| r.label).collect();
    assert_eq!(LabelOptions::default().label_map(&labels).unwrap().problem_type, ProblemType::MultiLabelClassification);
}

#[test]
fn bad_files_name_the_file_the_row_group_and_the_column() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "nolabel.parquet", vec![("text", strings(&["a"]))], 10, None);
    let e = read_rows(&p, &Columns { require_label: true, ..Columns::default() }).unwrap_err().to_string();
    assert!(e.contains("nolabel.parquet") && e.contains("no `label` label column"), "{e}");
    // A column of a type that is not text, a number or a list.
    let nested: ArrayRef = Arc::new(StructArray::from(vec![(Arc::new(Field::new("x", DataType::Int64, false)), Arc::new(Int64Array::from(vec![1])) as ArrayRef)]));
    let p = write(d.path(), "struct.parquet", vec![("text", strings(&["a"])), ("label", nested)], 10, None);
    let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("struct.parquet") && e.contains("column `label` has type Struct"), "{e}");
    // A null text in the third row group names the row.
    let texts: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("c"), Some("d"), None]));
    let p = write(d.path(), "null.parquet", vec![("text", texts), ("label", Arc::new(Int64Array::from(vec![0, 1, 0, 1, 0])) as ArrayRef)], 2, None);
    let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("null.parquet:5: row group 2: no `text` field"), "{e}");
    // Not Parquet at all, and a file cut short (its footer gone).
    let fake = d.path().join("fake.parquet");
    std::fs::write(&fake, b"text,label\na,1\n").unwrap();
    let e = read_rows(&fake, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("fake.parquet") && e.contains("not a readable Parquet file"), "{e}");
    let whole = std::fs::read(d.path().join("null.parquet")).unwrap();
    std::fs::write(&fake, &whole[..whole.len() - 20]).unwrap();
    let e = read_rows(&fake, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("fake.parquet") && e.contains("not a readable Parquet file"), "{e}");
    // Corrupt column data inside a row group: the footer is fine, a page is not.
    let p = write(d.path(), "pages.parquet", vec![("text", strings(&["some text here", "more text", "and more"])), ("label", Arc::new(Int64Array::from(vec![0, 1, 0])) as ArrayRef)], 10, None);
    let mut bytes = std::fs::read(&p).unwrap();
    for b in &mut bytes[4..40] {
        *b = 0xff;
    }
    std::fs::write(&p, &bytes).unwrap();
    let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("pages.parquet") && e.contains("row group 0"), "{e}");
}

/// Files pyarrow wrote (the fuzz seeds of `scripts/make_fuzz_seeds.py`): a `datasets`
/// ClassLabel in the schema metadata, zstd row groups of two rows with list labels and a
/// missing pair, and dictionary-encoded text with gzip pages.
#[test]
fn files_written_by_pyarrow_read_the_same() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parquet_rows");
    let open = |name: &str, cols: &Columns| {
        let path = seeds.join(name);
        let bytes = std::fs::read(&path).unwrap();
        bertrs_data::rows_from_reader(&path, Box::new(std::io::Cursor::new(bytes)), bertrs_data::Format::Parquet, bertrs_data::Compression::None, cols).unwrap()
    };
    let reader = open("classlabel", &Columns::default());
    assert_eq!(reader.class_names(), Some(&["pos".to_string(), "neg".to_string()][..]));
    let rows: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.iter().map(|r| (r.text.as_str(), r.label.clone())).collect::<Vec<_>>(), [("good film", one("pos")), ("bad, dull", one("neg")), ("fine", one("pos"))]);
    let rows: Vec<_> = open("lists_zstd", &Columns::default()).collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.iter().map(|r| r.text_pair.as_deref()).collect::<Vec<_>>(), [Some("w"), None, Some("y"), Some("z")]);
    assert_eq!(rows[2].label, Some(RawLabel::Many(vec!["x".into(), "y".into()])));
    assert_eq!((rows[3].line, rows[3].label.clone()), (4, None));
    let rows: Vec<_> = open("lists_zstd", &Columns { label: "score".into(), ..Columns::default() }).collect::<Result<_, _>>().unwrap();
    assert_eq!(rows[0].label, one("0.5"));
    let rows: Vec<_> = open("dict_gzip", &Columns::default()).collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.iter().map(|r| (r.text.as_str(), r.label.clone())).collect::<Vec<_>>(), [("same", one("1.5")), ("other", one("2.0")), ("same", one("-1.0"))]);
}

/// Corrupt files the fuzzer found: a footer that places a column outside the file, a
/// dictionary-encoded page without its dictionary (the parquet crate's decoder panics on it;
/// the panic becomes this file's error), a 1 KB file whose dictionary claims billions of
/// values (the decoder would allocate gigabytes for them; its next page header is corrupt
/// too, and the page-header walk now stops it first), and a 1 KB file whose page header has
/// a field that claims 2^31 elements (the parquet crate's skipper took 40 s over it).
#[test]
fn corrupt_files_the_fuzzer_found_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/parquet_rows");
    let cases = [("negative_column_offset", "outside the file"), ("dictionary_page_missing", "row group"), ("dictionary_bomb", "row group 0"), ("page_header_skip_bomb", "the page header at byte")];
    for (name, needle) in cases {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap();
        let cols = Columns::default();
        let result = bertrs_data::rows_from_reader(&path, Box::new(std::io::Cursor::new(bytes)), bertrs_data::Format::Parquet, bertrs_data::Compression::None, &cols)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        let e = result.expect_err(name).to_string();
        assert!(e.contains(name) && e.contains(needle), "{name}: {e}");
    }
}

/// A dictionary page that claims more values than its bytes can hold (the check that stopped
/// `dictionary_bomb` before the page-header walk existed): a label column of one int32 value
/// has a 4-byte dictionary; its header's value count is patched from 1 to 63 (zig-zag 0x02 →
/// 0x7e, the same length), more than the 8 · 4 + 8 values 4 bytes can hold.
#[test]
fn a_dictionary_that_claims_more_values_than_its_bytes_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let labels: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![1; 5]));
    let p = write(d.path(), "dict.parquet", vec![("text", strings(&["a", "b", "c", "d", "e"])), ("label", labels)], 10, None);
    let mut bytes = std::fs::read(&p).unwrap();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(&reader);
    let at = meta.row_group(0).column(1).dictionary_page_offset().expect("the label column is dictionary-encoded") as usize;
    // type 2 (dictionary), two sizes, field 7 (the dictionary header), its field 1: num_values.
    let header = &bytes[at..at + 10];
    let num_values = header.iter().position(|&b| b == 0x4c).expect("a dictionary page header") + 2;
    assert_eq!((header[num_values - 1], header[num_values]), (0x15, 0x02), "{header:02x?}");
    bytes[at + num_values] = 0x7e;
    std::fs::write(&p, &bytes).unwrap();
    let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
    assert!(e.contains("dict.parquet") && e.contains("row group 0, column `label`: its dictionary claims 63 values in 4 bytes"), "{e}");
}
