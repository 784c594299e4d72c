//! Parquet rows (the Apache Arrow implementation), read one row group at a time so memory
//! stays bounded by a row group, not the file.
//!
//! Each needed column of a record batch becomes JSON values and each row goes through the
//! JSON column rules (`row_from_json`), so a Parquet file reads exactly as the same data in
//! JSON Lines would: strings as they are, integers and floats keeping their spelling (a float
//! label column means regression), lists as multi-label targets.
//!
//! `datasets` stores its features in the file's `huggingface` key-value metadata; an integer
//! label column that is a `ClassLabel` there is read as its names, and the names' order is
//! the label map's (`RowReader::class_names`), as `run_glue.py` takes
//! `features["label"].names`.
//!
//! A row's `line` is its 1-based row number in the file; errors name the row group and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::column::page::{Page, PageReader};
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;
use serde_json::{Map, Value};

use super::columns::{Columns, Resolved, Row, resolve, row_from_json};
use super::parquet_pages;
use crate::{Error, Result};

/// Rows per record batch: small against a row group, large enough to amortise the decoding.
const BATCH_ROWS: usize = 1024;

/// A Parquet source that can be opened once per row group.
pub(super) trait Source: ChunkReader + Sized + 'static {
    fn reopen(&self) -> std::io::Result<Self>;
}

impl Source for std::fs::File {
    fn reopen(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
}

impl Source for bytes::Bytes {
    fn reopen(&self) -> std::io::Result<Self> {
        Ok(self.clone())
    }
}

pub(super) struct ParquetRows<S: Source> {
    path: PathBuf,
    source: S,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    /// The leaf columns read (for the dictionary check).
    leaves: Vec<usize>,
    cols: Columns,
    resolved: Option<Resolved>,
    /// The columns a row is built from, by name.
    wanted: Vec<String>,
    class_names: Option<Vec<String>>,
    label: Option<String>,
    next_group: usize,
    batches: Option<ParquetRecordBatchReader>,
    /// The current batch as JSON values, one column per `wanted` name.
    columns: Vec<Vec<Value>>,
    at: usize,
    /// Rows before the current batch (for the 1-based row numbers).
    row: u64,
    failed: bool,
}

impl<S: Source> ParquetRows<S> {
    pub(super) fn open(path: &Path, source: S, cols: &Columns) -> Result<Self> {
        let file_error = |message: String| Error::File { path: path.to_path_buf(), message };
        let meta = ArrowReaderMetadata::load(&source, ArrowReaderOptions::new())
            .map_err(|e| file_error(format!("not a readable Parquet file: {e}")))?;
        check_chunks(&meta, source.len()).map_err(file_error)?;
        let schema = meta.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let resolved = resolve(path, &names, cols)?;
        let mut wanted: Vec<String> = Vec::new();
        let needed = [Some(&resolved.text), resolved.pair.as_ref(), resolved.label.as_ref(), resolved.group.as_ref()];
        for name in needed.into_iter().flatten().chain(&cols.keep) {
            if !wanted.contains(name) {
                wanted.push(name.clone());
            }
        }
        let mut indices = Vec::new();
        for name in &wanted {
            let (i, field) = schema.column_with_name(name).ok_or_else(|| file_error(format!("no `{name}` column")))?;
            if !readable(field.data_type()) {
                return Err(file_error(format!("column `{name}` has type {}, which is not read (strings, numbers, booleans and lists of them are)", field.data_type())));
            }
            indices.push(i);
        }
        let class_names = resolved.label.as_deref().and_then(|l| class_label_names(&meta, l));
        let mask = ProjectionMask::roots(meta.parquet_schema(), indices.iter().copied());
        let schema = meta.parquet_schema();
        let leaves = (0..schema.num_columns()).filter(|&leaf| indices.contains(&schema.get_column_root_idx(leaf))).collect();
        Ok(Self {
            path: path.to_path_buf(),
            source,
            meta,
            mask,
            leaves,
            cols: cols.clone(),
            label: resolved.label.clone(),
            resolved: Some(resolved),
            wanted,
            class_names,
            next_group: 0,
            batches: None,
            columns: Vec::new(),
            at: 0,
            row: 0,
            failed: false,
        })
    }

    pub(super) fn class_names(&self) -> Option<Vec<String>> {
        self.class_names.clone()
    }

    pub(super) fn num_rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    fn group_error(&self, group: usize, column: Option<&str>, message: impl std::fmt::Display) -> Error {
        let column = column.map(|c| format!(", column `{c}`")).unwrap_or_default();
        Error::File { path: self.path.clone(), message: format!("row group {group}{column}: {message}") }
    }

    /// The next record batch as JSON columns; `false` at the end of the file.
    fn load_batch(&mut self) -> Result<bool> {
        loop {
            if let Some(batches) = &mut self.batches {
                let group = self.next_group - 1;
                // The decoder asserts on some corrupt pages; a panic there is this file's
                // error, not the program's end (the fuzz target finds and fixes each one).
                let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batches.next()))
                    .unwrap_or_else(|p| Some(Err(arrow_schema::ArrowError::ParquetError(format!("the Parquet decoder failed: {}", panic_text(&*p))))));
                match next {
                    Some(Ok(batch)) => {
                        self.row += self.columns.first().map_or(0, Vec::len) as u64;
                        self.columns = self.json_columns(group, &batch)?;
                        self.at = 0;
                        return Ok(true);
                    }
                    Some(Err(e)) => return Err(self.group_error(group, None, e)),
                    None => self.batches = None,
                }
            }
            let group = self.next_group;
            if group >= self.meta.metadata().num_row_groups() {
                return Ok(false);
            }
            self.next_group += 1;
            self.check_page_headers(group)?;
            self.check_dictionaries(group)?;
            let source = self.source.reopen().map_err(|source| Error::Read { path: self.path.clone(), source })?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(source, self.meta.clone())
                .with_row_groups(vec![group])
                .with_projection(self.mask.clone())
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| self.group_error(group, None, e))?;
            self.batches = Some(reader);
        }
    }

    /// Every page header of the row group's columns, walked with bounded work before the
    /// parquet crate parses them (`parquet_pages.rs`).
    fn check_page_headers(&self, group: usize) -> Result<()> {
        let row_group = self.meta.metadata().row_group(group);
        for &leaf in &self.leaves {
            let chunk = row_group.column(leaf);
            // `check_chunks` has placed the chunk inside the file.
            let (start, len) = chunk.byte_range();
            let open = |at| self.source.get_read(at).map_err(std::io::Error::other);
            parquet_pages::check_chunk(open, start, len).map_err(|bad| {
                let message = format!("the page header at byte {}: {} (a corrupt file)", bad.offset, bad.message);
                self.group_error(group, Some(&chunk.column_path().string()), message)
            })?;
        }
        Ok(())
    }

    /// A dictionary page's value count against its bytes: every value takes at least a bit
    /// (booleans), so more values than bits is a lie. The parquet crate allocates the whole
    /// count before it decodes (8 GB from a 1 KB file; the `parquet_rows` fuzz target), so
    /// each dictionary of the row group's columns is checked first.
    fn check_dictionaries(&self, group: usize) -> Result<()> {
        let row_group = self.meta.metadata().row_group(group);
        for &leaf in &self.leaves {
            let chunk = row_group.column(leaf);
            if chunk.dictionary_page_offset().is_none() {
                continue;
            }
            let column = chunk.column_path().string();
            let source = self.source.reopen().map_err(|source| Error::Read { path: self.path.clone(), source })?;
            let mut pages = SerializedPageReader::new(Arc::new(source), chunk, row_group.num_rows().max(0) as usize, None)
                .map_err(|e| self.group_error(group, Some(&column), e))?;
            if let Some(Page::DictionaryPage { buf, num_values, .. }) = pages.get_next_page().map_err(|e| self.group_error(group, Some(&column), e))? {
                if u64::from(num_values) > 8 * buf.len() as u64 + 8 {
                    return Err(self.group_error(group, Some(&column), format!("its dictionary claims {num_values} values in {} bytes (a corrupt file)", buf.len())));
                }
            }
        }
        Ok(())
    }

    fn json_columns(&self, group: usize, batch: &RecordBatch) -> Result<Vec<Vec<Value>>> {
        self.wanted
            .iter()
            .map(|name| {
                let array = batch.column_by_name(name).ok_or_else(|| self.group_error(group, Some(name), "missing from the row group"))?;
                let mut values = json_values(array.as_ref()).map_err(|m| self.group_error(group, Some(name), m))?;
                if let (Some(names), true) = (&self.class_names, self.label.as_deref() == Some(name.as_str())) {
                    values.iter_mut().for_each(|v| name_classes(v, names));
                }
                Ok(values)
            })
            .collect()
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        while self.at >= self.columns.first().map_or(0, Vec::len) {
            if !self.load_batch()? {
                return Ok(None);
            }
        }
        let i = self.at;
        self.at += 1;
        let mut obj = Map::with_capacity(self.wanted.len());
        for (name, column) in self.wanted.iter().zip(&mut self.columns) {
            obj.insert(name.clone(), std::mem::take(&mut column[i]));
        }
        let line = self.row + i as u64 + 1;
        let group = self.next_group - 1;
        row_from_json(&self.path, line, &Value::Object(obj), &self.cols, &mut self.resolved).map(Some).map_err(|e| match e {
            // The row is `line`; its row group is said too.
            Error::At { path, line, message } => Error::At { path, line, message: format!("row group {group}: {message}") },
            e => e,
        })
    }
}

impl<S: Source> Iterator for ParquetRows<S> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if self.failed {
            return None;
        }
        let row = self.next_row().transpose();
        self.failed = matches!(row, Some(Err(_)));
        row
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into())
}

/// Every column chunk the footer lists lies inside the file. The parquet crate asserts this
/// (a panic) when it reaches the chunk; a corrupt or hostile footer is an error here instead,
/// naming the row group and column (found by the `parquet_rows` fuzz target).
fn check_chunks(meta: &ArrowReaderMetadata, file_len: u64) -> Result<(), String> {
    for (g, group) in meta.metadata().row_groups().iter().enumerate() {
        for chunk in group.columns() {
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let (data, len) = (chunk.data_page_offset(), chunk.compressed_size());
            let inside = start >= 0 && data >= 0 && len >= 0 && (start as u64).checked_add(len as u64).is_some_and(|end| end <= file_len);
            if !inside {
                return Err(format!(
                    "row group {g}, column `{}`: the footer places its data at bytes {start}..{}, outside the file's {file_len} bytes (a corrupt file)",
                    chunk.column_path().string(),
                    start.saturating_add(len)
                ));
            }
        }
    }
    Ok(())
}

/// Whether `json_values` reads a column of this type.
fn readable(t: &DataType) -> bool {
    match t {
        DataType::Null | DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        t if t.is_integer() || t.is_floating() => true,
        DataType::Dictionary(_, v) => readable(v),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => readable(f.data_type()),
        _ => false,
    }
}

/// A column as JSON values: what a JSON Lines file of the same data would hold.
fn json_values(array: &dyn Array) -> Result<Vec<Value>, String> {
    let n = array.len();
    let each = |f: &dyn Fn(usize) -> Value| (0..n).map(|i| if array.is_null(i) { Value::Null } else { f(i) }).collect();
    macro_rules! numbers {
        ($t:ty, $to:expr) => {{
            let a = array.as_primitive::<$t>();
            Ok(each(&|i| $to(a.value(i))))
        }};
    }
    match array.data_type() {
        DataType::Null => Ok(vec![Value::Null; n]),
        DataType::Boolean => {
            let a = array.as_boolean();
            Ok(each(&|i| Value::Bool(a.value(i))))
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Ok(each(&|i| Value::String(a.value(i).to_owned())))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Ok(each(&|i| Value::String(a.value(i).to_owned())))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Ok(each(&|i| Value::String(a.value(i).to_owned())))
        }
        DataType::Int8 => numbers!(Int8Type, Value::from),
        DataType::Int16 => numbers!(Int16Type, Value::from),
        DataType::Int32 => numbers!(Int32Type, Value::from),
        DataType::Int64 => numbers!(Int64Type, Value::from),
        DataType::UInt8 => numbers!(UInt8Type, Value::from),
        DataType::UInt16 => numbers!(UInt16Type, Value::from),
        DataType::UInt32 => numbers!(UInt32Type, Value::from),
        DataType::UInt64 => numbers!(UInt64Type, Value::from),
        DataType::Float16 => numbers!(Float16Type, |v: <Float16Type as ArrowPrimitiveType>::Native| float(v.to_f32())),
        DataType::Float32 => numbers!(Float32Type, float),
        DataType::Float64 => numbers!(Float64Type, |v: f64| serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)),
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            let values = json_values(d.values().as_ref())?;
            let keys = d.normalized_keys();
            Ok(each(&|i| values.get(keys[i]).cloned().unwrap_or(Value::Null)))
        }
        DataType::List(_) => lists(array, |i| array.as_list::<i32>().value(i)),
        DataType::LargeList(_) => lists(array, |i| array.as_list::<i64>().value(i)),
        DataType::FixedSizeList(_, _) => lists(array, |i| array.as_fixed_size_list().value(i)),
        t => Err(format!("type {t} is not read")),
    }
}

fn lists(array: &dyn Array, item: impl Fn(usize) -> ArrayRef) -> Result<Vec<Value>, String> {
    (0..array.len())
        .map(|i| if array.is_null(i) { Ok(Value::Null) } else { json_values(item(i).as_ref()).map(Value::Array) })
        .collect()
}

/// An f32 as the decimal it prints as (`0.1`, not `0.10000000149011612`), as `datasets`'
/// `to_json` writes it; a float stays a float (`1.0`), which makes a label column regression.
fn float(v: f32) -> Value {
    let as_f64 = format!("{v}").parse::<f64>().unwrap_or(f64::NAN);
    serde_json::Number::from_f64(as_f64).map_or(Value::Null, Value::Number)
}

/// A `ClassLabel` id as its name; ids outside the names (HF's `-1` for "no label") stay
/// numbers, so training reports them as unknown labels with their row.
fn name_classes(v: &mut Value, names: &[String]) {
    match v {
        Value::Number(n) => {
            if let Some(name) = n.as_u64().and_then(|i| names.get(i as usize)) {
                *v = Value::String(name.clone());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| name_classes(v, names)),
        _ => {}
    }
}

/// The names of `column`'s `ClassLabel` in the `huggingface` metadata `datasets` writes:
/// `{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}`, or the
/// same inside a `Sequence`/`List` feature (multi-label).
fn class_label_names(meta: &ArrowReaderMetadata, column: &str) -> Option<Vec<String>> {
    let kv = meta.metadata().file_metadata().key_value_metadata()?;
    let json = kv.iter().find(|kv| kv.key == "huggingface")?.value.as_deref()?;
    let info: Value = serde_json::from_str(json).ok()?;
    let mut feature = info.get("info")?.get("features")?.get(column)?;
    if let Some(inner) = feature.get("feature") {
        feature = inner;
    }
    if feature.get("_type")?.as_str()? != "ClassLabel" {
        return None;
    }
    feature.get("names")?.as_array()?.iter().map(|n| n.as_str().map(String::from)).collect()
}
