//! CSV and TSV rows (the `csv` crate, as Python's `csv` reads them), with a check for a
//! quote that never closes.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::columns::{Columns, Row, resolve};
use super::at;
use super::compressed::CorruptStream;
use crate::{Error, RawLabel, Result};

/// The line where a quoted field opened and never closed.
#[derive(Debug)]
struct UnclosedQuote(u64);

impl std::fmt::Display for UnclosedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unbalanced quote opened at line {}", self.0)
    }
}

impl std::error::Error for UnclosedQuote {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Outside { at_field_start: bool },
    Inside,
    /// A `"` inside a quoted field: the end of the field, or the first of an escaped `""`.
    InsideAfterQuote,
}

/// The csv crate, like Python's `csv`, reads a quote that is never closed as a field that
/// runs to the end of the file. That silently merges rows, so this reader, which the bytes
/// pass through on their way to the csv parser, fails at the end of such a file with the
/// line where the quote opened.
struct QuoteCheck<R> {
    inner: R,
    delim: u8,
    state: Quote,
    line: u64,
    opened_at: u64,
}

impl<R: Read> QuoteCheck<R> {
    fn new(inner: R, delim: u8) -> Self {
        Self { inner, delim, state: Quote::Outside { at_field_start: true }, line: 1, opened_at: 0 }
    }

    fn feed(&mut self, b: u8) {
        if b == b'\n' {
            self.line += 1;
        }
        let sep = b == self.delim || b == b'\n' || b == b'\r';
        self.state = match self.state {
            Quote::Inside if b == b'"' => Quote::InsideAfterQuote,
            Quote::Inside => Quote::Inside,
            Quote::InsideAfterQuote if b == b'"' => Quote::Inside,
            Quote::InsideAfterQuote => Quote::Outside { at_field_start: sep },
            Quote::Outside { at_field_start: true } if b == b'"' => {
                self.opened_at = self.line;
                Quote::Inside
            }
            Quote::Outside { .. } => Quote::Outside { at_field_start: sep },
        };
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.state == Quote::Inside {
            return Err(std::io::Error::other(UnclosedQuote(self.opened_at)));
        }
        for &b in &buf[..n] {
            self.feed(b);
        }
        Ok(n)
    }
}

/// CSV/TSV rows: the header resolves the columns, then one record at a time.
pub(super) struct CsvRows {
    path: PathBuf,
    records: csv::StringRecordsIntoIter<QuoteCheck<Box<dyn Read>>>,
    /// Text, pair, label and group column indices.
    idx: [Option<usize>; 4],
    /// The kept columns' indices.
    kept: Vec<usize>,
}

impl CsvRows {
    pub(super) fn open(path: &Path, input: Box<dyn Read>, delim: u8, cols: &Columns) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new().delimiter(delim).from_reader(QuoteCheck::new(input, delim));
        let header: Vec<String> = rdr.headers().map_err(|e| csv_error(path, e))?.iter().map(String::from).collect();
        if header.iter().all(|h| h.is_empty()) {
            return Err(Error::File {
                path: path.to_path_buf(),
                message: "empty file: expected a header line".into(),
            });
        }
        let r = resolve(path, &header, cols)?;
        let pos = |n: Option<&str>| n.and_then(|n| header.iter().position(|h| h == n));
        let idx = [pos(Some(&r.text)), pos(r.pair.as_deref()), pos(r.label.as_deref()), pos(r.group.as_deref())];
        // `resolve` checked that every kept column is in the header.
        let kept = cols.keep.iter().filter_map(|k| pos(Some(k))).collect();
        Ok(Self { path: path.to_path_buf(), records: rdr.into_records(), idx, kept })
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header has {expected_len}"),
        csv::ErrorKind::Io(io) => {
            if let Some(UnclosedQuote(line)) = io.get_ref().and_then(|i| i.downcast_ref::<UnclosedQuote>()) {
                return at(path, *line, "unbalanced quote: a quoted field is never closed");
            }
            if let Some(c) = io.get_ref().and_then(|i| i.downcast_ref::<CorruptStream>()) {
                return at(path, c.line, c.to_string());
            }
            io.to_string()
        }
        _ => e.to_string(),
    };
    at(path, line, message)
}

impl Iterator for CsvRows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let rec = match self.records.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(csv_error(&self.path, e))),
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(String::from);
        let [ti, pi, li, gi] = self.idx;
        Some(Ok(Row {
            line,
            text: get(ti).unwrap_or_default(),
            // An empty cell in a pair column means "no pair" for that row.
            text_pair: get(pi).filter(|p| !p.is_empty()),
            label: get(li).map(RawLabel::One),
            group: get(gi),
            kept: self.kept.iter().map(|&i| get(Some(i)).map_or(serde_json::Value::Null, serde_json::Value::String)).collect(),
        }))
    }
}
