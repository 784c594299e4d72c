//! Labels: what a file says (`RawLabel`), what kind of problem that makes (inferred as HF's
//! example scripts do, or given), and the label map built from the training split
//! (`LabelOptions::label_map`; the map itself is bertrs-core's).
//!
//! HF's rules, matched here:
//! - `run_glue.py`/`run_classification.py`: a float label column means regression
//!   (`is_regression = dtype in ["float32", "float64"]`), one output, MSE loss;
//! - `run_classification.py`: a list-valued label column means multi-label (BCE loss);
//! - otherwise single-label classification with `label_list = sorted(set(labels))`.
//!
//! A CSV cell cannot hold a list, so a delimiter (`--label-delimiter ,`) turns
//! `"comedy,drama"` into a label set.

use std::collections::BTreeSet;
use std::fmt;

use bertrs_core::{LabelMap, ProblemType, Target};

/// A label as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RawLabel {
    /// A string or a number, spelled as in the file (`1`, `1.0`, `pos`).
    One(String),
    /// A JSON list: the labels that apply (multi-label).
    Many(Vec<String>),
}

impl fmt::Display for RawLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawLabel::One(s) => f.write_str(s),
            RawLabel::Many(v) => write!(f, "{v:?}"),
        }
    }
}

/// How to read the labels: the problem type (inferred when `None`) and, for multi-label
/// data in CSV/TSV, the delimiter between labels in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelOptions {
    pub problem_type: Option<ProblemType>,
    pub delimiter: Option<String>,
    /// Class names the data declares (a `datasets` `ClassLabel`, see
    /// [`crate::RowReader::class_names`]): a single-label map takes them, in their order,
    /// instead of the sorted distinct labels.
    pub class_names: Option<Vec<String>>,
}

/// Why labels do not make a label map, or one label is not a target of it. The caller
/// names the file and row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelError {
    #[error("label {label} is a list, but the problem type is {problem_type}")]
    ListNotAllowed { label: RawLabel, problem_type: ProblemType },
    #[error("{} distinct label(s) ({names:?}); classification needs 2 or more", .names.len())]
    TooFewClasses { names: Vec<String> },
    #[error("no labels at all: every label set is empty")]
    NoLabels,
    #[error("empty label")]
    Empty,
    #[error("label `{label}` is not among the labels {names:?}")]
    Unknown { label: String, names: Vec<String> },
    #[error("label `{label}` is not a number, but the problem type is regression")]
    NotANumber { label: String },
}

impl LabelOptions {
    /// The map HF's scripts build from the training split's labels (each distinct label once
    /// is enough). Names are sorted, numbers as numbers; declared class names win.
    pub fn label_map<'a>(&self, labels: impl IntoIterator<Item = &'a RawLabel>) -> Result<LabelMap, LabelError> {
        let labels: Vec<&RawLabel> = labels.into_iter().collect();
        let kind = self.problem_type.unwrap_or_else(|| infer_kind(&labels, self));
        let names = match kind {
            ProblemType::Regression => Vec::new(),
            ProblemType::SingleLabelClassification => {
                // A blank label is no class; `target` reports it with its row.
                let set: BTreeSet<&str> = labels
                    .iter()
                    .filter(|l| !matches!(l, RawLabel::One(s) if s.trim().is_empty()))
                    .map(|l| match l {
                        RawLabel::One(s) => Ok(s.as_str()),
                        RawLabel::Many(_) => Err(LabelError::ListNotAllowed { label: (*l).clone(), problem_type: kind }),
                    })
                    .collect::<Result<_, _>>()?;
                match &self.class_names {
                    Some(names) => names.clone(),
                    None => sorted_names(set),
                }
            }
            ProblemType::MultiLabelClassification => {
                let mut set = BTreeSet::new();
                for l in &labels {
                    set.extend(items(l, self.delimiter.as_deref()));
                }
                sorted_names(set)
            }
        };
        if kind == ProblemType::SingleLabelClassification && names.len() < 2 {
            return Err(LabelError::TooFewClasses { names });
        }
        if kind == ProblemType::MultiLabelClassification && names.is_empty() {
            return Err(LabelError::NoLabels);
        }
        Ok(LabelMap::new(kind, names))
    }

    /// The target of one example under `map` (the caller names the row). A number is also
    /// taken as an id when the names are HF's defaults (`LABEL_3`).
    pub fn target(&self, map: &LabelMap, raw: &RawLabel) -> Result<Target, LabelError> {
        let names = &map.names;
        let id = |s: &str| {
            let by_id = s.parse::<usize>().ok().filter(|&i| names.get(i).is_some_and(|n| *n == format!("LABEL_{i}")));
            names.iter().position(|n| n == s).or(by_id).ok_or_else(|| LabelError::Unknown { label: s.to_string(), names: names.clone() })
        };
        match (map.problem_type, raw) {
            // An empty cell is "no labels apply" to a multi-label set, an error otherwise.
            (ProblemType::SingleLabelClassification | ProblemType::Regression, RawLabel::One(s)) if s.trim().is_empty() => {
                Err(LabelError::Empty)
            }
            (ProblemType::SingleLabelClassification, RawLabel::One(s)) => id(s).map(Target::Class),
            (ProblemType::MultiLabelClassification, raw) => {
                let mut ids = items(raw, self.delimiter.as_deref()).into_iter().map(id).collect::<Result<Vec<_>, _>>()?;
                ids.sort_unstable();
                ids.dedup();
                Ok(Target::Labels(ids))
            }
            (ProblemType::Regression, RawLabel::One(s)) => match s.trim().parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(Target::Value(v)),
                _ => Err(LabelError::NotANumber { label: s.clone() }),
            },
            (problem_type, raw) => Err(LabelError::ListNotAllowed { label: raw.clone(), problem_type }),
        }
    }
}

/// HF's inference: lists (or a delimiter) → multi-label; all numbers with a float among
/// them → regression (what makes `datasets` type the column float); else single-label.
fn infer_kind(labels: &[&RawLabel], opts: &LabelOptions) -> ProblemType {
    if opts.delimiter.is_some() || labels.iter().any(|l| matches!(l, RawLabel::Many(_))) {
        return ProblemType::MultiLabelClassification;
    }
    // Blank labels are errors reported later with their rows; they decide nothing here.
    let labels: Vec<&&RawLabel> = labels.iter().filter(|l| !matches!(l, RawLabel::One(s) if s.trim().is_empty())).collect();
    let numbers = labels.iter().all(|l| matches!(l, RawLabel::One(s) if s.trim().parse::<f64>().is_ok()));
    let a_float = labels.iter().any(|l| matches!(l, RawLabel::One(s) if s.trim().parse::<i64>().is_err()));
    if numbers && a_float && !labels.is_empty() {
        ProblemType::Regression
    } else {
        ProblemType::SingleLabelClassification
    }
}

/// The labels of a multi-label target: a list's items, or a cell split at the delimiter.
fn items<'a>(raw: &'a RawLabel, delimiter: Option<&str>) -> Vec<&'a str> {
    match (raw, delimiter) {
        (RawLabel::Many(v), _) => v.iter().map(String::as_str).collect(),
        (RawLabel::One(s), Some(d)) => s.split(d).map(str::trim).filter(|s| !s.is_empty()).collect(),
        (RawLabel::One(s), None) if s.trim().is_empty() => Vec::new(),
        (RawLabel::One(s), None) => vec![s.trim()],
    }
}

/// run_glue's `sorted(set(labels))`: integer labels sort as numbers, others as strings.
fn sorted_names(set: BTreeSet<&str>) -> Vec<String> {
    let mut names: Vec<String> = set.into_iter().map(String::from).collect();
    if names.iter().all(|n| n.parse::<i64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> RawLabel {
        RawLabel::One(s.into())
    }

    fn infer(labels: &[RawLabel], opts: &LabelOptions) -> Result<LabelMap, String> {
        opts.label_map(labels).map_err(|e| e.to_string())
    }

    fn target(m: &LabelMap, raw: &RawLabel, opts: &LabelOptions) -> Result<Target, String> {
        opts.target(m, raw).map_err(|e| e.to_string())
    }

    #[test]
    fn problem_type_is_inferred_as_hf_does() {
        let d = LabelOptions::default();
        let m = infer(&[one("pos"), one("neg"), one("pos")], &d).unwrap();
        assert_eq!((m.problem_type, m.names.clone()), (ProblemType::SingleLabelClassification, vec!["neg".to_string(), "pos".into()]));
        // Integers are classes, sorted as numbers.
        let m = infer(&[one("10"), one("2"), one("1")], &d).unwrap();
        assert_eq!(m.names, ["1", "2", "10"]);
        // One float among numbers makes the column float: regression, one output.
        let m = infer(&[one("1"), one("2.5"), one("0")], &d).unwrap();
        assert_eq!((m.problem_type, m.num_labels()), (ProblemType::Regression, 1));
        assert_eq!(target(&m, &one("2.5"), &d), Ok(Target::Value(2.5)));
        // A list is multi-label; names are the union, sorted.
        let lists = [RawLabel::Many(vec!["b".into(), "a".into()]), RawLabel::Many(vec![]), RawLabel::Many(vec!["c".into()])];
        let m = infer(&lists, &d).unwrap();
        assert_eq!((m.problem_type, m.names.clone()), (ProblemType::MultiLabelClassification, vec!["a".to_string(), "b".into(), "c".into()]));
        assert_eq!(target(&m, &lists[0], &d), Ok(Target::Labels(vec![0, 1])));
        assert_eq!(target(&m, &lists[1], &d), Ok(Target::Labels(vec![])));
    }

    #[test]
    fn delimiters_and_overrides() {
        let opts = LabelOptions { delimiter: Some(";".into()), ..LabelOptions::default() };
        let m = infer(&[one("x; y"), one("y"), one("")], &opts).unwrap();
        assert_eq!((m.problem_type, m.names.clone()), (ProblemType::MultiLabelClassification, vec!["x".to_string(), "y".into()]));
        assert_eq!(target(&m, &one("y;x;y"), &opts), Ok(Target::Labels(vec![0, 1])));
        // Integer labels read as regression targets when asked.
        let reg = LabelOptions { problem_type: Some(ProblemType::Regression), ..LabelOptions::default() };
        let m = infer(&[one("1"), one("3")], &reg).unwrap();
        assert_eq!(target(&m, &one("3"), &reg), Ok(Target::Value(3.0)));
        let e = target(&m, &one("three"), &reg).unwrap_err();
        assert!(e.contains("`three` is not a number"), "{e}");
        // Floats as classes when asked.
        let single = LabelOptions { problem_type: Some(ProblemType::SingleLabelClassification), ..LabelOptions::default() };
        let m = infer(&[one("0.5"), one("1.5")], &single).unwrap();
        assert_eq!(target(&m, &one("1.5"), &single), Ok(Target::Class(1)));
    }

    #[test]
    fn bad_labels_are_errors() {
        let d = LabelOptions::default();
        let e = infer(&[one("pos"), one("pos")], &d).unwrap_err();
        assert!(e.contains("1 distinct label"), "{e}");
        let m = infer(&[one("pos"), one("neg")], &d).unwrap();
        let e = target(&m, &one("meh"), &d).unwrap_err();
        assert!(e.contains("`meh` is not among the labels"), "{e}");
        let e = target(&m, &RawLabel::Many(vec!["pos".into()]), &d).unwrap_err();
        assert!(e.contains("is a list"), "{e}");
        // HF default names accept ids.
        let m = LabelMap::new(ProblemType::SingleLabelClassification, vec!["LABEL_0".into(), "LABEL_1".into()]);
        assert_eq!(target(&m, &one("1"), &d), Ok(Target::Class(1)));
    }
}
