//! Row readers. Column choice follows `run_glue.py`: `sentence1`/`sentence2` if present,
//! else `text`/`text_pair`, else the first one or two non-label columns; explicit names win.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::{Error, RawLabel, Result};

/// File formats, chosen from the extension (after a `.gz` or `.bz2` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    /// A JSON array of objects (what `datasets`' `to_json(lines=False)` writes).
    Json,
}

/// Compression, from the last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Self> {
        Ok(Self::and_compression(path)?.0)
    }

    /// The format and the compression of `path`, e.g. `train.csv.gz` → (Csv, Gzip).
    pub fn and_compression(path: &Path) -> Result<(Self, Compression)> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        let (name, compression) = if let Some(n) = name.strip_suffix(".gz") {
            (n, Compression::Gzip)
        } else if let Some(n) = name.strip_suffix(".bz2") {
            (n, Compression::Bzip2)
        } else {
            (name.as_str(), Compression::None)
        };
        let format = if name.ends_with(".csv") {
            Format::Csv
        } else if name.ends_with(".tsv") || name.ends_with(".tab") {
            Format::Tsv
        } else if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            Format::Jsonl
        } else if name.ends_with(".json") {
            Format::Json
        } else {
            return Err(Error::File {
                path: path.to_path_buf(),
                message: "unknown format: expected a .csv, .tsv, .jsonl or .json file (optionally .gz or .bz2)".into(),
            });
        };
        Ok((format, compression))
    }
}

/// Which columns hold the texts and the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub text: Option<String>,
    pub text_pair: Option<String>,
    pub label: String,
    /// Whether a missing label column is an error (training) or fine (prediction).
    pub require_label: bool,
    /// A column to keep with each row (e.g. a movie id for a group-aware split).
    pub group: Option<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            text: None,
            text_pair: None,
            label: "label".into(),
            require_label: false,
            group: None,
        }
    }
}

/// One example. `line` is where it starts in the file (1-based; the header is line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub text: String,
    pub text_pair: Option<String>,
    /// The label as written: a string (numbers keep their JSON spelling) or, in JSON files,
    /// a list of them (multi-label).
    pub label: Option<RawLabel>,
    /// The `Columns::group` column's value.
    pub group: Option<String>,
}

/// The resolved column names for one file.
#[derive(Debug)]
struct Resolved {
    text: String,
    pair: Option<String>,
    label: Option<String>,
    group: Option<String>,
}

fn resolve(path: &Path, names: &[String], cols: &Columns) -> Result<Resolved> {
    let has = |n: &str| names.iter().any(|c| c == n);
    let missing = |what: &str, n: &str| Error::File {
        path: path.to_path_buf(),
        message: format!("no `{n}` {what} column (columns: {})", names.join(", ")),
    };
    if let Some(g) = &cols.group
        && !has(g)
    {
        return Err(missing("group", g));
    }
    let label = if has(&cols.label) {
        Some(cols.label.clone())
    } else if cols.require_label {
        return Err(missing("label", &cols.label));
    } else {
        None
    };
    let (text, pair) = match (&cols.text, &cols.text_pair) {
        (Some(t), p) => {
            if !has(t) {
                return Err(missing("text", t));
            }
            if let Some(p) = p
                && !has(p)
            {
                return Err(missing("text-pair", p));
            }
            (t.clone(), p.clone())
        }
        (None, _) if has("sentence1") => ("sentence1".into(), has("sentence2").then(|| "sentence2".into())),
        (None, _) if has("text") => ("text".into(), has("text_pair").then(|| "text_pair".into())),
        (None, _) => {
            let rest: Vec<&String> = names.iter().filter(|n| Some(*n) != label.as_ref() && Some(*n) != cols.group.as_ref()).collect();
            match rest.as_slice() {
                [] => return Err(missing("text", "text")),
                [t] => ((*t).clone(), None),
                [t, p, ..] => ((*t).clone(), Some((*p).clone())),
            }
        }
    };
    Ok(Resolved { text, pair, label, group: cols.group.clone() })
}

/// Rows of one file, read as they are needed: a file of any size streams through in
/// constant memory (the `Row`s are the caller's to keep or drop).
pub struct RowReader {
    rows: Box<dyn Iterator<Item = Result<Row>>>,
    path: PathBuf,
}

impl std::fmt::Debug for RowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader").field("path", &self.path).finish_non_exhaustive()
    }
}

impl RowReader {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for RowReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.rows.next()
    }
}

/// Opens a CSV, TSV, JSONL or JSON-array file (decompressing `.gz`/`.bz2`) for reading row
/// by row. A CSV/TSV header is read here, so a missing column is an error already.
pub fn open_rows(path: impl AsRef<Path>, cols: &Columns) -> Result<RowReader> {
    let path = path.as_ref().to_path_buf();
    let (format, compression) = Format::and_compression(&path)?;
    let file = std::fs::File::open(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    rows_from_reader(&path, Box::new(file), format, compression, cols)
}

/// Rows from any byte stream in a known format (`path` names it in messages): what
/// [`open_rows`] does once it has opened the file.
pub fn rows_from_reader(path: &Path, file: Box<dyn Read>, format: Format, compression: Compression, cols: &Columns) -> Result<RowReader> {
    let path = path.to_path_buf();
    let input: Box<dyn Read> = match compression {
        Compression::None => file,
        // Multi-member streams (concatenated .gz/.bz2 files) are read to the end.
        Compression::Gzip => Box::new(Decompressed::new("gzip", flate2::read::MultiGzDecoder::new(BufReader::new(file)))),
        Compression::Bzip2 => Box::new(Decompressed::new("bzip2", bzip2::read::MultiBzDecoder::new(BufReader::new(file)))),
    };
    let rows: Box<dyn Iterator<Item = Result<Row>>> = match format {
        Format::Csv => Box::new(CsvRows::open(&path, input, b',', cols)?),
        Format::Tsv => Box::new(CsvRows::open(&path, input, b'\t', cols)?),
        Format::Jsonl => Box::new(JsonlRows::new(&path, input, cols)),
        Format::Json => Box::new(JsonArrayRows::new(&path, input, cols)),
    };
    Ok(RowReader { rows, path })
}

/// Reads every row of a CSV, TSV, JSONL or JSON-array file, decompressing `.gz`/`.bz2`.
pub fn read_rows(path: impl AsRef<Path>, cols: &Columns) -> Result<Vec<Row>> {
    open_rows(path, cols)?.collect()
}

fn at(path: &Path, line: u64, message: impl Into<String>) -> Error {
    Error::At {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// A read error, at the line a corrupt compressed stream reached when it is one.
fn read_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| match source.get_ref().and_then(|e| e.downcast_ref::<CorruptStream>()) {
        Some(c) => at(path, c.line, c.to_string()),
        None => Error::Read { path: path.to_path_buf(), source },
    }
}

/// A decompressor that counts what it has produced, so a corrupt or cut-off stream is
/// reported at the line and byte it reached (the readers above see only an I/O error).
struct Decompressed<R> {
    kind: &'static str,
    inner: R,
    bytes: u64,
    lines: u64,
}

impl<R> Decompressed<R> {
    fn new(kind: &'static str, inner: R) -> Self {
        Self { kind, inner, bytes: 0, lines: 0 }
    }
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                CorruptStream { kind: self.kind, line: self.lines + 1, bytes: self.bytes, message: e.to_string() },
            )),
        }
    }
}

/// Where a compressed stream broke.
#[derive(Debug)]
struct CorruptStream {
    kind: &'static str,
    line: u64,
    bytes: u64,
    message: String,
}

impl std::fmt::Display for CorruptStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt {} data after {} decompressed bytes: {}", self.kind, self.bytes, self.message)
    }
}

impl std::error::Error for CorruptStream {}

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
struct CsvRows {
    path: PathBuf,
    records: csv::StringRecordsIntoIter<QuoteCheck<Box<dyn Read>>>,
    /// Text, pair, label and group column indices.
    idx: [Option<usize>; 4],
}

impl CsvRows {
    fn open(path: &Path, input: Box<dyn Read>, delim: u8, cols: &Columns) -> Result<Self> {
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
        Ok(Self { path: path.to_path_buf(), records: rdr.into_records(), idx })
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
        }))
    }
}

/// JSON Lines: one object per line; blank lines are skipped.
struct JsonlRows {
    path: PathBuf,
    reader: BufReader<Box<dyn Read>>,
    cols: Columns,
    resolved: Option<Resolved>,
    line: u64,
    buf: Vec<u8>,
}

impl JsonlRows {
    fn new(path: &Path, input: Box<dyn Read>, cols: &Columns) -> Self {
        Self { path: path.to_path_buf(), reader: BufReader::new(input), cols: cols.clone(), resolved: None, line: 0, buf: Vec::new() }
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf).map_err(read_error(&self.path))? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let (path, line) = (&self.path, self.line);
            let text = std::str::from_utf8(&self.buf).map_err(|_| at(path, line, "invalid UTF-8"))?;
            if text.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| at(path, line, format!("invalid JSON: {e}")))?;
            return row_from_json(path, line, &value, &self.cols, &mut self.resolved).map(Some);
        }
    }
}

impl Iterator for JsonlRows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.next_row().transpose()
    }
}

/// One JSON object as a row. Columns are resolved on the first row. A pair column may be
/// absent from some rows (`text_pair` is optional per row), so the conventional partner of
/// the text column is looked for on every row.
fn row_from_json(path: &Path, line: u64, value: &serde_json::Value, cols: &Columns, resolved: &mut Option<Resolved>) -> Result<Row> {
    use serde_json::Value;
    let obj = value.as_object().ok_or_else(|| at(path, line, "expected a JSON object"))?;
    let r = match resolved {
        Some(r) => r,
        None => {
            let names: Vec<String> = obj.keys().cloned().collect();
            let mut r = resolve(path, &names, cols).map_err(|e| match e {
                Error::File { message, .. } => at(path, line, message),
                e => e,
            })?;
            if r.pair.is_none() {
                r.pair = match r.text.as_str() {
                    "text" => Some("text_pair".into()),
                    "sentence1" => Some("sentence2".into()),
                    _ => None,
                };
            }
            resolved.insert(r)
        }
    };
    // Strings as they are; numbers and booleans keep their JSON spelling (`1.0` stays a
    // float, which is how a regression target is recognised).
    let spell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let field = |name: Option<&String>| match name.and_then(|n| obj.get(n)) {
        None | Some(Value::Null) => None,
        Some(v) => Some(spell(v)),
    };
    let text = field(Some(&r.text)).ok_or_else(|| at(path, line, format!("no `{}` field", r.text)))?;
    // A list is a multi-label target (HF run_classification: a `Sequence` label feature).
    let label = match r.label.as_ref().and_then(|n| obj.get(n)) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(RawLabel::Many(items.iter().map(spell).collect())),
        Some(v) => Some(RawLabel::One(spell(v))),
    };
    // A row without a group cannot be placed on either side of a group split; dropping it
    // would shift every later row's group.
    let group = match &r.group {
        Some(name) => Some(field(Some(name)).ok_or_else(|| at(path, line, format!("no `{name}` value (the --group-column)")))?),
        None => None,
    };
    Ok(Row {
        line,
        text,
        text_pair: field(r.pair.as_ref()),
        label,
        group,
    })
}

/// A JSON array of objects, streamed: a scanner that tracks strings and nesting cuts out
/// one top-level element at a time, which serde_json then parses; the scanner's line count
/// gives each element's line for messages.
struct JsonArrayRows {
    path: PathBuf,
    reader: BufReader<Box<dyn Read>>,
    cols: Columns,
    resolved: Option<Resolved>,
    line: u64,
    started: bool,
    done: bool,
    element: Vec<u8>,
}

impl JsonArrayRows {
    fn new(path: &Path, input: Box<dyn Read>, cols: &Columns) -> Self {
        Self {
            path: path.to_path_buf(),
            reader: BufReader::new(input),
            cols: cols.clone(),
            resolved: None,
            line: 1,
            started: false,
            done: false,
            element: Vec::new(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        let buf = self.reader.fill_buf().map_err(read_error(&self.path))?;
        Ok(buf.first().copied())
    }

    fn bump(&mut self) -> Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.reader.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn skip_ws(&mut self) -> Result<Option<u8>> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                return Ok(Some(b));
            }
            self.bump()?;
        }
        Ok(None)
    }

    /// Copies one JSON value's bytes into `self.element`: a string, an object/array up to
    /// its matching bracket, or a scalar up to the next `,`/`]`/whitespace.
    fn take_value(&mut self) -> Result<()> {
        self.element.clear();
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        while let Some(b) = self.peek()? {
            if !in_str && depth == 0 && !self.element.is_empty() && matches!(b, b',' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.bump()?;
            self.element.push(b);
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if !in_str && depth == 0 && matches!(b, b'}' | b']' | b'"') {
                break;
            }
        }
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            self.started = true;
            match self.skip_ws()? {
                None => {
                    self.done = true;
                    return Err(Error::File { path: self.path.clone(), message: "empty file: expected a JSON array".into() });
                }
                Some(b'[') => {
                    self.bump()?;
                    if self.skip_ws()? == Some(b']') {
                        self.bump()?;
                        return self.finish();
                    }
                }
                Some(_) => {
                    self.done = true;
                    return Err(at(&self.path, self.line, "expected a JSON array of objects"));
                }
            }
        }
        self.skip_ws()?;
        let line = self.line;
        self.take_value()?;
        let text = std::str::from_utf8(&self.element).map_err(|e| {
            let extra = self.element[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
            at(&self.path, line + extra, "invalid UTF-8")
        })?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| at(&self.path, line + e.line().saturating_sub(1) as u64, format!("invalid JSON: {e}")))?;
        let row = row_from_json(&self.path, line, &value, &self.cols, &mut self.resolved)?;
        match self.skip_ws()? {
            Some(b',') => {
                self.bump()?;
            }
            Some(b']') => {
                self.bump()?;
                self.finish()?;
            }
            _ => return Err(at(&self.path, self.line, "invalid JSON: expected `,` or `]` after an array element")),
        }
        Ok(Some(row))
    }

    /// After the closing `]` only whitespace may follow.
    fn finish(&mut self) -> Result<Option<Row>> {
        self.done = true;
        match self.skip_ws()? {
            None => Ok(None),
            Some(_) => Err(at(&self.path, self.line, "invalid JSON: trailing characters after the array")),
        }
    }
}

impl Iterator for JsonArrayRows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let r = self.next_row();
        if r.is_err() {
            self.done = true;
        }
        r.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, body: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        (d, p)
    }

    #[test]
    fn csv_with_text_and_pair() {
        let (_d, p) = write("a.csv", b"label,text,text_pair\npos,\"good, really\",yes\nneg,bad,\n");
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "good, really");
        assert_eq!(rows[0].text_pair.as_deref(), Some("yes"));
        assert_eq!(rows[0].label, Some(RawLabel::One("pos".into())));
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn glue_column_rules() {
        let (_d, p) = write("a.tsv", b"sentence1\tsentence2\tlabel\na\tb\t1\n");
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!((rows[0].text.as_str(), rows[0].text_pair.as_deref()), ("a", Some("b")));
        // Neither sentence1 nor text: the first two non-label columns.
        let (_d, p) = write("b.csv", b"label,review,extra\n0,fine,more\n");
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!((rows[0].text.as_str(), rows[0].text_pair.as_deref()), ("fine", Some("more")));
        // Explicit names win.
        let cols = Columns { text: Some("extra".into()), ..Columns::default() };
        assert_eq!(read_rows(&p, &cols).unwrap()[0].text, "more");
    }

    #[test]
    fn jsonl_rows_and_errors() {
        let (_d, p) = write("a.jsonl", b"{\"text\": \"hi\", \"label\": 1}\n\n{\"text\": \"yo\", \"label\": 0}\n");
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].label, Some(RawLabel::One("0".into())));
        let (_d, p) = write("b.jsonl", b"{\"text\": \"hi\"}\n{\"txt\": \"oops\"}\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("b.jsonl:2") && e.contains("`text`"), "{e}");
        let (_d, p) = write("c.jsonl", b"{\"text\": \"hi\"}\n{\"text\": \"\xff\"}\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("c.jsonl:2") && e.contains("UTF-8"), "{e}");
        let (_d, p) = write("d.jsonl", b"{\"text\": \"hi\"\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("d.jsonl:1") && e.contains("invalid JSON"), "{e}");
    }

    #[test]
    fn json_arrays_with_lines() {
        let body = b"[\n  {\"text\": \"a [b], {c}\", \"label\": \"pos\"},\n  {\"text\": \"say \\\"hi\\\"\",\n   \"label\": \"neg\"},\n  {\"txt\": \"x\"}\n]\n";
        let (_d, p) = write("a.json", body);
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("a.json:5") && e.contains("`text`"), "{e}");
        let fixed = String::from_utf8(body.to_vec()).unwrap().replace("{\"txt\": \"x\"}", "{\"text\": \"x\", \"label\": \"pos\"}");
        let (_d, p) = write("b.json", fixed.as_bytes());
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(rows[1].text, "say \"hi\"");
        for (name, body, needle) in [("c.json", &b"{\"text\": 1}"[..], "array of objects"), ("d.json", b"[{\"text\": \"a\"},\n oops]", "d.json:2"), ("e.json", b"  \n", "empty file")] {
            let (_d, p) = write(name, body);
            let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
            assert!(e.contains(needle), "{name}: {e}");
        }
    }

    #[test]
    fn compressed_files_read_like_plain_ones() {
        use std::io::Write;
        let plain = b"text,label\ngood,pos\nbad,neg\n";
        let d = tempfile::tempdir().unwrap();
        let gz = d.path().join("a.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
        enc.write_all(plain).unwrap();
        enc.finish().unwrap();
        let bz = d.path().join("a.csv.bz2");
        let mut enc = bzip2::write::BzEncoder::new(std::fs::File::create(&bz).unwrap(), bzip2::Compression::default());
        enc.write_all(plain).unwrap();
        enc.finish().unwrap();
        let (_p, want) = write("a.csv", plain);
        let want = read_rows(&want, &Columns::default()).unwrap();
        assert_eq!(read_rows(&gz, &Columns::default()).unwrap(), want);
        assert_eq!(read_rows(&bz, &Columns::default()).unwrap(), want);
        // A corrupt archive names the file.
        let bad = d.path().join("b.jsonl.gz");
        std::fs::write(&bad, b"\x1f\x8bnot really gzip").unwrap();
        let e = read_rows(&bad, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("b.jsonl.gz"), "{e}");
        assert_eq!(Format::and_compression(Path::new("x.TSV.BZ2")).unwrap(), (Format::Tsv, Compression::Bzip2));
    }

    #[test]
    fn a_cut_or_corrupt_stream_names_the_line_it_reached() {
        let d = tempfile::tempdir().unwrap();
        let mut body = String::from("text,label\n");
        for i in 0..2000 {
            body.push_str(&format!("row number {i} of a file that will be cut,{}\n", i % 2));
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, body.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        for (name, bytes) in [("cut.csv.gz", gz[..gz.len() / 2].to_vec()), ("cut.jsonl.gz", {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            for i in 0..2000 {
                std::io::Write::write_all(&mut e, format!("{{\"text\": \"row {i}, long enough to span blocks\", \"label\": 1}}\n").as_bytes()).unwrap();
            }
            let full = e.finish().unwrap();
            full[..full.len() / 2].to_vec()
        })] {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
            let line: u64 = e
                .strip_prefix(&format!("{}:", p.display()))
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no line in {e}"));
            assert!(line > 100 && e.contains("corrupt gzip data after"), "{e}");
        }
    }

    #[test]
    fn a_row_without_its_group_is_an_error_naming_it() {
        let (_d, p) = write("g.jsonl", b"{\"text\": \"a\", \"label\": 1, \"movie\": \"m1\"}\n{\"text\": \"b\", \"label\": 0}\n");
        let cols = Columns { group: Some("movie".into()), ..Columns::default() };
        let e = read_rows(&p, &cols).unwrap_err().to_string();
        assert!(e.contains("g.jsonl:2") && e.contains("no `movie` value"), "{e}");
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let (_d, p) = write("a.csv", b"text,label\nok,1\ntoo,many,fields\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("a.csv:3") && e.contains("3 fields"), "{e}");
        let (_d, p) = write("b.csv", b"text,label\nok,1\nbad \xff,0\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("b.csv:3") && e.contains("UTF-8"), "{e}");
        let (_d, p) = write("q.csv", b"text,label\n\"fine, quoted\",1\n\"open,1\nnext,0\n");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("q.csv:3") && e.contains("unbalanced quote"), "{e}");
        let (_d, p) = write("ok.csv", b"text,label\n\"say \"\"hi\"\"\",1\n5\" screen,0\n");
        let rows = read_rows(&p, &Columns::default()).unwrap();
        assert_eq!((rows[0].text.as_str(), rows[1].text.as_str()), ("say \"hi\"", "5\" screen"));
        let (_d, p) = write("c.csv", b"");
        let e = read_rows(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("c.csv") && e.contains("empty"), "{e}");
        let cols = Columns { require_label: true, label: "y".into(), ..Columns::default() };
        let (_d, p) = write("d.csv", b"text,label\nok,1\n");
        let e = read_rows(&p, &cols).unwrap_err().to_string();
        assert!(e.contains("d.csv") && e.contains("`y`"), "{e}");
        let e = read_rows("/no/such.csv", &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("/no/such.csv"), "{e}");
    }
}
