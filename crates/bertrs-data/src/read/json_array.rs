//! JSON-array rows, streamed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::columns::{Columns, Resolved, Row, row_from_json};
use super::{at, read_error};
use crate::{Error, Result};

/// A JSON array of objects, streamed: a scanner that tracks strings and nesting cuts out
/// one top-level element at a time, which serde_json then parses; the scanner's line count
/// gives each element's line for messages.
pub(super) struct JsonArrayRows {
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
    pub(super) fn new(path: &Path, input: Box<dyn Read>, cols: &Columns) -> Self {
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
