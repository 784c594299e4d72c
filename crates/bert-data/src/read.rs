//! Row readers. Column choice follows `run_glue.py`: `sentence1`/`sentence2` if present,
//! else `text`/`text_pair`, else the first one or two non-label columns; explicit names win.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

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
    /// The label as written (a string; numbers keep their JSON spelling).
    pub label: Option<String>,
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

/// Reads every row of a CSV, TSV, JSONL or JSON-array file, decompressing `.gz`/`.bz2`.
pub fn read_rows(path: impl AsRef<Path>, cols: &Columns) -> Result<Vec<Row>> {
    let path = path.as_ref();
    let (format, compression) = Format::and_compression(path)?;
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let input: Box<dyn Read> = match compression {
        Compression::None => Box::new(file),
        // Multi-member streams (concatenated .gz/.bz2 files) are read to the end.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(file))),
    };
    match format {
        Format::Csv => read_delimited(path, check_quotes(path, input, b',')?, b',', cols),
        Format::Tsv => read_delimited(path, check_quotes(path, input, b'\t')?, b'\t', cols),
        Format::Jsonl => read_jsonl(path, input, cols),
        Format::Json => read_json_array(path, input, cols),
    }
}

fn at(path: &Path, line: u64, message: impl Into<String>) -> Error {
    Error::At {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// The csv crate, like Python's `csv`, reads a quote that is never closed as a field that
/// runs to the end of the file. That silently merges rows, so it is an error here, naming
/// the line where the quote opened.
fn check_quotes(path: &Path, mut input: impl Read, delim: u8) -> Result<std::io::Cursor<Vec<u8>>> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (mut line, mut in_quotes, mut at_field_start, mut opened_at) = (1u64, false, true, 0u64);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
        }
        if in_quotes {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1; // an escaped quote
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b'"' && at_field_start {
            in_quotes = true;
            opened_at = line;
        }
        at_field_start = !in_quotes && (b == delim || b == b'\n' || (b == b'\r'));
        i += 1;
    }
    if in_quotes {
        return Err(at(path, opened_at, "unbalanced quote: a quoted field is never closed"));
    }
    Ok(std::io::Cursor::new(bytes))
}

fn read_delimited(path: &Path, input: impl Read, delim: u8, cols: &Columns) -> Result<Vec<Row>> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delim).from_reader(input);
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        let message = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields, but the header has {expected_len}"),
            _ => e.to_string(),
        };
        at(path, line, message)
    };
    let header: Vec<String> = rdr.headers().map_err(csv_err)?.iter().map(String::from).collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: "empty file: expected a header line".into(),
        });
    }
    let r = resolve(path, &header, cols)?;
    let idx = |n: &str| header.iter().position(|h| h == n);
    let (ti, pi, li) = (idx(&r.text), r.pair.as_deref().and_then(idx), r.label.as_deref().and_then(idx));
    let gi = r.group.as_deref().and_then(idx);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(String::from);
        rows.push(Row {
            line,
            text: get(ti).unwrap_or_default(),
            // An empty cell in a pair column means "no pair" for that row.
            text_pair: get(pi).filter(|p| !p.is_empty()),
            label: get(li),
            group: get(gi),
        });
    }
    Ok(rows)
}

fn read_jsonl(path: &Path, input: impl Read, cols: &Columns) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut reader = BufReader::new(input);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut resolved: Option<Resolved> = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|source| Error::Read {
            path: PathBuf::from(path),
            source,
        })?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = std::str::from_utf8(&buf).map_err(|_| at(path, line, "invalid UTF-8"))?;
        if text.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| at(path, line, format!("invalid JSON: {e}")))?;
        rows.push(row_from_json(path, line, &value, cols, &mut resolved)?);
    }
    Ok(rows)
}

/// One JSON object as a row. Columns are resolved on the first row. A pair column may be
/// absent from some rows (`text_pair` is optional per row), so the conventional partner of
/// the text column is looked for on every row.
fn row_from_json(path: &Path, line: u64, value: &serde_json::Value, cols: &Columns, resolved: &mut Option<Resolved>) -> Result<Row> {
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
    // Strings as they are; numbers, booleans and lists keep their JSON spelling.
    let field = |name: Option<&String>| match name.and_then(|n| obj.get(n)) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
    };
    let text = field(Some(&r.text)).ok_or_else(|| at(path, line, format!("no `{}` field", r.text)))?;
    Ok(Row {
        line,
        text,
        text_pair: field(r.pair.as_ref()),
        label: field(r.label.as_ref()),
        group: field(r.group.as_ref()),
    })
}

/// A JSON array of objects. serde_json parses it whole; the line of each element (for
/// messages) comes from a scan of the bytes that tracks strings and nesting.
fn read_json_array(path: &Path, mut input: impl Read, cols: &Columns) -> Result<Vec<Row>> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
        at(path, line, "invalid UTF-8")
    })?;
    if text.trim().is_empty() {
        return Err(Error::File { path: path.to_path_buf(), message: "empty file: expected a JSON array".into() });
    }
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        let message = if e.is_data() { "expected a JSON array of objects".to_string() } else { format!("invalid JSON: {e}") };
        at(path, e.line() as u64, message)
    })?;
    let lines = element_lines(text);
    let mut resolved = None;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| row_from_json(path, lines.get(i).copied().unwrap_or(0), v, cols, &mut resolved))
        .collect()
}

/// The 1-based line where each top-level element of a JSON array starts.
fn element_lines(text: &str) -> Vec<u64> {
    let (mut lines, mut line, mut depth, mut in_str, mut escaped, mut expect) = (Vec::new(), 1u64, 0usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expect && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expect = false;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    lines
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
        assert_eq!(rows[0].label.as_deref(), Some("pos"));
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
        assert_eq!(rows[1].label.as_deref(), Some("0"));
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
