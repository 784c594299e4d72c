//! JSON Lines rows.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::columns::{Columns, Resolved, Row, row_from_json};
use super::{at, read_error};
use crate::Result;

/// JSON Lines: one object per line; blank lines are skipped.
pub(super) struct JsonlRows {
    path: PathBuf,
    reader: BufReader<Box<dyn Read>>,
    cols: Columns,
    resolved: Option<Resolved>,
    line: u64,
    buf: Vec<u8>,
}

impl JsonlRows {
    pub(super) fn new(path: &Path, input: Box<dyn Read>, cols: &Columns) -> Self {
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
