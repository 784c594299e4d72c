//! Helpers shared by the CLI tests.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bertrs-cli")).args(args).output().expect("run bertrs-cli")
}

pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "{what}: got {got:?}, want {want:?}");
    }
}

/// Rewrites the f32 values of `key` in a safetensors file: value `i` becomes `f(i, old)`.
pub fn edit_f32s(file: &Path, key: &str, f: impl Fn(usize, f32) -> f32) {
    let mut bytes = std::fs::read(file).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let offsets = &header[key]["data_offsets"];
    assert_eq!(header[key]["dtype"], "F32", "{key}");
    let (a, b) = (offsets[0].as_u64().unwrap() as usize, offsets[1].as_u64().unwrap() as usize);
    for (i, chunk) in bytes[8 + n + a..8 + n + b].chunks_mut(4).enumerate() {
        let old = f32::from_le_bytes(chunk.try_into().unwrap());
        chunk.copy_from_slice(&f(i, old).to_le_bytes());
    }
    std::fs::write(file, bytes).unwrap();
}

/// A copy of a model directory's files in `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A `datasets`-style Parquet split: `id`, `text`, and a ClassLabel `label` whose names
/// (`pos`, `neg`) are not in sorted order; three rows a row group.
pub fn write_split(path: &Path, ids: std::ops::Range<usize>) {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    const WORDS: [&str; 8] = ["good", "bad", "funny", "sad", "film", "plot", "boring", "fun"];
    let text = |i: usize| (0..4).map(|k| WORDS[(i * 5 + k * 3 + i / 2) % WORDS.len()]).collect::<Vec<_>>().join(" ");
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from_iter_values(ids.clone().map(|i| i as i64))) as ArrayRef),
        ("text", Arc::new(StringArray::from_iter_values(ids.clone().map(text))) as ArrayRef),
        ("label", Arc::new(Int64Array::from_iter_values(ids.map(|i| (i % 2) as i64))) as ArrayRef),
    ])
    .unwrap();
    let features = r#"{"info": {"features": {"id": {"dtype": "int64", "_type": "Value"}, "text": {"dtype": "string", "_type": "Value"}, "label": {"names": ["pos", "neg"], "_type": "ClassLabel"}}}}"#;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(3))
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new("huggingface".into(), features.to_string())]))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}
