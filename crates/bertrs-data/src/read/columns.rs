//! The column rules (`run_glue.py`'s): which columns hold the texts, the label and the
//! group, resolved once per file, and a JSON object read as a row by them.

use std::path::Path;

use super::at;
use crate::{Error, RawLabel, Result};

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
    /// Columns carried through to each row's `kept` values (`predict --keep-columns`).
    pub keep: Vec<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            text: None,
            text_pair: None,
            label: "label".into(),
            require_label: false,
            group: None,
            keep: Vec::new(),
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
    /// The `Columns::keep` columns' values, in that order: JSON values as the file holds
    /// them (strings from CSV/TSV), `null` where a row has none.
    pub kept: Vec<serde_json::Value>,
}

/// The resolved column names for one file.
#[derive(Debug)]
pub(super) struct Resolved {
    pub(super) text: String,
    pub(super) pair: Option<String>,
    pub(super) label: Option<String>,
    pub(super) group: Option<String>,
}

pub(super) fn resolve(path: &Path, names: &[String], cols: &Columns) -> Result<Resolved> {
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
    if let Some(k) = cols.keep.iter().find(|k| !has(k)) {
        return Err(missing("kept", k));
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

/// One JSON object as a row. Columns are resolved on the first row. A pair column may be
/// absent from some rows (`text_pair` is optional per row), so the conventional partner of
/// the text column is looked for on every row.
pub(super) fn row_from_json(path: &Path, line: u64, value: &serde_json::Value, cols: &Columns, resolved: &mut Option<Resolved>) -> Result<Row> {
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
        kept: cols.keep.iter().map(|k| obj.get(k).cloned().unwrap_or(Value::Null)).collect(),
    })
}
