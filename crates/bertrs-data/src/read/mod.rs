//! Row readers. Column choice follows `run_glue.py`: `sentence1`/`sentence2` if present,
//! else `text`/`text_pair`, else the first one or two non-label columns; explicit names win.
//!
//! One file a format: `csv.rs` (CSV and TSV), `jsonl.rs`, `json_array.rs`, `parquet.rs` (its page headers checked in `parquet_pages.rs`); the
//! column rules in `columns.rs`, decompression in `compressed.rs`; here the format is picked
//! and the rows come out of one `RowReader`.

mod columns;
mod compressed;
mod csv;
mod json_array;
mod jsonl;
mod parquet;
mod parquet_pages;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use columns::{Columns, Row};
use compressed::{CorruptStream, Decompressed};
use json_array::JsonArrayRows;
use jsonl::JsonlRows;

use crate::{Error, Result};

/// File formats, chosen from the extension (after a `.gz` or `.bz2` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    /// A JSON array of objects (what `datasets`' `to_json(lines=False)` writes).
    Json,
    /// Apache Parquet (what the hub stores for every dataset, and pandas/polars/Spark write).
    Parquet,
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
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Format::Parquet
        } else {
            return Err(Error::File {
                path: path.to_path_buf(),
                message: "unknown format: expected a .csv, .tsv, .jsonl, .json (optionally .gz or .bz2) or .parquet file".into(),
            });
        };
        Ok((format, compression))
    }
}

/// Rows of one file, read as they are needed: a file of any size streams through in
/// constant memory (the `Row`s are the caller's to keep or drop).
pub struct RowReader {
    rows: Box<dyn Iterator<Item = Result<Row>>>,
    path: PathBuf,
    class_names: Option<Vec<String>>,
    num_rows: Option<u64>,
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

    /// The label column's class names when the file declares them (a Parquet file written by
    /// `datasets` with a `ClassLabel` feature): the label map's order, as run_glue takes
    /// `features["label"].names`. Set it as [`crate::LabelOptions::class_names`].
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// How many rows the file holds, when that is known without reading it (Parquet).
    pub fn num_rows(&self) -> Option<u64> {
        self.num_rows
    }

    fn parquet<S: parquet::Source>(path: PathBuf, source: S, cols: &Columns) -> Result<Self> {
        let rows = parquet::ParquetRows::open(&path, source, cols)?;
        let (class_names, num_rows) = (rows.class_names(), Some(rows.num_rows()));
        Ok(Self { rows: Box::new(rows), path, class_names, num_rows })
    }
}

impl Iterator for RowReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.rows.next()
    }
}

/// Opens a CSV, TSV, JSONL, JSON-array (decompressing `.gz`/`.bz2`) or Parquet file for
/// reading row by row. A header or schema is read here, so a missing column is an error
/// already.
pub fn open_rows(path: impl AsRef<Path>, cols: &Columns) -> Result<RowReader> {
    let path = path.as_ref().to_path_buf();
    let (format, compression) = Format::and_compression(&path)?;
    let file = std::fs::File::open(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    if (format, compression) == (Format::Parquet, Compression::None) {
        // Parquet is read by seeking (footer first, then one row group at a time).
        return RowReader::parquet(path, file, cols);
    }
    rows_from_reader(&path, Box::new(file), format, compression, cols)
}

/// The rows of several files of one split, one file after the other (a hub dataset's
/// shards: `0000.parquet`, `0001.parquet`, …). Every file is opened, so its columns are
/// checked, before the first row is read; the reader's path is the first file's.
pub fn open_files(paths: &[PathBuf], cols: &Columns) -> Result<RowReader> {
    let mut readers = paths.iter().map(|p| open_rows(p, cols)).collect::<Result<Vec<_>>>()?;
    if readers.len() == 1 {
        return Ok(readers.remove(0));
    }
    let first = readers.first().ok_or_else(|| Error::File { path: PathBuf::new(), message: "no input files".into() })?;
    let path = first.path.clone();
    let class_names = first.class_names.clone();
    let num_rows = readers.iter().map(|r| r.num_rows).sum();
    Ok(RowReader { rows: Box::new(readers.into_iter().flatten()), path, class_names, num_rows })
}

/// Rows from any byte stream in a known format (`path` names it in messages): what
/// [`open_rows`] does once it has opened the file. Parquet needs to seek, so a Parquet
/// stream is read into memory first.
pub fn rows_from_reader(path: &Path, file: Box<dyn Read>, format: Format, compression: Compression, cols: &Columns) -> Result<RowReader> {
    let path = path.to_path_buf();
    let input: Box<dyn Read> = match compression {
        Compression::None => file,
        // Multi-member streams (concatenated .gz/.bz2 files) are read to the end.
        Compression::Gzip => Box::new(Decompressed::new("gzip", flate2::read::MultiGzDecoder::new(BufReader::new(file)))),
        Compression::Bzip2 => Box::new(Decompressed::new("bzip2", bzip2::read::MultiBzDecoder::new(BufReader::new(file)))),
    };
    let rows: Box<dyn Iterator<Item = Result<Row>>> = match format {
        Format::Csv => Box::new(self::csv::CsvRows::open(&path, input, b',', cols)?),
        Format::Tsv => Box::new(self::csv::CsvRows::open(&path, input, b'\t', cols)?),
        Format::Jsonl => Box::new(JsonlRows::new(&path, input, cols)),
        Format::Json => Box::new(JsonArrayRows::new(&path, input, cols)),
        Format::Parquet => {
            let mut bytes = Vec::new();
            let mut input = input;
            input.read_to_end(&mut bytes).map_err(read_error(&path))?;
            return RowReader::parquet(path, bytes::Bytes::from(bytes), cols);
        }
    };
    Ok(RowReader { rows, path, class_names: None, num_rows: None })
}

/// Reads every row of a CSV, TSV, JSONL or JSON-array file, decompressing `.gz`/`.bz2`.
pub fn read_rows(path: impl AsRef<Path>, cols: &Columns) -> Result<Vec<Row>> {
    open_rows(path, cols)?.collect()
}

pub(super) fn at(path: &Path, line: u64, message: impl Into<String>) -> Error {
    Error::At {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// A read error, at the line a corrupt compressed stream reached when it is one.
pub(super) fn read_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| match source.get_ref().and_then(|e| e.downcast_ref::<CorruptStream>()) {
        Some(c) => at(path, c.line, c.to_string()),
        None => Error::Read { path: path.to_path_buf(), source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawLabel;

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
