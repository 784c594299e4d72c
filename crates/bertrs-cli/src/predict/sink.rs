//! Where predictions go, a window at a time, durable after each window so a killed run can
//! resume, and complete at the output path only at the end.
//!
//! - JSON Lines: appended to `OUTPUT.partial`; the state records its length after each
//!   window, and a resume cuts off whatever a killed window had written after it.
//! - Parquet: each window is a finished file `OUTPUT.parts/NNNNNN.parquet` (written
//!   atomically); the end joins them, one row group a window, into `OUTPUT`. A Parquet
//!   file is only readable once its footer is written, so it cannot be appended to.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bertrs_model::ProblemType;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::scores::{Prediction, Scored};
use super::state::Paths;

pub trait Sink {
    /// Writes window `index`'s rows, in input order.
    fn write_window(&mut self, index: u64, rows: &[Prediction]) -> Result<()>;
    /// Makes everything written so far durable; the position to record.
    fn checkpoint(&mut self) -> Result<u64>;
    /// Puts the complete output in place and removes the work files.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The output format, from the output's extension.
pub fn is_parquet(output: &Path) -> bool {
    output.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

pub struct Jsonl {
    paths: Paths,
    kept: Vec<String>,
    file: BufWriter<File>,
    bytes: u64,
    line: Vec<u8>,
}

impl Jsonl {
    /// A new partial file, or the existing one cut back to `resume_at` bytes.
    pub fn open(paths: &Paths, kept: &[String], resume_at: Option<u64>) -> Result<Box<dyn Sink>> {
        let path = &paths.partial;
        let (file, bytes) = match resume_at {
            None => {
                // A new file, never one reached through a link planted at its name.
                remove_old(path)?;
                let f = OpenOptions::new().write(true).create_new(true).open(path).with_context(|| format!("cannot write {}", path.display()))?;
                (f, 0)
            }
            Some(at) => {
                refuse_link(path)?;
                let mut f = OpenOptions::new().write(true).open(path).with_context(|| format!("cannot resume: cannot open {}", path.display()))?;
                let len = f.metadata()?.len();
                if len < at {
                    bail!("cannot resume: {} holds {len} bytes, fewer than the {at} its state records; run without --resume", path.display());
                }
                f.set_len(at)?;
                f.seek(SeekFrom::End(0))?;
                (f, at)
            }
        };
        Ok(Box::new(Self { paths: paths.clone(), kept: kept.to_vec(), file: BufWriter::with_capacity(1 << 16, file), bytes, line: Vec::new() }))
    }
}

impl Sink for Jsonl {
    fn write_window(&mut self, _index: u64, rows: &[Prediction]) -> Result<()> {
        for p in rows {
            self.line.clear();
            serde_json::to_writer(&mut self.line, &p.to_json(&self.kept))?;
            self.line.push(b'\n');
            self.file.write_all(&self.line).with_context(|| format!("cannot write {}", self.paths.partial.display()))?;
            self.bytes += self.line.len() as u64;
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<u64> {
        self.file.flush().with_context(|| format!("cannot write {}", self.paths.partial.display()))?;
        self.file.get_ref().sync_data()?;
        Ok(self.bytes)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.checkpoint()?;
        bertrs_fs::fault::point("synced");
        // The rename replaces a link at the output itself, never the file it points to.
        std::fs::rename(&self.paths.partial, &self.paths.output).with_context(|| format!("cannot write {}", self.paths.output.display()))?;
        bertrs_fs::fault::point("renamed");
        if let Some(dir) = self.paths.output.parent() {
            bertrs_fs::sync_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
        }
        Ok(())
    }
}

pub struct Parquet {
    paths: Paths,
    schema: SchemaRef,
    problem: ProblemType,
    windows: u64,
}

impl Parquet {
    /// A new parts directory, or the existing one holding `resume_windows` parts.
    pub fn open(paths: &Paths, problem: ProblemType, kept: &[String], resume_windows: Option<u64>) -> Result<Box<dyn Sink>> {
        let dir = &paths.parts;
        let windows = match resume_windows {
            None => {
                remove_old(dir)?;
                std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                0
            }
            Some(n) => {
                refuse_link(dir)?;
                if let Some(k) = (0..n).find(|&k| !part(dir, k).is_file()) {
                    bail!("cannot resume: {} is missing; run without --resume", part(dir, k).display());
                }
                n
            }
        };
        Ok(Box::new(Self { paths: paths.clone(), schema: schema(problem, kept), problem, windows }))
    }

    fn batch(&self, rows: &[Prediction]) -> Result<RecordBatch> {
        let floats = |pick: &dyn Fn(&Prediction) -> &[f32]| {
            let mut b = ListBuilder::new(Float32Builder::new());
            for p in rows {
                b.values().append_slice(pick(p));
                b.append(true);
            }
            Arc::new(b.finish()) as ArrayRef
        };
        let mut columns: Vec<ArrayRef> = Vec::new();
        for k in 0..self.schema.fields().len() - super::scores::fields(self.problem).len() {
            let texts: StringArray = rows.iter().map(|p| kept_text(&p.kept[k])).collect();
            columns.push(Arc::new(texts));
        }
        match self.problem {
            ProblemType::SingleLabelClassification => {
                let (mut label, mut score) = (StringBuilder::new(), Float32Builder::new());
                for p in rows {
                    if let Scored::Single { label: l, score: s, .. } = &p.scored {
                        label.append_value(l);
                        score.append_value(*s);
                    }
                }
                columns.push(Arc::new(label.finish()));
                columns.push(Arc::new(score.finish()));
                columns.push(floats(&|p| &p.logits));
                columns.push(floats(&probs_of));
            }
            ProblemType::MultiLabelClassification => {
                let mut labels = ListBuilder::new(StringBuilder::new());
                for p in rows {
                    if let Scored::Multi { labels: l, .. } = &p.scored {
                        l.iter().for_each(|l| labels.values().append_value(l));
                    }
                    labels.append(true);
                }
                columns.push(Arc::new(labels.finish()));
                columns.push(floats(&|p| &p.logits));
                columns.push(floats(&probs_of));
            }
            ProblemType::Regression => {
                let mut value = Float32Builder::new();
                for p in rows {
                    value.append_value(if let Scored::Value(v) = p.scored { v } else { f32::NAN });
                }
                columns.push(Arc::new(value.finish()));
                columns.push(floats(&|p| &p.logits));
            }
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

impl Sink for Parquet {
    fn write_window(&mut self, index: u64, rows: &[Prediction]) -> Result<()> {
        let path = part(&self.paths.parts, index);
        let batch = self.batch(rows)?;
        let mut w = ArrowWriter::try_new(bertrs_fs::AtomicFile::create(&path)?, self.schema.clone(), Some(properties()))?;
        w.write(&batch)?;
        w.into_inner()?.commit()?;
        self.windows = index + 1;
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<u64> {
        // Each part was synced and renamed into place as it was written.
        Ok(self.windows)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let out = bertrs_fs::AtomicFile::create(&self.paths.output)?;
        let mut w = ArrowWriter::try_new(out, self.schema.clone(), Some(properties()))?;
        for k in 0..self.windows {
            let path = part(&self.paths.parts, k);
            let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
                w.write(&batch.with_context(|| format!("reading {}", path.display()))?)?;
            }
            // One row group a window.
            w.flush()?;
        }
        w.into_inner()?.commit()?;
        std::fs::remove_dir_all(&self.paths.parts).with_context(|| format!("cannot remove {}", self.paths.parts.display()))?;
        Ok(())
    }
}

fn probs_of(p: &Prediction) -> &[f32] {
    match &p.scored {
        Scored::Single { probs, .. } | Scored::Multi { probs, .. } => probs,
        Scored::Value(_) => &[],
    }
}

/// Removes what a killed run left at `path` (a link itself, never its target).
fn remove_old(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    }
    .with_context(|| format!("cannot remove the old {}", path.display()))
}

/// A resume continues only work files this program made, not links to elsewhere.
fn refuse_link(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!("cannot resume: {} is a symbolic link, not this program's work file; run without --resume", path.display());
    }
    Ok(())
}

fn part(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:06}.parquet"))
}

/// Snappy, as pandas and the hub write Parquet.
fn properties() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::SNAPPY).build()
}

/// Kept columns, then the prediction's fields (`scores::fields`): strings, f32 and lists.
fn schema(problem: ProblemType, kept: &[String]) -> SchemaRef {
    let list = |name: &str, item: DataType| Field::new_list(name, Field::new_list_field(item, true), false);
    let mut fields: Vec<Field> = kept.iter().map(|k| Field::new(k, DataType::Utf8, true)).collect();
    match problem {
        ProblemType::SingleLabelClassification => fields.extend([
            Field::new("label", DataType::Utf8, false),
            Field::new("score", DataType::Float32, false),
            list("logits", DataType::Float32),
            list("probs", DataType::Float32),
        ]),
        ProblemType::MultiLabelClassification => {
            fields.extend([list("labels", DataType::Utf8), list("logits", DataType::Float32), list("probs", DataType::Float32)])
        }
        ProblemType::Regression => fields.extend([Field::new("value", DataType::Float32, false), list("logits", DataType::Float32)]),
    }
    Arc::new(Schema::new(fields))
}

/// A kept value in a Parquet string column: strings as they are, other JSON values as JSON.
fn kept_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}
